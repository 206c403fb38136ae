/* Superclusters, leaf nodes and MQTT through the C ABI, with the real C client: a message crosses a gateway, a
 * queue group over two clusters gets each message once, a stream placed in cluster B from cluster A survives a node
 * kill, a leaf and its hub exchange messages both ways (also after the hub restarts), a leaf's JetStream domain
 * answers through the hub, a raw MQTT client reaches a NATS subscriber, and bad shapes fail by name with nothing
 * left running. */
#define _DEFAULT_SOURCE /* snprintf, usleep under -std=c11 */
#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

static void test_a_queue_group_over_two_clusters_gets_each_message_once(void) {
    enum { TOTAL = 200 };
    nats_supercluster_t *sc = NULL;
    nats_server_t *a = NULL, *b = NULL;
    natsConnection *na = NULL, *nb = NULL;
    natsSubscription *qa = NULL, *qb = NULL;
    char *url_a = NULL, *url_b = NULL;
    int seen[TOTAL] = {0}, from_a = 0, from_b = 0, got = 0;

    REQUIRE_OK(nats_supercluster_run("{\"clusters\": 2, \"nodes\": 2}", &sc, &err));
    EXPECT_OK(nats_supercluster_node(sc, 0, 0, &a, &err));
    EXPECT_OK(nats_supercluster_node(sc, 1, 1, &b, &err));
    EXPECT_OK(nats_server_client_url(a, &url_a, &err));
    EXPECT_OK(nats_server_client_url(b, &url_b, &err));
    REQUIRE(url_a != NULL && url_b != NULL);
    NATS_OK(natsConnection_ConnectTo(&na, url_a));
    NATS_OK(natsConnection_ConnectTo(&nb, url_b));
    NATS_OK(natsConnection_QueueSubscribeSync(&qa, na, "work", "workers"));
    NATS_OK(natsConnection_QueueSubscribeSync(&qb, nb, "work", "workers"));
    NATS_OK(natsConnection_Flush(na));
    NATS_OK(natsConnection_Flush(nb));
    /* Publishing while a cluster learns of the other's members can deliver a message in both (nats-server). */
    EXPECT_OK(nats_supercluster_wait_for_queue_interest(sc, "work", "workers", 10000, &err));
    /* A group without members is never known: a timeout naming it; a NULL subject is named. */
    EXPECT_ERROR(NATS_SERVER_TIMEOUT, "\"nobody\"",
                 nats_supercluster_wait_for_queue_interest(sc, "work", "nobody", 200, &err));
    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "subject",
                 nats_supercluster_wait_for_queue_interest(sc, NULL, "workers", 200, &err));
    for (int i = 0; i < TOTAL; i++) {
        char payload[16];
        snprintf(payload, sizeof payload, "%d", i);
        NATS_OK(natsConnection_PublishString(i % 2 == 0 ? na : nb, "work", payload));
    }
    NATS_OK(natsConnection_Flush(na));
    NATS_OK(natsConnection_Flush(nb));
    /* At most 400 rounds of 2 x 50 ms. */
    for (int round = 0; round < 400 && got < TOTAL; round++) {
        natsSubscription *subs[2] = {qa, qb};
        for (int k = 0; k < 2; k++) {
            natsMsg *msg = NULL;
            if (natsSubscription_NextMsg(&msg, subs[k], 50) != NATS_OK) continue;
            int i = atoi(natsMsg_GetData(msg));
            if (i >= 0 && i < TOTAL) seen[i]++;
            if (k == 0) from_a++; else from_b++;
            got++;
            natsMsg_Destroy(msg);
        }
    }
    CHECK(got == TOTAL);
    /* Nothing more arrives: no message was delivered twice. */
    {
        natsMsg *extra = NULL;
        CHECK(natsSubscription_NextMsg(&extra, qa, 300) == NATS_TIMEOUT);
        natsMsg_Destroy(extra);
        extra = NULL;
        CHECK(natsSubscription_NextMsg(&extra, qb, 300) == NATS_TIMEOUT);
        natsMsg_Destroy(extra);
    }
    for (int i = 0; i < TOTAL; i++) {
        if (seen[i] != 1) FAIL("message %d arrived %d times", i, seen[i]);
    }
    CHECK(from_a > 0 && from_b > 0);
cleanup:
    natsSubscription_Destroy(qa);
    natsSubscription_Destroy(qb);
    natsConnection_Destroy(na);
    natsConnection_Destroy(nb);
    nats_server_string_free(url_a);
    nats_server_string_free(url_b);
    CHECK(nats_supercluster_free(sc) == NATS_SERVER_OK);
}

