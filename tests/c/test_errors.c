/* Every bad input returns the right status and a message, never a crash: missing binary, bad config files,
 * unknown and ill-typed option fields, NULL arguments, invalid UTF-8, busy ports, use of a stopped server. */
#define _DEFAULT_SOURCE /* POSIX and BSD functions (usleep, mkstemp, strdup) under -std=c11 */
#include <stdint.h>
#include <unistd.h>

#include "check.h"

static void test_missing_binary(void) {
    nats_server_t *server = (nats_server_t *)0x1; /* garbage: must come back NULL */
    EXPECT_ERROR(NATS_SERVER_BINARY_NOT_FOUND, "/nonexistent/nats-server",
                 nats_server_run("{\"binary\": \"/nonexistent/nats-server\"}", &server, &err));
    CHECK(server == NULL);

    /* A file that exists but is not executable. */
    char path[] = "/tmp/nats-server-c-test-XXXXXX";
    int fd = mkstemp(path); /* mode 0600 */
    REQUIRE(fd >= 0);
    close(fd);
    char json[256];
    snprintf(json, sizeof json, "{\"binary\": \"%s\"}", path);
    EXPECT_ERROR(NATS_SERVER_BINARY_NOT_FOUND, path, nats_server_run(json, &server, &err));
    CHECK(server == NULL);
    unlink(path);
}

static void test_missing_config_file(void) {
    nats_server_t *server = NULL;
    EXPECT_ERROR(NATS_SERVER_CONFIG, "/nonexistent/server.conf",
                 nats_server_run("{\"config_file\": \"/nonexistent/server.conf\"}", &server, &err));
    CHECK(server == NULL);
}

