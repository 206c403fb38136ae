/* One server through the C ABI, exercised with the real NATS C client (Debian's libnats-dev): publish/subscribe,
 * restart keeping the port and the JetStream data, stop/start, kill, pause/resume, lame duck, auth URLs,
 * monitoring, and sharing one handle between threads. */
#define _DEFAULT_SOURCE /* POSIX and BSD functions (usleep, mkstemp, strdup) under -std=c11 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include <nats/nats.h>

#include "check.h"

/* Connects without reconnecting, so a stopped server does not leave the client retrying in the background. */
static natsStatus connect_to(natsConnection **nc, const char *url) {
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK) s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    return s;
}

static void test_abi_and_version(void) {
    CHECK(nats_server_abi_version() == NATS_SERVER_ABI_VERSION);
    CHECK(nats_server_abi_version() == 2);
    const char *version = nats_server_library_version();
    REQUIRE(version != NULL);
    CHECK(strlen(version) >= 5 && strchr(version, '.') != NULL);
    CHECK(strcmp(nats_server_status_name(NATS_SERVER_OK), "NATS_SERVER_OK") == 0);
    CHECK(strcmp(nats_server_status_name(NATS_SERVER_NOT_RUNNING), "NATS_SERVER_NOT_RUNNING") == 0);
    CHECK(strcmp(nats_server_status_name(7), "NATS_SERVER_NOT_RUNNING") == 0);
    CHECK(strcmp(nats_server_status_name(100), "NATS_SERVER_NULL_ARGUMENT") == 0);
    CHECK(strcmp(nats_server_status_name(12345), "NATS_SERVER_UNKNOWN_STATUS") == 0);
    CHECK(strcmp(nats_server_status_name(-1), "NATS_SERVER_UNKNOWN_STATUS") == 0);
}