static void test_a_stream_placed_in_cluster_b_survives_a_node_kill(void) {
    nats_supercluster_t *sc = NULL;
    nats_server_t *a = NULL;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    char *url = NULL, *target = NULL;
    const char *subjects[] = {"placed.>"};
    jsStreamConfig cfg;
    jsPlacement placement;
    jsPubOptions po;

    REQUIRE_OK(nats_supercluster_run("{\"clusters\": 2, \"nodes\": 3, \"server\": {\"jetstream\": true}}", &sc, &err));
    EXPECT_OK(nats_supercluster_cluster_name(sc, 1, &target, &err));
    EXPECT_OK(nats_supercluster_node(sc, 0, 0, &a, &err));
    EXPECT_OK(nats_server_client_url(a, &url, &err));
    REQUIRE(url != NULL && target != NULL);
    NATS_OK(natsConnection_ConnectTo(&nc, url));
    NATS_OK(natsConnection_JetStream(&js, nc, NULL));
    jsStreamConfig_Init(&cfg);
    jsPlacement_Init(&placement);
    placement.Cluster = target;
    cfg.Name = "PLACED";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Replicas = 3;
    cfg.Placement = &placement;
    NATS_OK(js_AddStream(&si, js, &cfg, NULL, &jerr));
    CHECK(si->Cluster != NULL && si->Cluster->Name != NULL && strcmp(si->Cluster->Name, target) == 0);
    jsStreamInfo_Destroy(si);
    si = NULL;
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "before-%d", i);
        jsPubOptions_Init(&po);
        po.MsgId = id;
        po.MaxWait = 1000;
        /* The stream's interest reaches cluster A over the gateway asynchronously ("no responders" until then):
         * retry, the message id drops a repeat (at most 30 s). */
        for (int tries = 0; tries < 300 && ack == NULL; tries++) {
            if (js_Publish(&ack, js, "placed.before", "x", 1, &po, &jerr) != NATS_OK) usleep(100 * 1000);
        }
        if (ack == NULL) {
            FAIL("the stream in cluster B takes no message from cluster A");
            goto cleanup;
        }
        jsPubAck_Destroy(ack);
        ack = NULL;
    }
    EXPECT_OK(nats_supercluster_kill_node(sc, 1, 0, &err));
    /* Two of three replicas remain: the stream takes a message once its leader is (re)elected (at most 30 s). */
    jsPubOptions_Init(&po);
    po.MsgId = "after-kill";
    po.MaxWait = 1000;
    for (int i = 0; i < 300 && si == NULL; i++) {
        if (ack == NULL && js_Publish(&ack, js, "placed.after", "y", 1, &po, &jerr) != NATS_OK) ack = NULL;
        /* The stream answers once its leader, and the meta leader if that was the killed node, are elected. */
        if (ack != NULL && js_GetStreamInfo(&si, js, "PLACED", NULL, &jerr) != NATS_OK) si = NULL;
        if (si == NULL) usleep(100 * 1000);
    }
    REQUIRE(ack != NULL && si != NULL);
    CHECK(ack->Sequence == 6);
    CHECK(si->State.Msgs == 6);
cleanup:
    jsPubAck_Destroy(ack);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_server_string_free(url);
    nats_server_string_free(target);
    CHECK(nats_supercluster_free(sc) == NATS_SERVER_OK);
}

/* Asks `$JS.<domain>.API.INFO` once, no retry; whether the answer names the domain. */
static bool domain_answers(natsConnection *nc, const char *domain) {
    char subject[128], expected[128];
    natsMsg *reply = NULL;
    snprintf(subject, sizeof subject, "$JS.%s.API.INFO", domain);
    snprintf(expected, sizeof expected, "\"domain\":\"%s\"", domain);
    if (natsConnection_RequestString(&reply, nc, subject, "", 5000) != NATS_OK) return false;
    bool ok = strstr(natsMsg_GetData(reply), expected) != NULL;
    natsMsg_Destroy(reply);
    return ok;
}

static void test_a_leaf_jetstream_domain_answers_through_the_hub(void) {
    nats_server_t *hub = NULL, *leaf = NULL;
    natsConnection *nh = NULL;
    char *leaf_url = NULL, *hub_client = NULL;
    char opts[512];

    REQUIRE_OK(nats_server_run("{\"leafnodes\": true, \"jetstream\": true, \"jetstream_domain\": \"hub\"}", &hub, &err));
    EXPECT_OK(nats_server_leafnode_url(hub, &leaf_url, &err));
    EXPECT_OK(nats_server_client_url(hub, &hub_client, &err));
    REQUIRE(leaf_url != NULL && hub_client != NULL);
    snprintf(opts, sizeof opts,
             "{\"jetstream\": true, \"jetstream_domain\": \"leafdom\", \"leaf_remotes\": [{\"urls\": [\"%s\"]}]}",
             leaf_url);
    EXPECT_OK(nats_server_run(opts, &leaf, &err));
    REQUIRE(leaf != NULL);
    EXPECT_OK(nats_server_wait_for_leaf(hub, leaf, 10000, &err));
    NATS_OK(natsConnection_ConnectTo(&nh, hub_client));
    CHECK(domain_answers(nh, "leafdom"));
    natsConnection_Destroy(nh);
    nh = NULL;
    /* After the hub restarts, nats_server_wait_for_leaf returns once the domain answers again. */
    EXPECT_OK(nats_server_restart(hub, &err));
    EXPECT_OK(nats_server_wait_for_leaf(hub, leaf, 20000, &err));
    NATS_OK(natsConnection_ConnectTo(&nh, hub_client));
    CHECK(domain_answers(nh, "leafdom"));

    EXPECT_ERROR(NATS_SERVER_NULL_ARGUMENT, "server", nats_server_wait_for_leaf(hub, NULL, 1000, &err));
cleanup:
    natsConnection_Destroy(nh);
    nats_server_string_free(leaf_url);
    nats_server_string_free(hub_client);
    nats_server_free(leaf);
    nats_server_free(hub);
}

