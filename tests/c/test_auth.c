/* Authentication through the C ABI with the real NATS C client (Debian's libnats-dev): an nkey user, operator
 * mode with creds files and JetStream per account, a permissions violation, no_auth_user, an import/export
 * between accounts, and bad names. */
#define _DEFAULT_SOURCE
#include <sys/stat.h>

#include <nats/nats.h>

#include "check.h"

/* Options for one connection: no reconnects, a short timeout. The caller sets credentials and destroys it. */
static natsOptions *client_options(nats_server_t *server) {
    natsOptions *opts = NULL;
    char *url = NULL;
    if (natsOptions_Create(&opts) != NATS_OK) return NULL;
    if (nats_server_client_url(server, &url, NULL) == NATS_SERVER_OK) natsOptions_SetURL(opts, url);
    nats_server_string_free(url);
    natsOptions_SetAllowReconnect(opts, false);
    natsOptions_SetTimeout(opts, 2000);
    return opts;
}

/* Connects with the creds file of `user` in `account`. */
static natsStatus connect_creds(natsConnection **nc, nats_server_t *server, const char *account, const char *user) {
    char *creds = NULL;
    if (nats_server_creds(server, account, user, &creds, NULL) != NATS_SERVER_OK) return NATS_ERR;
    natsOptions *opts = client_options(server);
    natsStatus s = natsOptions_SetUserCredentialsFromFiles(opts, creds, NULL);
    if (s == NATS_OK) s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    nats_server_string_free(creds);
    return s;
}

static natsStatus connect_user(natsConnection **nc, nats_server_t *server, const char *user, const char *pass) {
    natsOptions *opts = client_options(server);
    natsStatus s = user ? natsOptions_SetUserInfo(opts, user, pass) : NATS_OK;
    if (s == NATS_OK) s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    return s;
}

static void test_nkey_user_connects(void) {
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    natsOptions *opts = NULL;
    char *seed = NULL, *file = NULL, *public_key = NULL;
    REQUIRE_OK(nats_server_run("{\"users\": [{\"user\": \"alice\", \"nkey\": true}]}", &server, &err));
    EXPECT_OK(nats_server_nkey_seed(server, "alice", &seed, &err));
    CHECK(seed != NULL && strncmp(seed, "SU", 2) == 0);
    EXPECT_OK(nats_server_seed_file(server, "alice", &file, &err));
    EXPECT_OK(nats_server_nkey_public_key(server, "alice", &public_key, &err));
    REQUIRE(file != NULL && public_key != NULL);
    struct stat st;
    CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600);

    opts = client_options(server);
    NATS_OK(natsOptions_SetNKeyFromSeed(opts, public_key, file));
    NATS_OK(natsConnection_Connect(&nc, opts));
    NATS_OK(natsConnection_Flush(nc));
    natsConnection_Destroy(nc);
    nc = NULL;
    /* Without the key: refused. */
    CHECK(connect_user(&nc, server, NULL, NULL) != NATS_OK);
cleanup:
    natsConnection_Destroy(nc);
    natsOptions_Destroy(opts);
    nats_server_string_free(seed);
    nats_server_string_free(file);
    nats_server_string_free(public_key);
    EXPECT_OK(nats_server_free(server));
}

static void test_operator_mode_jetstream_per_account(void) {
    nats_server_t *server = NULL;
    natsConnection *a = NULL, *b = NULL;
    jsCtx *js_a = NULL, *js_b = NULL;
    jsStreamInfo *si = NULL;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    jsStreamConfig cfg;
    const char *subjects[] = {"orders.>"};
    REQUIRE_OK(nats_server_run(
        "{\"jetstream\": true, \"operator\": true, \"accounts\": {"
        "\"A\": {\"jetstream\": true, \"users\": [{\"user\": \"a\"}]},"
        "\"B\": {\"jetstream\": true, \"users\": [{\"user\": \"b\"}]}}}",
        &server, &err));
    NATS_OK(connect_creds(&a, server, "A", "a"));
    NATS_OK(natsConnection_JetStream(&js_a, a, NULL));
    jsStreamConfig_Init(&cfg);
    cfg.Name = "ORDERS";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    NATS_OK(js_AddStream(&si, js_a, &cfg, NULL, &jerr));
    jsStreamInfo_Destroy(si);
    si = NULL;
    NATS_OK(js_Publish(&ack, js_a, "orders.1", "one", 3, NULL, &jerr));
    CHECK(ack != NULL && strcmp(ack->Stream, "ORDERS") == 0);

    NATS_OK(connect_creds(&b, server, "B", "b"));
    NATS_OK(natsConnection_JetStream(&js_b, b, NULL));
    CHECK(js_GetStreamInfo(&si, js_b, "ORDERS", NULL, &jerr) == NATS_NOT_FOUND);
cleanup:
    jsPubAck_Destroy(ack);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js_a);
    jsCtx_Destroy(js_b);
    natsConnection_Destroy(a);
    natsConnection_Destroy(b);
    EXPECT_OK(nats_server_free(server));
}