static void test_publish_subscribe(void) {
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    natsMsg *msg = NULL;
    char *url = NULL, *text = NULL, *dir = NULL;

    REQUIRE_OK(nats_server_run(NULL, &server, &err));
    REQUIRE(server != NULL);
    EXPECT_OK(nats_server_client_url(server, &url, &err));
    CHECK_STR_CONTAINS(url, "nats://localhost:");

    NATS_OK(connect_to(&nc, url));
    NATS_OK(natsConnection_SubscribeSync(&sub, nc, "greet.*"));
    NATS_OK(natsConnection_PublishString(nc, "greet.c", "hello from C"));
    NATS_OK(natsSubscription_NextMsg(&msg, sub, 2000));
    CHECK(strcmp(natsMsg_GetSubject(msg), "greet.c") == 0);
    CHECK(natsMsg_GetDataLength(msg) == (int)strlen("hello from C"));
    CHECK(memcmp(natsMsg_GetData(msg), "hello from C", strlen("hello from C")) == 0);

    /* Queries. */
    bool running = false, paused = true;
    uint32_t pid = 0;
    uint16_t port = 0, monitoring = 0;
    EXPECT_OK(nats_server_is_running(server, &running, &err));
    CHECK(running);
    EXPECT_OK(nats_server_is_paused(server, &paused, &err));
    CHECK(!paused);
    EXPECT_OK(nats_server_pid(server, &pid, &err));
    CHECK(pid > 0 && (pid_t)pid != getpid());
    EXPECT_OK(nats_server_client_port(server, &port, &err));
    CHECK(port > 0);
    char expected[64];
    snprintf(expected, sizeof expected, "nats://localhost:%u", (unsigned)port);
    CHECK(strcmp(url, expected) == 0);
    EXPECT_OK(nats_server_url(server, &text, &err));
    snprintf(expected, sizeof expected, "nats://127.0.0.1:%u", (unsigned)port);
    CHECK(text != NULL && strcmp(text, expected) == 0);
    nats_server_string_free(text);
    text = NULL;

    EXPECT_OK(nats_server_monitoring_port(server, &monitoring, &err));
    CHECK(monitoring > 0 && monitoring != port);
    EXPECT_OK(nats_server_monitoring_url(server, &text, &err));
    snprintf(expected, sizeof expected, "http://127.0.0.1:%u", (unsigned)monitoring);
    CHECK(text != NULL && strcmp(text, expected) == 0);
    nats_server_string_free(text);
    text = NULL;

    /* Listeners that are off. */
    uint16_t none = 1;
    EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "websocket", nats_server_websocket_port(server, &none, &err));
    CHECK(none == 0);
    EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "cluster", nats_server_cluster_port(server, &none, &err));
    EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "websocket", nats_server_websocket_url(server, &text, &err));
    CHECK(text == NULL);
    EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "cluster", nats_server_cluster_url(server, &text, &err));

    /* Knowledge. */
    char *id = NULL, *varz = NULL, *version = NULL, *info = NULL, *health = NULL;
    uint16_t http = 0;
    EXPECT_OK(nats_server_server_id(server, &id, &err));
    CHECK(id != NULL && strlen(id) > 10);
    EXPECT_OK(nats_server_monitor(server, "varz", &varz, &err));
    CHECK_STR_CONTAINS(varz, "\"server_id\"");
    if (id && varz) CHECK_STR_CONTAINS(varz, id);
    EXPECT_OK(nats_server_version(server, &version, &err));
    CHECK(version != NULL && version[0] == '2' && version[1] == '.');
    EXPECT_OK(nats_server_info(server, &info, &err));
    CHECK_STR_CONTAINS(info, "\"max_payload\"");
    EXPECT_OK(nats_server_monitor_status(server, "/healthz", &http, &health, &err));
    CHECK(http == 200);
    CHECK_STR_CONTAINS(health, "ok");
    EXPECT_ERROR(NATS_SERVER_MONITORING, "404", nats_server_monitor(server, "no-such-endpoint", &text, &err));
    nats_server_string_free(id);
    nats_server_string_free(varz);
    nats_server_string_free(version);
    nats_server_string_free(info);
    nats_server_string_free(health);

    char *log = NULL, *store = NULL, *tail = NULL;
    EXPECT_OK(nats_server_dir(server, &dir, &err));
    EXPECT_OK(nats_server_log_path(server, &log, &err));
    EXPECT_OK(nats_server_store_dir(server, &store, &err));
    CHECK(dir != NULL && access(dir, F_OK) == 0);
    CHECK(log != NULL && dir != NULL && strncmp(log, dir, strlen(dir)) == 0 && access(log, R_OK) == 0);
    CHECK(store != NULL && dir != NULL && strncmp(store, dir, strlen(dir)) == 0);
    EXPECT_OK(nats_server_log_tail(server, 50, &tail, &err));
    CHECK_STR_CONTAINS(tail, "Server is ready");
    nats_server_string_free(tail);
    tail = NULL;
    EXPECT_OK(nats_server_log_tail(server, 0, &tail, &err));
    CHECK(tail != NULL && strstr(tail, "Server is ready") == NULL);
    nats_server_string_free(tail);
    nats_server_string_free(log);
    nats_server_string_free(store);

    /* Reload (SIGHUP) keeps it serving. */
    EXPECT_OK(nats_server_reload(server, &err));
    natsMsg_Destroy(msg);
    msg = NULL;
    NATS_OK(natsConnection_PublishString(nc, "greet.again", "after reload"));
    NATS_OK(natsSubscription_NextMsg(&msg, sub, 2000));

    /* Free removes the private directory (the default keep policy, with no Rust panic, keeps nothing). */
    natsMsg_Destroy(msg);
    msg = NULL;
    natsSubscription_Destroy(sub);
    sub = NULL;
    natsConnection_Destroy(nc);
    nc = NULL;
    EXPECT_OK(nats_server_free(server));
    server = NULL;
    CHECK(dir != NULL && access(dir, F_OK) != 0);

cleanup:
    nats_server_string_free(dir);
    natsMsg_Destroy(msg);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    nats_server_string_free(url);
    nats_server_free(server);
}