/* A raw MQTT 3.1.1 client: CONNECT (clean session), CONNACK, PUBLISH at QoS 0, DISCONNECT. Whether all went well. */
static bool mqtt_publish(uint16_t port, const char *topic, const char *payload) {
    unsigned char packet[256];
    size_t n = 0, topic_len = strlen(topic), payload_len = strlen(payload);
    static const unsigned char hello[] = {0x10, 17, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c,
                                          0x00, 0x05, 'c', '-', 't', 's', 't'};
    unsigned char connack[4] = {0};
    struct sockaddr_in addr;
    struct timeval tv = {10, 0};
    bool ok = false;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) goto done;
    if (write(fd, hello, sizeof hello) != (ssize_t)sizeof hello) goto done;
    for (size_t got = 0; got < sizeof connack;) {
        ssize_t r = read(fd, connack + got, sizeof connack - got);
        if (r <= 0) goto done;
        got += (size_t)r;
    }
    if (memcmp(connack, "\x20\x02\x00\x00", 4) != 0) goto done;
    packet[n++] = 0x30;
    packet[n++] = (unsigned char)(2 + topic_len + payload_len);
    packet[n++] = (unsigned char)(topic_len >> 8);
    packet[n++] = (unsigned char)topic_len;
    memcpy(packet + n, topic, topic_len);
    n += topic_len;
    memcpy(packet + n, payload, payload_len);
    n += payload_len;
    packet[n++] = 0xe0; /* DISCONNECT */
    packet[n++] = 0x00;
    ok = write(fd, packet, n) == (ssize_t)n;
done:
    close(fd);
    return ok;
}

static void test_an_mqtt_client_reaches_a_nats_subscriber(void) {
    nats_server_t *s = NULL;
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    natsMsg *msg = NULL;
    char *mqtt = NULL, *url = NULL;

    REQUIRE_OK(nats_server_run("{\"jetstream\": true, \"mqtt\": true}", &s, &err));
    EXPECT_OK(nats_server_mqtt_url(s, &mqtt, &err));
    CHECK_STR_CONTAINS(mqtt, "mqtt://127.0.0.1:");
    EXPECT_OK(nats_server_client_url(s, &url, &err));
    REQUIRE(mqtt != NULL && url != NULL);
    NATS_OK(natsConnection_ConnectTo(&nc, url));
    NATS_OK(natsConnection_SubscribeSync(&sub, nc, "sensors.temp"));
    NATS_OK(natsConnection_Flush(nc));
    CHECK(mqtt_publish((uint16_t)atoi(strrchr(mqtt, ':') + 1), "sensors/temp", "21.5"));
    NATS_OK(natsSubscription_NextMsg(&msg, sub, 10000));
    CHECK(natsMsg_GetDataLength(msg) == 4 && memcmp(natsMsg_GetData(msg), "21.5", 4) == 0);
cleanup:
    natsMsg_Destroy(msg);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    nats_server_string_free(mqtt);
    nats_server_string_free(url);
    nats_server_free(s);
}

/* The number of nats-server processes among this process's children (every thread's, from /proc; the harness's
 * watchdog, a /bin/sh, is not one). */
static int live_servers(void) {
    glob_t files;
    int n = 0;
    if (glob("/proc/self/task/*/children", 0, NULL, &files) != 0) return -1;
    for (size_t i = 0; i < files.gl_pathc; i++) {
        FILE *f = fopen(files.gl_pathv[i], "r");
        int pid;
        while (f != NULL && fscanf(f, "%d", &pid) == 1) {
            char path[64], comm[64] = "";
            snprintf(path, sizeof path, "/proc/%d/comm", pid);
            FILE *c = fopen(path, "r");
            if (c != NULL && fgets(comm, sizeof comm, c) != NULL && strncmp(comm, "nats-server", 11) == 0) n++;
            if (c != NULL) fclose(c);
        }
        if (f != NULL) fclose(f);
    }
    globfree(&files);
    return n;
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
    CHECK(live_servers() == 0); /* nothing left running */
}

int main(void) {
    RUN(test_a_message_crosses_the_gateway);
    RUN(test_a_queue_group_over_two_clusters_gets_each_message_once);
    RUN(test_a_stream_placed_in_cluster_b_survives_a_node_kill);
    RUN(test_a_leaf_and_its_hub_exchange_messages);
    RUN(test_a_leaf_jetstream_domain_answers_through_the_hub);
    RUN(test_an_mqtt_client_reaches_a_nats_subscriber);
    RUN(test_bad_topologies_fail_by_name);
    nats_CloseAndWait(0);
    return summary();
}
