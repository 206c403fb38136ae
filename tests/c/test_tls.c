/* TLS through the C ABI with the real NATS C client (Debian's libnats-dev, built with OpenSSL): a server with
 * generated certificates verified against its CA, mTLS with and without the generated client certificate, a TLS
 * cluster a client fails over in, a TLS leaf connection, and bad TLS options. (This libnats has no TLS-handshake-first option: that case
 * is tested in Rust, Python and Go.) */
#define _DEFAULT_SOURCE /* usleep under -std=c11 */
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include <nats/nats.h>

#include "check.h"

static atomic_int reconnections = 0;

static void on_reconnected(natsConnection *nc, void *closure) {
    (void)nc;
    (void)closure;
    atomic_fetch_add(&reconnections, 1);
}

/* Connects over TLS to `count` URLs, trusting exactly `ca`, presenting `cert`/`key` when given. */
static natsStatus connect_tls(natsConnection **nc, const char **urls, int count, const char *ca, const char *cert,
                              const char *key, bool reconnect) {
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetServers(opts, urls, count);
    if (s == NATS_OK) s = natsOptions_SetSecure(opts, true);
    if (s == NATS_OK) s = natsOptions_LoadCATrustedCertificates(opts, ca);
    if (s == NATS_OK && cert != NULL) s = natsOptions_LoadCertificatesChain(opts, cert, key);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 10000); /* TLS handshakes are slow under valgrind */
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, reconnect);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, 20);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 50);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_reconnected, NULL);
    if (s == NATS_OK) s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    return s;
}

static void round_trip(natsConnection *nc) {
    natsSubscription *sub = NULL;
    natsMsg *msg = NULL;
    NATS_OK(natsConnection_SubscribeSync(&sub, nc, "tls.c"));
    NATS_OK(natsConnection_PublishString(nc, "tls.c", "secure"));
    NATS_OK(natsSubscription_NextMsg(&msg, sub, 5000));
    CHECK(natsMsg_GetDataLength(msg) == 6);
cleanup:
    natsMsg_Destroy(msg);
    natsSubscription_Destroy(sub);
}

static void test_tls_verifies_against_the_generated_ca(void) {
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    char *url = NULL, *ca = NULL, *cert = (char *)0x1, *dir = NULL;
    bool tls = false;

    REQUIRE_OK(nats_server_run("{\"tls\": true}", &server, &err));
    EXPECT_OK(nats_server_tls_required(server, &tls, &err));
    CHECK(tls);
    EXPECT_OK(nats_server_client_url(server, &url, &err));
    CHECK_STR_CONTAINS(url, "tls://localhost:");
    EXPECT_OK(nats_server_ca_file(server, &ca, &err));
    EXPECT_OK(nats_server_dir(server, &dir, &err));
    CHECK(ca != NULL && dir != NULL && strncmp(ca, dir, strlen(dir)) == 0);
    /* Without tls.verify there is still a client certificate (the server simply does not ask for it). */
    EXPECT_OK(nats_server_client_cert_file(server, &cert, &err));
    CHECK(cert != NULL && access(cert, R_OK) == 0);

    const char *urls[] = {url};
    NATS_OK(connect_tls(&nc, urls, 1, ca, NULL, NULL, false));
    round_trip(nc);
cleanup:
    natsConnection_Destroy(nc);
    EXPECT_OK(nats_server_free(server));
    nats_server_string_free(url);
    nats_server_string_free(ca);
    nats_server_string_free(cert);
    nats_server_string_free(dir);
}

static void test_mtls_with_and_without_a_client_certificate(void) {
    nats_server_t *server = NULL;
    natsConnection *nc = NULL;
    char *url = NULL, *ca = NULL, *cert = NULL, *key = NULL;

    REQUIRE_OK(nats_server_run("{\"tls\": {\"verify\": true}}", &server, &err));
    EXPECT_OK(nats_server_client_url(server, &url, &err));
    EXPECT_OK(nats_server_ca_file(server, &ca, &err));
    EXPECT_OK(nats_server_client_cert_file(server, &cert, &err));
    EXPECT_OK(nats_server_client_key_file(server, &key, &err));
    const char *urls[] = {url};

    natsStatus refused = connect_tls(&nc, urls, 1, ca, NULL, NULL, false);
    CHECK(refused != NATS_OK);
    CHECK(nc == NULL);

    NATS_OK(connect_tls(&nc, urls, 1, ca, cert, key, false));
    round_trip(nc);
cleanup:
    natsConnection_Destroy(nc);

    EXPECT_OK(nats_server_free(server));
    nats_server_string_free(url);
    nats_server_string_free(ca);
    nats_server_string_free(cert);
    nats_server_string_free(key);
}