/* Creates a stream, publishes one message; or reads message 1 back. */
static void js_write(const char *url) {
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsPubAck *ack = NULL;
    jsStreamConfig cfg;
    jsErrCode jerr = 0;
    const char *subjects[] = {"orders.>"};

    NATS_OK(connect_to(&nc, url));
    NATS_OK(natsConnection_JetStream(&js, nc, NULL));
    jsStreamConfig_Init(&cfg);
    cfg.Name = "ORDERS";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    NATS_OK(js_AddStream(NULL, js, &cfg, NULL, &jerr));
    NATS_OK(js_Publish(&ack, js, "orders.1", "kept across restarts", (int)strlen("kept across restarts"), NULL,
                       &jerr));
    CHECK(ack != NULL && ack->Sequence == 1 && strcmp(ack->Stream, "ORDERS") == 0);
cleanup:
    jsPubAck_Destroy(ack);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

static void js_read_back(const char *url) {
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsMsg *msg = NULL;
    jsErrCode jerr = 0;

    NATS_OK(connect_to(&nc, url));
    NATS_OK(natsConnection_JetStream(&js, nc, NULL));
    NATS_OK(js_GetMsg(&msg, js, "ORDERS", 1, NULL, &jerr));
    CHECK(natsMsg_GetDataLength(msg) == (int)strlen("kept across restarts"));
    CHECK(memcmp(natsMsg_GetData(msg), "kept across restarts", strlen("kept across restarts")) == 0);
cleanup:
    natsMsg_Destroy(msg);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

static void test_restart_keeps_port_and_jetstream_data(void) {
    nats_server_t *server = NULL;
    char *url = NULL, *again = NULL, *id = NULL, *id_after = NULL;
    uint16_t port = 0, port_after = 0;
    uint32_t pid = 0, pid_after = 0;
    bool running = true;

    REQUIRE_OK(nats_server_run("{\"jetstream\": true}", &server, &err));
    EXPECT_OK(nats_server_client_url(server, &url, &err));
    EXPECT_OK(nats_server_client_port(server, &port, &err));
    EXPECT_OK(nats_server_pid(server, &pid, &err));
    EXPECT_OK(nats_server_server_id(server, &id, &err));
    if (url == NULL) goto cleanup;
    js_write(url);

    /* Graceful restart. */
    EXPECT_OK(nats_server_restart(server, &err));
    EXPECT_OK(nats_server_client_port(server, &port_after, &err));
    EXPECT_OK(nats_server_pid(server, &pid_after, &err));
    EXPECT_OK(nats_server_server_id(server, &id_after, &err));
    CHECK(port_after == port);
    CHECK(pid_after != pid);
    CHECK(id && id_after && strcmp(id, id_after) != 0);
    EXPECT_OK(nats_server_client_url(server, &again, &err));
    CHECK(again && strcmp(url, again) == 0);
    js_read_back(url);

    /* Stop, then start again: same port, same data; the URL is known while stopped. */
    EXPECT_OK(nats_server_stop(server, &err));
    EXPECT_OK(nats_server_is_running(server, &running, &err));
    CHECK(!running);
    nats_server_string_free(again);
    again = NULL;
    EXPECT_OK(nats_server_client_url(server, &again, &err));
    CHECK(again && strcmp(url, again) == 0);
    EXPECT_OK(nats_server_start(server, &err));
    EXPECT_OK(nats_server_start(server, &err)); /* running: a no-op */
    EXPECT_OK(nats_server_client_port(server, &port_after, &err));
    CHECK(port_after == port);
    js_read_back(url);

    /* A crash (SIGKILL) and a start: the same again. */
    EXPECT_OK(nats_server_kill(server, &err));
    EXPECT_OK(nats_server_is_running(server, &running, &err));
    CHECK(!running);
    EXPECT_OK(nats_server_start(server, &err));
    EXPECT_OK(nats_server_client_port(server, &port_after, &err));
    CHECK(port_after == port);
    js_read_back(url);

cleanup:
    nats_server_string_free(url);
    nats_server_string_free(again);
    nats_server_string_free(id);
    nats_server_string_free(id_after);
    EXPECT_OK(nats_server_free(server));
}

static void test_pause_and_resume(void) {
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    char *url = NULL;
    bool paused = false, running = false;
    REQUIRE_OK(nats_server_run(NULL, &server, &err));
    EXPECT_OK(nats_server_client_url(server, &url, &err));

    EXPECT_OK(nats_server_pause(server, &err));
    EXPECT_OK(nats_server_is_paused(server, &paused, &err));
    EXPECT_OK(nats_server_is_running(server, &running, &err));
    CHECK(paused && running);
    /* A paused server cannot tell its INFO: a clear status, not a wait. */
    {
        char *id = NULL;
        EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "INFO could not be read", nats_server_server_id(server, &id, &err));
        CHECK(id == NULL);
    }
    EXPECT_OK(nats_server_resume(server, &err));
    EXPECT_OK(nats_server_is_paused(server, &paused, &err));
    CHECK(!paused);
    NATS_OK(connect_to(&nc, url));
    NATS_OK(natsConnection_FlushTimeout(nc, 2000));

    /* A paused server still stops (it is resumed first). */
    EXPECT_OK(nats_server_pause(server, &err));
    natsConnection_Destroy(nc);
    nc = NULL;
    EXPECT_OK(nats_server_stop(server, &err));
    EXPECT_OK(nats_server_is_running(server, &running, &err));
    CHECK(!running);
cleanup:
    natsConnection_Destroy(nc);
    nats_server_string_free(url);
    EXPECT_OK(nats_server_free(server));
}

static atomic_int lame_duck_seen;

static void on_lame_duck(natsConnection *nc, void *closure) {
    (void)nc;
    (void)closure;
    atomic_store(&lame_duck_seen, 1);
}

static void test_lame_duck_makes_the_server_exit(void) {
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    natsOptions *opts = NULL;
    char *url = NULL;
    int code = -100;
    bool running = true;

    /* No client: the server exits at once. */
    REQUIRE_OK(nats_server_run(NULL, &server, &err));
    EXPECT_OK(nats_server_lame_duck(server, &err));
    EXPECT_OK(nats_server_wait_exit(server, 5000, &code, &err));
    CHECK(code == 0);
    EXPECT_OK(nats_server_is_running(server, &running, &err));
    CHECK(!running);
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running", nats_server_lame_duck(server, &err));
    EXPECT_OK(nats_server_free(server));
    server = NULL;

    /* With a client: it is told (the client's lame duck callback runs), and the server exits after its grace
     * period (1 s here; the default is 10 s). */
    atomic_store(&lame_duck_seen, 0);
    REQUIRE_OK(nats_server_run("{\"config\": \"lame_duck_grace_period: 1s\"}", &server, &err));
    EXPECT_OK(nats_server_client_url(server, &url, &err));
    NATS_OK(natsOptions_Create(&opts));
    NATS_OK(natsOptions_SetURL(opts, url));
    NATS_OK(natsOptions_SetAllowReconnect(opts, false));
    NATS_OK(natsOptions_SetLameDuckModeCB(opts, on_lame_duck, NULL));
    NATS_OK(natsConnection_Connect(&nc, opts));
    EXPECT_OK(nats_server_lame_duck(server, &err));
    for (int i = 0; i < 500 && !atomic_load(&lame_duck_seen); i++) usleep(10 * 1000);
    CHECK(atomic_load(&lame_duck_seen));
    EXPECT_ERROR(NATS_SERVER_TIMEOUT, "still runs", nats_server_wait_exit(server, 50, NULL, &err));
    EXPECT_OK(nats_server_wait_exit(server, 15000, NULL, &err));
    EXPECT_OK(nats_server_is_running(server, &running, &err));
    CHECK(!running);
cleanup:
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    nats_server_string_free(url);
    EXPECT_OK(nats_server_free(server));
}

static void test_auth_urls(void) {
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    char *url = NULL, *plain = NULL;

    REQUIRE_OK(nats_server_run("{\"user\": \"alice\", \"password\": \"s3cret\"}", &server, &err));
    EXPECT_OK(nats_server_client_url_with(server, "alice", "s3cret", &url, &err));
    CHECK_STR_CONTAINS(url, "nats://alice:s3cret@localhost:");
    NATS_OK(connect_to(&nc, url));
    NATS_OK(natsConnection_FlushTimeout(nc, 2000));
    natsConnection_Destroy(nc);
    nc = NULL;
    EXPECT_OK(nats_server_client_url(server, &plain, &err));
    CHECK(connect_to(&nc, plain) != NATS_OK); /* no credentials: refused */
    /* Reserved characters are percent-encoded (RFC 3986). Note: the NATS C client 3.4 does not decode user info,
     * so with it use natsOptions_SetUserInfo for such passwords; the Rust, Go and Python clients decode. */
    nats_server_string_free(url);
    url = NULL;
    EXPECT_OK(nats_server_client_url_with(server, "al ice", "p@ss:w/rd", &url, &err));
    CHECK_STR_CONTAINS(url, "nats://al%20ice:p%40ss%3Aw%2Frd@localhost:");
    natsConnection_Destroy(nc);
    nc = NULL;
    nats_server_string_free(url);
    url = NULL;
    EXPECT_OK(nats_server_free(server));
    server = NULL;

    REQUIRE_OK(nats_server_run("{\"token\": \"s3cret\"}", &server, &err));
    EXPECT_OK(nats_server_client_url_with_token(server, "s3cret", &url, &err));
    CHECK_STR_CONTAINS(url, "nats://s3cret@localhost:");
    NATS_OK(connect_to(&nc, url));
    NATS_OK(natsConnection_FlushTimeout(nc, 2000));
cleanup:
    natsConnection_Destroy(nc);
    nats_server_string_free(url);
    nats_server_string_free(plain);
    EXPECT_OK(nats_server_free(server));
}

static void test_websocket_listener(void) {
    nats_server_t *server = NULL;
    uint16_t ws = 0;
    char *url = NULL;
    REQUIRE_OK(nats_server_run("{\"websocket\": true, \"monitoring\": false}", &server, &err));
    EXPECT_OK(nats_server_websocket_port(server, &ws, &err));
    CHECK(ws > 0);
    EXPECT_OK(nats_server_websocket_url(server, &url, &err));
    CHECK_STR_CONTAINS(url, "ws://127.0.0.1:");
    nats_server_string_free(url);
    url = NULL;
    EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "monitoring", nats_server_monitoring_port(server, &ws, &err));
    EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "monitoring", nats_server_monitoring_url(server, &url, &err));
    EXPECT_ERROR(NATS_SERVER_MONITORING, "monitoring is disabled", nats_server_monitor(server, "varz", &url, &err));
    EXPECT_OK(nats_server_free(server));
}

