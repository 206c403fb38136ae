/* Superclusters and leaf nodes through the C ABI, with the real C client: a message crosses a gateway, a leaf and
 * its hub exchange messages both ways, and bad shapes fail by name with nothing left running. */
#define _DEFAULT_SOURCE /* snprintf, usleep under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "check.h"

/* Publishes `subject` on `pub` until `sub` receives it (interest crosses gateways and leaf connections
 * asynchronously); at most 200 tries of 100 ms. Returns whether it arrived. */
static bool publish_until_received(natsConnection *pub, natsSubscription *sub, const char *subject) {
    for (int i = 0; i < 200; i++) {
        natsMsg *msg = NULL;
        if (natsConnection_PublishString(pub, subject, "hello") != NATS_OK) return false;
        natsConnection_Flush(pub);
        if (natsSubscription_NextMsg(&msg, sub, 100) == NATS_OK) {
            bool ok = strcmp(natsMsg_GetData(msg), "hello") == 0;
            natsMsg_Destroy(msg);
            return ok;
        }
    }
    return false;
}

static void test_a_message_crosses_the_gateway(void) {
    nats_supercluster_t *sc = NULL;
    nats_server_t *a = NULL, *b = NULL, *beyond = (nats_server_t *)0x1;
    natsConnection *na = NULL, *nb = NULL;
    natsSubscription *sub = NULL;
    char *url_a = NULL, *url_b = NULL, *name = NULL, *json = NULL, *gw = NULL;
    size_t clusters = 0, nodes = 0;

    REQUIRE_OK(nats_supercluster_run("{\"clusters\": 2, \"nodes\": 2, \"names\": [\"east\", \"west\"]}", &sc, &err));
    EXPECT_OK(nats_supercluster_len(sc, &clusters, &err));
    CHECK(clusters == 2);
    EXPECT_OK(nats_supercluster_cluster_len(sc, 1, &nodes, &err));
    CHECK(nodes == 2);
    EXPECT_OK(nats_supercluster_cluster_name(sc, 1, &name, &err));
    CHECK(name != NULL && strcmp(name, "west") == 0);
    EXPECT_OK(nats_supercluster_client_urls_json(sc, &json, &err));
    CHECK_STR_CONTAINS(json, "[[\"nats://localhost:");
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "cluster index 2 is out of range",
                 nats_supercluster_node(sc, 2, 0, &beyond, &err));
    CHECK(beyond == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "node index 5", nats_supercluster_kill_node(sc, 0, 5, &err));
    EXPECT_OK(nats_supercluster_node(sc, 0, 1, &a, &err));
    EXPECT_OK(nats_supercluster_node(sc, 1, 0, &b, &err));
    REQUIRE(a != NULL && b != NULL);
    CHECK(nats_server_free(a) == NATS_SERVER_BORROWED_HANDLE);
    EXPECT_OK(nats_server_gateway_url(b, &gw, &err));
    CHECK_STR_CONTAINS(gw, "nats://127.0.0.1:");
    /* A node restarted is back in the supercluster (gateways again) when the call returns. */
    EXPECT_OK(nats_supercluster_restart_node(sc, 1, 0, &err));
    EXPECT_OK(nats_server_client_url(a, &url_a, &err));
    EXPECT_OK(nats_server_client_url(b, &url_b, &err));
    NATS_OK(natsConnection_ConnectTo(&na, url_a));
    NATS_OK(natsConnection_ConnectTo(&nb, url_b));
    NATS_OK(natsConnection_SubscribeSync(&sub, na, "across"));
    NATS_OK(natsConnection_Flush(na));
    CHECK(publish_until_received(nb, sub, "across"));
cleanup:
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(na);
    natsConnection_Destroy(nb);
    nats_server_string_free(url_a);
    nats_server_string_free(url_b);
    nats_server_string_free(name);
    nats_server_string_free(json);
    nats_server_string_free(gw);
    CHECK(nats_supercluster_free(sc) == NATS_SERVER_OK);
}