static void test_a_client_fails_over_in_a_tls_cluster(void) {
    nats_cluster_t *cluster = NULL;
    nats_server_t *node = NULL;
    natsConnection *nc = NULL;
    char *urls_text = NULL, *ca = NULL;
    const char *urls[3];

    REQUIRE_OK(nats_cluster_run("{\"nodes\": 3, \"server\": {\"tls\": {\"routes\": true}}}", &cluster, &err));
    EXPECT_OK(nats_cluster_node(cluster, 0, &node, &err));
    EXPECT_OK(nats_server_ca_file(node, &ca, &err));
    EXPECT_OK(nats_cluster_client_urls(cluster, &urls_text, &err));
    REQUIRE(urls_text != NULL && ca != NULL);
    char *save = NULL;
    int count = 0;
    for (char *u = strtok_r(urls_text, ",", &save); u && count < 3; u = strtok_r(NULL, ",", &save)) urls[count++] = u;
    CHECK(count == 3);

    atomic_store(&reconnections, 0);
    char before[256] = {0}, after[256] = {0};
    size_t killed = 99;
    NATS_OK(connect_tls(&nc, urls, count, ca, NULL, NULL, true));
    round_trip(nc);
    NATS_OK(natsConnection_GetConnectedUrl(nc, before, sizeof before));
    for (size_t i = 0; i < 3; i++) {
        nats_server_t *n = NULL;
        uint16_t port = 0;
        char suffix[16];
        EXPECT_OK(nats_cluster_node(cluster, i, &n, &err));
        EXPECT_OK(nats_server_client_port(n, &port, &err));
        snprintf(suffix, sizeof suffix, ":%u", port);
        size_t len = strlen(before), slen = strlen(suffix);
        if (len >= slen && strcmp(before + len - slen, suffix) == 0) killed = i;
    }
    CHECK(killed < 3);
    if (killed < 3) {
        EXPECT_OK(nats_cluster_kill_node(cluster, killed, &err));
        /* Wait (bounded) for the reconnection: the client verifies the next node against the same CA. */
        for (int waited = 0; atomic_load(&reconnections) == 0 && waited < 1500; waited++) usleep(10 * 1000);
        CHECK(atomic_load(&reconnections) == 1);
        NATS_OK(natsConnection_GetConnectedUrl(nc, after, sizeof after));
        CHECK(strcmp(after, before) != 0);
        round_trip(nc);
    }
cleanup:
    natsConnection_Destroy(nc);
    EXPECT_OK(nats_cluster_free(cluster));
    nats_server_string_free(urls_text);
    nats_server_string_free(ca);
}

static void test_bad_tls_options_are_clear_errors(void) {
    nats_server_t *server = (nats_server_t *)0x1;
    char *path = (char *)0x1;

    EXPECT_ERROR(NATS_SERVER_CONFIG, "/nonexistent/cert.pem",
                 nats_server_run("{\"tls\": {\"cert_file\": \"/nonexistent/cert.pem\", "
                                   "\"key_file\": \"/nonexistent/key.pem\"}}",
                                   &server, &err));
    CHECK(server == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "websocket: true",
                 nats_server_run("{\"tls\": {\"websocket\": true}}", &server, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "verfy", nats_server_run("{\"tls\": {\"verfy\": true}}", &server, &err));

    /* A key that does not match its certificate: the generated server certificate with the client key. */
    nats_server_t *donor = NULL;
    char *dir = NULL, *key = NULL, json[8192];
    REQUIRE_OK(nats_server_run("{\"tls\": true}", &donor, &err));
    EXPECT_OK(nats_server_dir(donor, &dir, &err));
    EXPECT_OK(nats_server_client_key_file(donor, &key, &err));
    snprintf(json, sizeof json, "{\"tls\": {\"cert_file\": \"%s/tls/server-cert.pem\", \"key_file\": \"%s\"}}", dir, key);
    EXPECT_ERROR(NATS_SERVER_CONFIG, "private key does not match public key", nats_server_run(json, &server, &err));
    CHECK(server == NULL);

    /* A plain server has no TLS files: unavailable, with the reason. */
    nats_server_t *plain = NULL;
    REQUIRE_OK(nats_server_run(NULL, &plain, &err));
    EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "no `tls` option", nats_server_ca_file(plain, &path, &err));
    CHECK(path == NULL);
    EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "client key", nats_server_client_key_file(plain, &path, &err));
    EXPECT_STATUS(NATS_SERVER_NULL_ARGUMENT, nats_server_ca_file(NULL, &path, &err));
    EXPECT_STATUS(NATS_SERVER_NULL_ARGUMENT, nats_server_client_cert_file(plain, NULL, &err));
    EXPECT_OK(nats_server_free(plain));
    EXPECT_OK(nats_server_free(donor));
    nats_server_string_free(dir);
    nats_server_string_free(key);
}