/* One handle shared by threads: queries from two threads while the main thread restarts the server. */
struct shared {
    nats_server_t *server;
    uint16_t port;
    atomic_int failures;
};

static void *query_loop(void *arg) {
    struct shared *shared = arg;
    for (int i = 0; i < 200; i++) {
        uint16_t port = 0;
        char *url = NULL;
        if (nats_server_client_port(shared->server, &port, NULL) != NATS_SERVER_OK || port != shared->port)
            atomic_fetch_add(&shared->failures, 1);
        if (nats_server_client_url(shared->server, &url, NULL) != NATS_SERVER_OK || url == NULL)
            atomic_fetch_add(&shared->failures, 1);
        nats_server_string_free(url);
    }
    return NULL;
}

static void test_one_handle_shared_between_threads(void) {
    struct shared shared = {0};
    pthread_t threads[2];
    REQUIRE_OK(nats_server_run(NULL, &shared.server, &err));
    EXPECT_OK(nats_server_client_port(shared.server, &shared.port, &err));
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, query_loop, &shared);
    EXPECT_OK(nats_server_restart(shared.server, &err));
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    CHECK(atomic_load(&shared.failures) == 0);
    EXPECT_OK(nats_server_free(shared.server));
}

static void test_keep_policy(void) {
    nats_server_t *server = NULL;
    char *dir = NULL;
    REQUIRE_OK(nats_server_run(NULL, &server, &err));
    EXPECT_OK(nats_server_dir(server, &dir, &err));
    EXPECT_OK(nats_server_set_keep(server, NATS_SERVER_KEEP_ALWAYS, &err));
    EXPECT_OK(nats_server_free(server));
    CHECK(dir != NULL && access(dir, F_OK) == 0); /* kept: remove it ourselves */
    if (dir) {
        char command[4200];
        snprintf(command, sizeof command, "rm -rf '%s'", dir);
        CHECK(system(command) == 0);
    }
    nats_server_string_free(dir);
}

