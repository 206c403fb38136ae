/* The fault proxy through the C ABI, with the real NATS C client: latency on the client link, a reset the client
 * recovers from, bad input, and cluster partitions. */
#define _DEFAULT_SOURCE /* usleep, clock_gettime under -std=c11 */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "check.h"

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void echo(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)sub;
    (void)closure;
    natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

static natsStatus connect_to(natsConnection **nc, const char *url) {
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 20);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 10000); /* the proxy under valgrind is slow */
    if (s == NATS_OK) s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    return s;
}

static void test_request_under_latency(void) {
    nats_server_t *server = NULL;
    natsConnection *responder = NULL, *client = NULL;
    natsSubscription *sub = NULL;
    natsMsg *reply = NULL;
    char *direct = NULL, *proxied = NULL;

    REQUIRE_OK(nats_server_run("{\"client_proxy\": true}", &server, &err));
    EXPECT_OK(nats_server_client_url(server, &direct, &err));
    EXPECT_OK(nats_server_proxied_url(server, &proxied, &err));
    REQUIRE(direct != NULL && proxied != NULL && strcmp(direct, proxied) != 0);
    NATS_OK(connect_to(&responder, direct));
    NATS_OK(natsConnection_Subscribe(&sub, responder, "echo", echo, NULL));
    NATS_OK(natsConnection_Flush(responder));
    NATS_OK(connect_to(&client, proxied));
    EXPECT_OK(nats_server_fault_add(
        server, "{\"type\":\"latency\",\"stream\":\"upstream\",\"attributes\":{\"latency\":50}}", &err));
    EXPECT_OK(nats_server_fault_add(
        server, "{\"type\":\"latency\",\"stream\":\"downstream\",\"attributes\":{\"latency\":50}}", &err));
    int64_t started = now_ms();
    NATS_OK(natsConnection_RequestString(&reply, client, "echo", "slow", 5000));
    int64_t took = now_ms() - started;
    fprintf(stderr, "    request with 50 ms latency each way took %lld ms\n", (long long)took);
    CHECK(took >= 100);
    EXPECT_OK(nats_server_fault_remove(server, NULL, &err));
cleanup:
    natsMsg_Destroy(reply);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(client);
    natsConnection_Destroy(responder);
    nats_server_string_free(direct);
    nats_server_string_free(proxied);
    EXPECT_OK(nats_server_free(server));
}

static bool wait_status(natsConnection *nc, bool connected, int64_t within_ms) {
    int64_t deadline = now_ms() + within_ms;
    while (now_ms() < deadline) {
        if ((natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED) == connected) return true;
        usleep(10 * 1000);
    }
    return false;
}

static void test_reconnect_after_reset_peer(void) {
    nats_server_t *server = NULL;
    natsConnection *client = NULL, *publisher = NULL;
    natsSubscription *sub = NULL;
    natsMsg *msg = NULL;
    char *direct = NULL, *proxied = NULL;

    REQUIRE_OK(nats_server_run("{\"client_proxy\": true}", &server, &err));
    EXPECT_OK(nats_server_client_url(server, &direct, &err));
    EXPECT_OK(nats_server_proxied_url(server, &proxied, &err));
    NATS_OK(connect_to(&client, proxied));
    NATS_OK(natsConnection_SubscribeSync(&sub, client, "after.reset"));
    NATS_OK(natsConnection_Flush(client));
    EXPECT_OK(nats_server_fault_add(server, "{\"type\":\"reset_peer\",\"attributes\":{\"timeout\":0}}", &err));
    /* While the fault stays, every connection is reset: the client stays disconnected. */
    CHECK(wait_status(client, false, 10000));
    EXPECT_OK(nats_server_fault_remove(server, "reset_peer_downstream", &err));
    CHECK(wait_status(client, true, 10000));
    NATS_OK(connect_to(&publisher, direct));
    /* The resubscription may still be on its way: publish until it arrives. */
    for (int i = 0; i < 100 && msg == NULL; i++) {
        NATS_OK(natsConnection_PublishString(publisher, "after.reset", "again"));
        NATS_OK(natsConnection_Flush(publisher));
        natsSubscription_NextMsg(&msg, sub, 100);
    }
    CHECK(msg != NULL);
cleanup:
    natsMsg_Destroy(msg);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(client);
    natsConnection_Destroy(publisher);
    nats_server_string_free(direct);
    nats_server_string_free(proxied);
    EXPECT_OK(nats_server_free(server));
}