/* A TLS leaf connection, from the options JSON alone: the hub's leaf listener and the leaf's remote share the
 * process's CA. A nats.c client on the hub receives what a nats.c client on the leaf publishes. */
static void test_a_message_crosses_a_tls_leaf_connection(void) {
    nats_server_t *hub = NULL, *leaf = NULL;
    natsConnection *on_hub = NULL, *on_leaf = NULL;
    natsSubscription *sub = NULL;
    natsMsg *msg = NULL;
    char *leaf_url = NULL, *hub_url = NULL, *url = NULL, *ca = NULL, json[1024];

    REQUIRE_OK(nats_server_run("{\"leafnodes\": true, \"tls\": {\"leafnodes\": true}}", &hub, &err));
    EXPECT_OK(nats_server_leafnode_url(hub, &leaf_url, &err));
    REQUIRE(leaf_url != NULL);
    snprintf(json, sizeof json, "{\"leaf_remotes\": [{\"urls\": [\"%s\"]}], \"tls\": {\"leafnodes\": true}}", leaf_url);
    REQUIRE_OK(nats_server_run(json, &leaf, &err));
    EXPECT_OK(nats_server_wait_for_leaf_connections(hub, 1, 10000, &err));
    EXPECT_OK(nats_server_ca_file(hub, &ca, &err));
    EXPECT_OK(nats_server_client_url(hub, &hub_url, &err));
    EXPECT_OK(nats_server_client_url(leaf, &url, &err));
    const char *hub_urls[] = {hub_url}, *leaf_urls[] = {url};
    NATS_OK(connect_tls(&on_hub, hub_urls, 1, ca, NULL, NULL, false));
    NATS_OK(connect_tls(&on_leaf, leaf_urls, 1, ca, NULL, NULL, false));
    NATS_OK(natsConnection_SubscribeSync(&sub, on_hub, "from.leaf"));
    NATS_OK(natsConnection_Flush(on_hub));
    /* Interest crosses the leaf connection asynchronously: publish until it arrives (bounded). */
    natsStatus got = NATS_TIMEOUT;
    for (int i = 0; i < 100 && got != NATS_OK; i++) {
        NATS_OK(natsConnection_PublishString(on_leaf, "from.leaf", "over tls"));
        NATS_OK(natsConnection_Flush(on_leaf));
        got = natsSubscription_NextMsg(&msg, sub, 100);
    }
    CHECK(got == NATS_OK);
    CHECK(msg != NULL && natsMsg_GetDataLength(msg) == 8);
cleanup:
    natsMsg_Destroy(msg);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(on_leaf);
    natsConnection_Destroy(on_hub);
    EXPECT_OK(nats_server_free(leaf));
    EXPECT_OK(nats_server_free(hub));
    nats_server_string_free(leaf_url);
    nats_server_string_free(hub_url);
    nats_server_string_free(url);
    nats_server_string_free(ca);
}

int main(void) {
    RUN(test_tls_verifies_against_the_generated_ca);
    RUN(test_mtls_with_and_without_a_client_certificate);
    RUN(test_a_client_fails_over_in_a_tls_cluster);
    RUN(test_bad_tls_options_are_clear_errors);
    RUN(test_a_message_crosses_a_tls_leaf_connection);
    nats_CloseAndWait(0);
    return summary();
}