/* The binary used, the options in force, the last pid after a stop, TLS. */
static void test_binary_options_last_pid_tls(void) {
    nats_server_t *server = NULL;
    char *binary = NULL, *options = NULL;
    uint32_t pid = 0, last = 0;
    bool tls = true;
    REQUIRE_OK(nats_server_run("{\"jetstream\": true, \"name\": \"queried\"}", &server, &err));
    EXPECT_OK(nats_server_binary(server, &binary, &err));
    const char *wanted = getenv("NATS_SERVER_BIN");
    if (binary && wanted && *wanted) CHECK(strcmp(binary, wanted) == 0);
    CHECK(binary != NULL && strstr(binary, "nats-server") != NULL);
    EXPECT_OK(nats_server_options_json(server, &options, &err));
    CHECK_STR_CONTAINS(options, "\"jetstream\":true");
    CHECK_STR_CONTAINS(options, "\"name\":\"queried\"");
    CHECK_STR_CONTAINS(options, "\"monitoring\":true"); /* defaults are filled in */
    EXPECT_OK(nats_server_tls_required(server, &tls, &err));
    CHECK(!tls);
    EXPECT_OK(nats_server_pid(server, &pid, &err));
    EXPECT_OK(nats_server_last_pid(server, &last, &err));
    CHECK(pid != 0 && last == pid);
    EXPECT_OK(nats_server_stop(server, &err));
    EXPECT_STATUS(NATS_SERVER_NOT_RUNNING, nats_server_pid(server, &pid, &err));
    EXPECT_OK(nats_server_last_pid(server, &last, &err));
    CHECK(last != 0); /* still the stopped process's pid, to find its traces */
    nats_server_string_free(binary);
    nats_server_string_free(options);
    char *none = NULL;
    EXPECT_STATUS(NATS_SERVER_NULL_ARGUMENT, nats_server_binary(NULL, &none, &err));
    CHECK(none == NULL);
    EXPECT_OK(nats_server_free(server));
}