static void test_bad_faults(void) {
    nats_server_t *server = NULL, *plain = NULL;
    char *url = NULL;
    REQUIRE_OK(nats_server_run("{\"client_proxy\": true}", &server, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "cannot be negative",
                 nats_server_fault_add(server, "{\"type\":\"latency\",\"attributes\":{\"latency\":-5}}", &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "absurd",
                 nats_server_fault_add(server, "{\"type\":\"timeout\",\"attributes\":{\"timeout\":99999999}}", &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "toxicity",
                 nats_server_fault_add(server, "{\"type\":\"bandwidth\",\"toxicity\":2,\"attributes\":{\"rate\":1}}", &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "unknown variant",
                 nats_server_fault_add(server, "{\"type\":\"lag\"}", &err));
    EXPECT_STATUS(NATS_SERVER_NULL_ARGUMENT, nats_server_fault_add(server, NULL, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "no fault named", nats_server_fault_remove(server, "nope", &err));
    EXPECT_OK(nats_server_link_set_up(server, false, &err));
    EXPECT_OK(nats_server_link_set_up(server, true, &err));
    REQUIRE_OK(nats_server_run(NULL, &plain, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "client_proxy", nats_server_proxied_url(plain, &url, &err));
    CHECK(url == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "client_proxy",
                 nats_server_fault_add(plain, "{\"type\":\"bandwidth\",\"attributes\":{\"rate\":1}}", &err));
    EXPECT_OK(nats_server_free(plain));
    EXPECT_OK(nats_server_free(server));
}

static void test_partition_and_heal(void) {
    nats_cluster_t *cluster = NULL, *plain = NULL;
    REQUIRE_OK(nats_cluster_run("{\"nodes\": 3, \"route_proxies\": true}", &cluster, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "node index 5", nats_cluster_partition(cluster, "[[0],[1,5]]", &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "more than once", nats_cluster_partition(cluster, "[[0,1],[1]]", &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "array of arrays", nats_cluster_partition(cluster, "[0]", &err));
    EXPECT_STATUS(NATS_SERVER_NULL_ARGUMENT, nats_cluster_partition(cluster, NULL, &err));
    EXPECT_OK(nats_cluster_partition(cluster, "[[0],[1,2]]", &err));
    EXPECT_OK(nats_cluster_heal(cluster, &err));
    EXPECT_OK(nats_cluster_wait_ready(cluster, 30000, &err));
    EXPECT_OK(nats_cluster_route_fault_add(cluster, 0, 1, "{\"type\":\"latency\",\"attributes\":{\"latency\":1}}", &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "out of range",
                 nats_cluster_route_fault_add(cluster, 0, 3, "{\"type\":\"latency\"}", &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "itself",
                 nats_cluster_route_fault_add(cluster, 1, 1, "{\"type\":\"latency\",\"attributes\":{}}", &err));
    EXPECT_OK(nats_cluster_route_fault_remove(cluster, 0, 1, NULL, &err));
    REQUIRE_OK(nats_cluster_run("{\"nodes\": 2}", &plain, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "route_proxies", nats_cluster_partition(plain, "[[0],[1]]", &err));
    EXPECT_OK(nats_cluster_free(plain));
    EXPECT_OK(nats_cluster_free(cluster));
}

int main(void) {
    RUN(test_request_under_latency);
    RUN(test_reconnect_after_reset_peer);
    RUN(test_bad_faults);
    RUN(test_partition_and_heal);
    nats_CloseAndWait(0);
    return summary();
}
