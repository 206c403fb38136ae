/* Options built without hand-written JSON, start without waiting, stop with a timeout, the host query, and
 * parallel node stops: through the C ABI, with the real NATS C client (Debian's libnats-dev). */
#define _DEFAULT_SOURCE /* POSIX functions (clock_gettime, usleep) under -std=c11 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "check.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

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

/* Lame duck is entered asynchronously: waits (up to 1 s) until the server at `url` stops accepting clients. */
static void wait_until_refusing(const char *url) {
    for (int i = 0; i < 500; i++) {
        natsConnection *probe = NULL;
        if (connect_to(&probe, url) != NATS_OK) return;
        natsConnection_Destroy(probe);
        usleep(2000);
    }
}

static void test_options_built_without_json(void) {
    nats_server_options_t *o = nats_server_options_new();
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    char *json = NULL, *url = NULL, *host = NULL, *varz = NULL;
    REQUIRE(o != NULL);
    /* Text that JSON would need escaped: quotes, a backslash, a newline. */
    EXPECT_OK(nats_server_options_set_string(o, "config", "max_payload: 65536\nserver_tags: [\"a\\\\b\"]", &err));
    EXPECT_OK(nats_server_options_set_string(o, "name", "built-\"in\"-C", &err));
    EXPECT_OK(nats_server_options_set_bool(o, "jetstream", true, &err));
    EXPECT_OK(nats_server_options_set_int(o, "port", 0, &err));
    EXPECT_OK(nats_server_options_set_string(o, "user", "u", &err));
    EXPECT_OK(nats_server_options_add_arg(o, "--client_advertise", &err));
    EXPECT_OK(nats_server_options_add_arg(o, "advertised.example:4333", &err));
    /* Mistakes fail at the call that makes them, naming the field, and change nothing. */
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "jetstreem", nats_server_options_set_bool(o, "jetstreem", true, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "port", nats_server_options_set_string(o, "port", "4222", &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "port", nats_server_options_set_int(o, "port", 70000, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "cluster.nmae",
                 nats_server_options_set_string(o, "cluster.nmae", "c", &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "key", nats_server_options_set_bool(o, NULL, true, &err));
    /* The whole is checked at the end: a user needs a password. */
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "password", nats_server_options_to_json(o, &json, &err));
    CHECK(json == NULL);
    EXPECT_OK(nats_server_options_set_string(o, "password", "p w:d", &err));
    EXPECT_OK(nats_server_options_to_json(o, &json, &err));
    REQUIRE(json != NULL);

    REQUIRE_OK(nats_server_run(json, &server, &err));
    EXPECT_OK(nats_server_url(server, &url, &err));
    {
        natsOptions *opts = NULL;
        natsStatus s = natsOptions_Create(&opts);
        if (s == NATS_OK) s = natsOptions_SetURL(opts, url);
        if (s == NATS_OK) s = natsOptions_SetUserInfo(opts, "u", "p w:d");
        if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
        if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
        natsOptions_Destroy(opts);
        NATS_OK(s);
    }
    CHECK(natsConnection_GetMaxPayload(nc) == 65536);
    EXPECT_OK(nats_server_host(server, &host, &err));
    CHECK(host != NULL && strcmp(host, "127.0.0.1") == 0);
    EXPECT_OK(nats_server_monitor(server, "varz", &varz, &err));
    CHECK_STR_CONTAINS(varz, "built-\\\"in\\\"-C");
    CHECK_STR_CONTAINS(varz, "\"host\":\"advertised.example\"");
    CHECK_STR_CONTAINS(varz, "\"tags\":[\"a\\\\b\"]");
cleanup:
    natsConnection_Destroy(nc);
    nats_server_string_free(varz);
    nats_server_string_free(host);
    nats_server_string_free(url);
    nats_server_string_free(json);
    EXPECT_OK(nats_server_free(server));
    nats_server_options_free(o);
    nats_server_options_free(NULL);
}

static void test_cluster_options_and_args_refused(void) {
    nats_server_options_t *o = nats_cluster_options_new();
    char *json = NULL;
    REQUIRE(o != NULL);
    EXPECT_OK(nats_server_options_set_int(o, "nodes", 2, &err));
    EXPECT_OK(nats_server_options_set_bool(o, "server.jetstream", true, &err));
    EXPECT_OK(nats_server_options_append_string(o, "node_names", "a", &err));
    EXPECT_OK(nats_server_options_append_string(o, "node_names", "b", &err));
    EXPECT_OK(nats_server_options_to_json(o, &json, &err));
    CHECK_STR_CONTAINS(json, "\"node_names\":[\"a\",\"b\"]");
    nats_server_string_free(json);
    json = NULL;
    /* `-c FILE` in the arguments is refused at once, naming the option to use. */
    EXPECT_OK(nats_server_options_add_arg(o, "-c", &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "config_file", nats_server_options_to_json(o, &json, &err));
    nats_server_options_free(o);
}

/* A mixed-version cluster from the builder: one release per node (installed into the per-user cache when missing),
 * then a rolling upgrade of the running cluster through the C ABI. */
static void test_node_versions_from_the_builder(void) {
    nats_server_options_t *o = NULL;
    char *json = NULL, *version = NULL;
    nats_cluster_t *c = NULL;
    nats_server_t *node = NULL;
    if (!releases_offline_with_2_14_and_2_15()) return;
    o = nats_cluster_options_new();
    REQUIRE(o != NULL);
    /* Three nodes: a rolling upgrade stops one node at a time, and a JetStream cluster keeps its quorum only if a
     * majority stays up (a 2-node cluster loses it at every step and must elect again, which can take long). */
    EXPECT_OK(nats_server_options_set_int(o, "nodes", 3, &err));
    EXPECT_OK(nats_server_options_set_bool(o, "server.jetstream", true, &err));
    EXPECT_OK(nats_server_options_append_string(o, "node_versions", "2.14", &err));
    EXPECT_OK(nats_server_options_append_string(o, "node_versions", "2.15", &err));
    EXPECT_OK(nats_server_options_append_string(o, "node_versions", "2.14", &err));
    EXPECT_OK(nats_server_options_to_json(o, &json, &err));
    nats_server_options_free(o);
    EXPECT_OK(nats_cluster_run(json, &c, &err));
    nats_server_string_free(json);
    REQUIRE(c != NULL);
    const char *want[] = {"2.14.", "2.15.", "2.14."};
    for (size_t i = 0; i < 3; i++) {
        EXPECT_OK(nats_cluster_node(c, i, &node, &err));
        EXPECT_OK(nats_server_version(node, &version, &err));
        CHECK(version != NULL && strncmp(version, want[i], strlen(want[i])) == 0);
        nats_server_string_free(version);
        version = NULL;
    }
    EXPECT_OK(nats_cluster_rolling_upgrade(c, "2.15", &err));
    for (size_t i = 0; i < 3; i++) {
        EXPECT_OK(nats_cluster_node(c, i, &node, &err));
        EXPECT_OK(nats_server_version(node, &version, &err));
        CHECK(version != NULL && strncmp(version, "2.15.", 5) == 0);
        nats_server_string_free(version);
        version = NULL;
    }
    EXPECT_OK(nats_cluster_free(c));
    releases_online();
}

static void test_spawn_then_wait_ready(void) {
    nats_server_t *servers[3] = {NULL, NULL, NULL};
    nats_server_t *bad = NULL;
    natsConnection *nc = NULL;
    char *url = NULL;
    for (int i = 0; i < 3; i++) REQUIRE_OK(nats_server_spawn(NULL, &servers[i], &err));
    for (int i = 0; i < 3; i++) {
        EXPECT_OK(nats_server_wait_ready(servers[i], &err));
        EXPECT_OK(nats_server_wait_ready(servers[i], &err));
    }
    EXPECT_OK(nats_server_client_url(servers[2], &url, &err));
    NATS_OK(connect_to(&nc, url));
    /* One that fails: the spawn succeeds, the wait says why, like a start would. */
    REQUIRE_OK(nats_server_spawn("{\"config\": \"no_such_field: 1\"}", &bad, &err));
    EXPECT_ERROR(NATS_SERVER_CONFIG, "no_such_field", nats_server_wait_ready(bad, &err));
cleanup:
    natsConnection_Destroy(nc);
    nats_server_string_free(url);
    EXPECT_OK(nats_server_free(bad));
    for (int i = 0; i < 3; i++) EXPECT_OK(nats_server_free(servers[i]));
}

static void test_stop_timeout_on_a_lame_duck_server_with_a_client(void) {
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    char *url = NULL;
    uint32_t pid = 0;
    bool running = true;
    REQUIRE_OK(nats_server_run("{\"config\": \"lame_duck_grace_period: \\\"20s\\\"\"}", &server, &err));
    EXPECT_OK(nats_server_client_url(server, &url, &err));
    NATS_OK(connect_to(&nc, url));
    NATS_OK(natsConnection_Flush(nc));
    EXPECT_OK(nats_server_pid(server, &pid, &err));
    EXPECT_OK(nats_server_lame_duck(server, &err));
    wait_until_refusing(url);
    double started = now_ms();
    EXPECT_OK(nats_server_stop_timeout(server, 500, &err));
    double took = now_ms() - started;
    printf("    nats_server_stop_timeout(500 ms) on a lame-duck server with a client: %.0f ms\n", took);
    CHECK(took < 3000);
    EXPECT_OK(nats_server_is_running(server, &running, &err));
    CHECK(!running);
    CHECK(kill((pid_t)pid, 0) != 0);
cleanup:
    natsConnection_Destroy(nc);
    nats_server_string_free(url);
    EXPECT_OK(nats_server_free(server));
}

struct node_stop {
    nats_cluster_t *cluster;
    size_t index;
    nats_server_status status;
};

static void *stop_node(void *arg) {
    struct node_stop *job = arg;
    job->status = nats_cluster_stop_node_timeout(job->cluster, job->index, 300, NULL);
    return NULL;
}

static void test_cluster_nodes_stop_in_parallel(void) {
    nats_cluster_t *cluster = NULL;
    natsConnection *clients[3] = {NULL, NULL, NULL};
    REQUIRE_OK(nats_cluster_run("{\"server\": {\"config\": \"lame_duck_grace_period: \\\"20s\\\"\"}}", &cluster,
                                  &err));
    for (size_t i = 0; i < 3; i++) {
        nats_server_t *node = NULL;
        char *url = NULL;
        EXPECT_OK(nats_cluster_node(cluster, i, &node, &err));
        EXPECT_OK(nats_server_client_url(node, &url, &err));
        natsStatus s = connect_to(&clients[i], url);
        if (s == NATS_OK) {
            EXPECT_OK(nats_cluster_lame_duck_node(cluster, i, &err));
            wait_until_refusing(url);
        }
        nats_server_string_free(url);
        NATS_OK(s);
    }
    struct node_stop jobs[3];
    pthread_t threads[3];
    double started = now_ms();
    for (size_t i = 0; i < 3; i++) {
        jobs[i] = (struct node_stop){cluster, i, NATS_SERVER_INTERNAL};
        pthread_create(&threads[i], NULL, stop_node, &jobs[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        CHECK(jobs[i].status == NATS_SERVER_OK);
    }
    double took = now_ms() - started;
    printf("    three lame-duck nodes stopped from three threads (timeout 300 ms each): %.0f ms\n", took);
    CHECK(took < 2 * 300 + 300);
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "out of range",
                 nats_cluster_stop_node_timeout(cluster, 9, 10, &err));
cleanup:
    for (size_t i = 0; i < 3; i++) natsConnection_Destroy(clients[i]);
    nats_cluster_free(cluster);
}

int main(void) {
    RUN(test_options_built_without_json);
    RUN(test_cluster_options_and_args_refused);
    RUN(test_node_versions_from_the_builder);
    RUN(test_spawn_then_wait_ready);
    RUN(test_stop_timeout_on_a_lame_duck_server_with_a_client);
    RUN(test_cluster_nodes_stop_in_parallel);
    nats_CloseAndWait(0);
    return summary();
}