static void test_permission_denied(void) {
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    const char *text = NULL;
    REQUIRE_OK(nats_server_run(
        "{\"users\": [{\"user\": \"u\", \"password\": \"p\","
        " \"permissions\": {\"publish\": {\"deny\": [\"secret.>\"]}}}]}",
        &server, &err));
    NATS_OK(connect_user(&nc, server, "u", "p"));
    NATS_OK(natsConnection_PublishString(nc, "open", "ok"));
    NATS_OK(natsConnection_Flush(nc));
    CHECK(natsConnection_GetLastError(nc, &text) == NATS_OK);
    natsConnection_PublishString(nc, "secret.x", "no");
    /* The server's -ERR comes before the PONG that ends the flush. */
    natsConnection_Flush(nc);
    CHECK(natsConnection_GetLastError(nc, &text) == NATS_NOT_PERMITTED);
    CHECK_STR_CONTAINS(text, "secret.x");
cleanup:
    natsConnection_Destroy(nc);
    EXPECT_OK(nats_server_free(server));
}

static void test_no_auth_user_and_imports(void) {
    nats_server_t *server = NULL;
    natsConnection *anon = NULL, *b = NULL;
    natsSubscription *sub = NULL;
    natsMsg *msg = NULL;
    REQUIRE_OK(nats_server_run(
        "{\"accounts\": {"
        "\"A\": {\"users\": [{\"user\": \"guest\", \"password\": \"g\"}], \"exports\": [{\"stream\": \"events.>\"}]},"
        "\"B\": {\"users\": [{\"user\": \"b\", \"password\": \"p\"}],"
        "        \"imports\": [{\"stream\": \"events.>\", \"account\": \"A\", \"to\": \"a.events.>\"}]}},"
        " \"no_auth_user\": \"guest\"}",
        &server, &err));
    NATS_OK(connect_user(&b, server, "b", "p"));
    NATS_OK(natsConnection_SubscribeSync(&sub, b, "a.events.>"));
    NATS_OK(natsConnection_Flush(b));
    /* No credentials: the client is "guest" of account A, whose export reaches B. */
    NATS_OK(connect_user(&anon, server, NULL, NULL));
    NATS_OK(natsConnection_PublishString(anon, "events.1", "e1"));
    NATS_OK(natsConnection_Flush(anon));
    NATS_OK(natsSubscription_NextMsg(&msg, sub, 5000));
    CHECK(strcmp(natsMsg_GetSubject(msg), "a.events.1") == 0);
cleanup:
    natsMsg_Destroy(msg);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(anon);
    natsConnection_Destroy(b);
    EXPECT_OK(nats_server_free(server));
}

static void test_bad_names(void) {
    nats_server_t *server = NULL;
    char *out = NULL;
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "MISSING",
                 nats_server_run("{\"accounts\": {\"B\": {\"imports\": [{\"stream\": \"s\", \"account\": "
                                   "\"MISSING\"}]}}}",
                                   &server, &err));
    CHECK(server == NULL);
    REQUIRE_OK(nats_server_run("{\"operator\": true, \"accounts\": {\"A\": {\"users\": [{\"user\": \"a\"}]}}}",
                                 &server, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "\"NOPE\"", nats_server_creds(server, "NOPE", "x", &out, &err));
    CHECK(out == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "\"nobody\"", nats_server_creds(server, "A", "nobody", &out, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "\"nobody\"", nats_server_nkey_seed(server, "nobody", &out, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "account", nats_server_creds(server, NULL, "a", &out, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_UTF8, "user", nats_server_seed_file(server, "\xff", &out, &err));
    EXPECT_OK(nats_server_auth_json(server, &out, &err));
    CHECK_STR_CONTAINS(out, "\"operator\":\"O");
    CHECK(out != NULL && strstr(out, "SU") == NULL); /* no seeds */
    nats_server_string_free(out);
    EXPECT_OK(nats_server_free(server));
}

int main(void) {
    RUN(test_nkey_user_connects);
    RUN(test_operator_mode_jetstream_per_account);
    RUN(test_permission_denied);
    RUN(test_no_auth_user_and_imports);
    RUN(test_bad_names);
    nats_CloseAndWait(0);
    return summary();
}