static void test_a_leaf_and_its_hub_exchange_messages(void) {
    nats_server_t *hub = NULL, *leaf = NULL;
    natsConnection *nh = NULL, *nl = NULL;
    natsSubscription *at_hub = NULL, *at_leaf = NULL;
    char *leaf_url = NULL, *hub_client = NULL, *leaf_client = NULL;
    char opts[512];
    size_t count = 0;

    REQUIRE_OK(nats_server_run("{\"leafnodes\": true}", &hub, &err));
    EXPECT_OK(nats_server_leafnode_url(hub, &leaf_url, &err));
    REQUIRE(leaf_url != NULL);
    snprintf(opts, sizeof opts, "{\"leaf_remotes\": [{\"urls\": [\"%s\"]}]}", leaf_url);
    EXPECT_OK(nats_server_run(opts, &leaf, &err));
    REQUIRE(leaf != NULL);
    EXPECT_OK(nats_server_wait_for_leaf_connections(hub, 1, 10000, &err));
    EXPECT_OK(nats_server_leaf_connections(hub, &count, &err));
    CHECK(count == 1);
    EXPECT_OK(nats_server_client_url(hub, &hub_client, &err));
    EXPECT_OK(nats_server_client_url(leaf, &leaf_client, &err));
    NATS_OK(natsConnection_ConnectTo(&nh, hub_client));
    NATS_OK(natsConnection_ConnectTo(&nl, leaf_client));
    NATS_OK(natsConnection_SubscribeSync(&at_hub, nh, "up"));
    NATS_OK(natsConnection_Flush(nh));
    CHECK(publish_until_received(nl, at_hub, "up"));
    NATS_OK(natsConnection_SubscribeSync(&at_leaf, nl, "down"));
    NATS_OK(natsConnection_Flush(nl));
    CHECK(publish_until_received(nh, at_leaf, "down"));
    /* The hub restarts; the leaf comes back and messages flow again. */
    natsSubscription_Destroy(at_hub);
    at_hub = NULL;
    natsConnection_Destroy(nh);
    nh = NULL;
    EXPECT_OK(nats_server_restart(hub, &err));
    EXPECT_OK(nats_server_wait_for_leaf_connections(hub, 1, 20000, &err));
    NATS_OK(natsConnection_ConnectTo(&nh, hub_client));
    NATS_OK(natsConnection_SubscribeSync(&at_hub, nh, "again"));
    NATS_OK(natsConnection_Flush(nh));
    CHECK(publish_until_received(nl, at_hub, "again"));
cleanup:
    natsSubscription_Destroy(at_hub);
    natsSubscription_Destroy(at_leaf);
    natsConnection_Destroy(nh);
    natsConnection_Destroy(nl);
    nats_server_string_free(leaf_url);
    nats_server_string_free(hub_client);
    nats_server_string_free(leaf_client);
    nats_server_free(leaf);
    nats_server_free(hub);
}

static void test_bad_topologies_fail_by_name(void) {
    nats_supercluster_t *sc = (nats_supercluster_t *)0x1;
    nats_server_t *hub = NULL, *leaf = (nats_server_t *)0x1;
    char *leaf_url = NULL;
    char opts[512];

    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "`clusters` must be at least 1",
                 nats_supercluster_run("{\"clusters\": 0}", &sc, &err));
    CHECK(sc == NULL);
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "sets a `gateway` block",
                 nats_supercluster_run("{\"server\": {\"config\": \"gateway {\\n name: x\\n}\"}}", &sc, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_OPTIONS, "clustrs", nats_supercluster_run("{\"clustrs\": 2}", &sc, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "out", nats_supercluster_run(NULL, NULL, &err));
    CHECK(nats_supercluster_free(NULL) == NATS_SERVER_OK);
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "supercluster", nats_supercluster_kill_node(NULL, 0, 0, &err));

    /* A leaf whose hub is gone fails at once, naming the hub. */
    REQUIRE_OK(nats_server_run("{\"leafnodes\": true}", &hub, &err));
    EXPECT_OK(nats_server_leafnode_url(hub, &leaf_url, &err));
    EXPECT_OK(nats_server_stop(hub, &err));
    snprintf(opts, sizeof opts, "{\"leaf_remotes\": [{\"urls\": [\"%s\"]}]}", leaf_url ? leaf_url : "");
    EXPECT_ERROR(NATS_SERVER_CONFIG, "cannot reach its hub", nats_server_run(opts, &leaf, &err));
    CHECK(leaf == NULL);
    nats_server_string_free(leaf_url);
    nats_server_free(hub);
}

int main(void) {
    RUN(test_a_message_crosses_the_gateway);
    RUN(test_a_leaf_and_its_hub_exchange_messages);
    RUN(test_bad_topologies_fail_by_name);
    nats_CloseAndWait(0);
    return summary();
}