/* Under on-failure, a test that marks its server failed keeps the directory; an unmarked one or a never policy
 * does not. */
static void test_mark_failed(void) {
    const char *cases[] = {"{\"keep\": \"on-failure\"}", "{\"keep\": \"on-failure\"}", "{\"keep\": \"never\"}"};
    const int mark[] = {1, 0, 1};
    const int kept[] = {1, 0, 0};
    for (int i = 0; i < 3; i++) {
        nats_server_t *server = NULL;
        char *dir = NULL;
        REQUIRE_OK(nats_server_run(cases[i], &server, &err));
        EXPECT_OK(nats_server_dir(server, &dir, &err));
        if (mark[i]) EXPECT_OK(nats_server_mark_failed(server, &err));
        EXPECT_OK(nats_server_free(server));
        int exists = dir != NULL && access(dir, F_OK) == 0;
        if (exists != kept[i]) FAIL("case %d: the directory %s", i, exists ? "was kept" : "was removed");
        if (exists) {
            char command[4200];
            snprintf(command, sizeof command, "rm -rf '%s'", dir);
            CHECK(system(command) == 0);
        }
        nats_server_string_free(dir);
    }
    EXPECT_STATUS(NATS_SERVER_NULL_ARGUMENT, nats_server_mark_failed(NULL, &err));
}

int main(void) {
    RUN(test_abi_and_version);
    RUN(test_publish_subscribe);
    RUN(test_restart_keeps_port_and_jetstream_data);
    RUN(test_pause_and_resume);
    RUN(test_lame_duck_makes_the_server_exit);
    RUN(test_auth_urls);
    RUN(test_websocket_listener);
    RUN(test_one_handle_shared_between_threads);
    RUN(test_keep_policy);
    RUN(test_mark_failed);
    RUN(test_binary_options_last_pid_tls);
    nats_CloseAndWait(0); /* frees the C client's global state, for valgrind */
    return summary();
}