static void test_malformed_config_file(void) {
    char path[] = "/tmp/nats-server-c-test-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const char *garbage = "port: 4222\nthis is { not a valid config\n";
    CHECK(write(fd, garbage, strlen(garbage)) == (ssize_t)strlen(garbage));
    close(fd);

    char json[256];
    snprintf(json, sizeof json, "{\"config_file\": \"%s\"}", path);
    nats_server_t *server = NULL;
    char *err = NULL;
    nats_server_status status = nats_server_run(json, &server, &err);
    CHECK(status == NATS_SERVER_CONFIG);
    CHECK(server == NULL);
    /* The server's own words are quoted, and the message says what happened. */
    CHECK_STR_CONTAINS(err, "exited");
    CHECK_STR_CONTAINS(err, "It said:");
    nats_server_string_free(err);
    unlink(path);

    /* Inline config the server rejects: an unknown top-level setting in strict mode is fine for the server, but a
     * syntax error is not. */
    server = NULL;
    EXPECT_ERROR(NATS_SERVER_CONFIG, "It said:", nats_server_run("{\"config\": \"listen: {{{\"}", &server, &err));
    CHECK(server == NULL);

    /* An unknown command-line flag (through `args`). */
    EXPECT_ERROR(NATS_SERVER_CONFIG, "command-line",
                 nats_server_run("{\"args\": [\"--no-such-flag\"]}", &server, &err));
}

static void test_unknown_and_ill_typed_fields_are_named(void) {
    nats_server_t *server = NULL;
    nats_cluster_t *cluster = NULL;
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "jetstreem", nats_server_run("{\"jetstreem\": true}", &server, &err));
    CHECK(server == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "field `port`", nats_server_run("{\"port\": \"abc\"}", &server, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "field `cluster.routes`",
                 nats_server_run("{\"cluster\": {\"name\": \"x\", \"routes\": 5}}", &server, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "prot", nats_cluster_run("{\"server\": {\"prot\": 1}}", &cluster, &err));
    CHECK(cluster == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "field `nodes`", nats_cluster_run("{\"nodes\": -1}", &cluster, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "nodes", nats_cluster_run("{\"nodes\": 0}", &cluster, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "JSON", nats_server_run("{\"jetstream\": tru", &server, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "JSON", nats_server_run("", &server, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "trailing", nats_server_run("{} {}", &server, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "user", nats_server_run("{\"password\": \"x\"}", &server, &err));
    /* Port 0 means "any free port" (a dynamic port); a port out of range is refused, naming the field. */
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "port", nats_server_run("{\"port\": 70000}", &server, &err));
    CHECK(server == NULL);
}

static void test_null_arguments(void) {
    nats_server_t *server = NULL;
    char *text = NULL;
    uint16_t port = 0;
    bool flag = false;

    /* A NULL out-parameter is refused before anything is started. */
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`out`", nats_server_run(NULL, NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`out`", nats_cluster_run(NULL, NULL, &err));

    /* NULL handles. */
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_stop(NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_start(NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_restart(NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_kill(NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_pause(NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_resume(NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_lame_duck(NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_reload(NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_wait_exit(NULL, 10, NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_set_keep(NULL, 0, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_client_url(NULL, &text, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_client_port(NULL, &port, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_is_running(NULL, &flag, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_log_tail(NULL, 10, &text, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`server`", nats_server_monitor(NULL, "varz", &text, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`cluster`", nats_cluster_node(NULL, 0, &server, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`cluster`", nats_cluster_kill_node(NULL, 0, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`cluster`", nats_cluster_wait_ready(NULL, 10, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`cluster`", nats_cluster_client_urls(NULL, &text, &err));
    CHECK(text == NULL);

    /* NULL is fine where documented. */
    CHECK(nats_server_free(NULL) == NATS_SERVER_OK);
    CHECK(nats_cluster_free(NULL) == NATS_SERVER_OK);
    nats_server_string_free(NULL);
    CHECK(nats_server_stop(NULL, NULL) == NATS_SERVER_NULL_ARGUMENT); /* no message wanted */

    /* NULL strings and out-parameters on a live server. */
    REQUIRE_OK(nats_server_run(NULL, &server, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`out`", nats_server_client_url(server, NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`out`", nats_server_client_port(server, NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`out`", nats_server_pid(server, NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`user`", nats_server_client_url_with(server, NULL, "p", &text, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`password`", nats_server_client_url_with(server, "u", NULL, &text, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`token`", nats_server_client_url_with_token(server, NULL, &text, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`endpoint`", nats_server_monitor(server, NULL, &text, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`http_status`",
                 nats_server_monitor_status(server, "varz", NULL, &text, &err));
    CHECK(text == NULL);
    /* The server is unharmed. */
    bool running = false;
    EXPECT_OK(nats_server_is_running(server, &running, &err));
    CHECK(running);
    EXPECT_OK(nats_server_free(server));
}

static void test_invalid_utf8(void) {
    nats_server_t *server = NULL;
    nats_cluster_t *cluster = NULL;
    char *text = NULL;
    EXPECT_ERROR(NATS_SERVER_INVALID_UTF8, "`options_json`",
                 nats_server_run("{\"name\": \"caf\xe9\"}", &server, &err));
    CHECK(server == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_UTF8, "offset 2", nats_cluster_run("{\"\xff\": 1}", &cluster, &err));
    CHECK(cluster == NULL);

    REQUIRE_OK(nats_server_run(NULL, &server, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_UTF8, "`user`", nats_server_client_url_with(server, "\xc3\x28", "p", &text, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_UTF8, "`password`",
                 nats_server_client_url_with(server, "u", "\xed\xa0\x80", &text, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_UTF8, "`token`", nats_server_client_url_with_token(server, "\x80", &text, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_UTF8, "`endpoint`", nats_server_monitor(server, "varz\xff", &text, &err));
    CHECK(text == NULL);
    /* Valid non-ASCII UTF-8 is fine, and percent-encoded. */
    EXPECT_OK(nats_server_client_url_with(server, "jos\xc3\xa9", "p", &text, &err));
    CHECK_STR_CONTAINS(text, "nats://jos%C3%A9:p@localhost:");
    nats_server_string_free(text);
    EXPECT_OK(nats_server_free(server));
}

static void test_stopped_server(void) {
    nats_server_t *server = NULL;
    char *text = NULL;
    uint32_t pid = 1;
    uint16_t port = 0;
    uint16_t http = 0;
    REQUIRE_OK(nats_server_run(NULL, &server, &err));

    /* Double stop and kill of a stopped server are no-ops. */
    EXPECT_OK(nats_server_stop(server, &err));
    EXPECT_OK(nats_server_stop(server, &err));
    EXPECT_OK(nats_server_kill(server, &err));

    /* What needs a running server says so. */
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running", nats_server_pause(server, &err));
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running", nats_server_resume(server, &err));
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running", nats_server_lame_duck(server, &err));
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running", nats_server_reload(server, &err));
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running", nats_server_pid(server, &pid, &err));
    CHECK(pid == 0);
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running", nats_server_wait_exit(server, 10, NULL, &err));
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running", nats_server_monitor(server, "varz", &text, &err));
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running",
                 nats_server_monitor_status(server, "healthz", &http, &text, &err));
    CHECK(text == NULL);

    /* What is known without the process still answers. */
    EXPECT_OK(nats_server_client_port(server, &port, &err));
    CHECK(port > 0);
    EXPECT_OK(nats_server_client_url(server, &text, &err));
    nats_server_string_free(text);
    text = NULL;
    EXPECT_OK(nats_server_log_tail(server, 5, &text, &err));
    nats_server_string_free(text);
    EXPECT_OK(nats_server_free(server));
}

static void test_running_server_errors(void) {
    nats_server_t *server = NULL, *second = NULL;
    uint16_t port = 0;
    char json[128];
    REQUIRE_OK(nats_server_run(NULL, &server, &err));

    EXPECT_ERROR(NATS_SERVER_TIMEOUT, "still runs", nats_server_wait_exit(server, 20, NULL, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "keep policy 7", nats_server_set_keep(server, 7, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "keep policy -1", nats_server_set_keep(server, -1, &err));

    /* A busy port: the second server fails with the server's own words and leaves nothing behind. */
    EXPECT_OK(nats_server_client_port(server, &port, &err));
    snprintf(json, sizeof json, "{\"port\": %u}", (unsigned)port);
    EXPECT_ERROR(NATS_SERVER_PORT_IN_USE, "address already in use", nats_server_run(json, &second, &err));
    CHECK(second == NULL);

    /* A cluster-only option on a server. */
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "unknown field `nodes`", nats_server_run("{\"nodes\": 3}", &second, &err));
    EXPECT_OK(nats_server_free(server));
}

/* Keep policy names are parsed by the library, with every spelling NATS_SERVER_KEEP and the `keep` option accept. */
static void test_keep_names(void) {
    int32_t keep = -1;
    EXPECT_OK(nats_server_keep_parse("on_failure", &keep, &err));
    CHECK(keep == NATS_SERVER_KEEP_ON_FAILURE);
    EXPECT_OK(nats_server_keep_parse("1", &keep, &err));
    CHECK(keep == NATS_SERVER_KEEP_ALWAYS);
    EXPECT_OK(nats_server_keep_parse("Never", &keep, &err));
    CHECK(keep == NATS_SERVER_KEEP_NEVER);
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "keep policy \"sometimes\"", nats_server_keep_parse("sometimes", &keep, &err));
    CHECK(keep == 0);
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`text`", nats_server_keep_parse(NULL, &keep, &err));
}

/* Installing a release: the C ABI names the version and each source's answer; no network needed (a closed port). */
static void test_install_errors(void) {
    char dir[] = "/tmp/nats-server-c-cache-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    setenv("NATS_SERVER_CACHE", dir, 1);
    setenv("NATS_SERVER_SOURCES", "github", 1);
    setenv("NATS_SERVER_RELEASES_URL", "http://127.0.0.1:9", 1);
    char *text = NULL;
    EXPECT_ERROR(NATS_SERVER_INSTALL,
                 "nats-server harness: install failed: could not install nats-server 2.98.7; tried github "
                 "(http://127.0.0.1:9): GET http://127.0.0.1:9/v2.98.7/SHA256SUMS failed",
                 nats_server_install("2.98.7", &text, &err));
    CHECK(text == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "`version` \"2.x\" is not a nats-server version",
                 nats_server_install("2.x", &text, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`version`", nats_server_install(NULL, &text, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "`binary_out`", nats_server_install("2.14", NULL, &err));
    EXPECT_OK(nats_server_versions(true, &text, &err));
    CHECK_STR_CONTAINS(text, "\"installed\":[]");
    CHECK_STR_CONTAINS(text, "\"available\":[]");
    nats_server_string_free(text);
    /* A supercluster cluster's release that cannot be installed: the install error, nothing left running. */
    nats_supercluster_t *sc = (nats_supercluster_t *)&text; /* must come back NULL */
    EXPECT_ERROR(NATS_SERVER_INSTALL, "nats-server 2.98.7",
                 nats_supercluster_run("{\"clusters\": 2, \"nodes\": 1, \"versions\": [\"\", \"2.98.7\"]}", &sc, &err));
    CHECK(sc == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "`versions` has 1 entries for 2 clusters",
                 nats_supercluster_run("{\"clusters\": 2, \"versions\": [\"2.14\"]}", &sc, &err));
    CHECK(strcmp(nats_server_status_name(NATS_SERVER_INSTALL), "NATS_SERVER_INSTALL") == 0);
    unsetenv("NATS_SERVER_CACHE");
    unsetenv("NATS_SERVER_SOURCES");
    unsetenv("NATS_SERVER_RELEASES_URL");
    rmdir(dir);
}

int main(void) {
    RUN(test_missing_binary);
    RUN(test_missing_config_file);
    RUN(test_malformed_config_file);
    RUN(test_unknown_and_ill_typed_fields_are_named);
    RUN(test_null_arguments);
    RUN(test_invalid_utf8);
    RUN(test_stopped_server);
    RUN(test_running_server_errors);
    RUN(test_keep_names);
    RUN(test_install_errors);
    return summary();
}
