/* A three-node JetStream cluster through the C ABI: an R3 stream created on the first try with the real C client,
 * borrowed node handles, node faults by index, leader queries. */
#define _DEFAULT_SOURCE /* POSIX and BSD functions (usleep, mkstemp, strdup) under -std=c11 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "check.h"

/* Connects to every URL of a comma-separated list (natsOptions_SetURL takes one URL; natsConnection_ConnectTo
 * takes the list as it is but has no options). */
static natsStatus connect_to(natsConnection **nc, const char *urls) {
    natsOptions *opts = NULL;
    char *copy = strdup(urls), *save = NULL;
    const char *servers[16];
    int count = 0;
    for (char *url = strtok_r(copy, ",", &save); url && count < 16; url = strtok_r(NULL, ",", &save))
        servers[count++] = url;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetServers(opts, servers, count);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, 5);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 50);
    if (s == NATS_OK) s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    free(copy);
    return s;
}

static void test_jetstream_cluster_with_r3_stream(void) {
    nats_cluster_t *cluster = NULL;
    nats_server_t *nodes[3] = {NULL, NULL, NULL};
    nats_server_t *beyond = (nats_server_t *)0x1;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    jsPubAck *ack = NULL;
    natsMsg *msg = NULL;
    jsStreamConfig cfg;
    jsErrCode jerr = 0;
    const char *subjects[] = {"events.>"};
    char *urls = NULL, *json = NULL, *name = NULL;
    size_t len = 0, leader = 99, leader_again = 99;
    bool js_on = false, running = false;

    REQUIRE_OK(nats_cluster_run("{\"nodes\": 3, \"server\": {\"jetstream\": true}}", &cluster, &err));
    EXPECT_OK(nats_cluster_len(cluster, &len, &err));
    CHECK(len == 3);
    EXPECT_OK(nats_cluster_jetstream(cluster, &js_on, &err));
    CHECK(js_on);
    EXPECT_OK(nats_cluster_name(cluster, &name, &err));
    CHECK(name != NULL && strlen(name) > 0);

    /* Borrowed node handles: every nats_server_* call works; freeing one is refused and harmless. */
    for (size_t i = 0; i < 3; i++) {
        EXPECT_OK(nats_cluster_node(cluster, i, &nodes[i], &err));
        REQUIRE(nodes[i] != NULL);
        uint16_t cluster_port = 0;
        EXPECT_OK(nats_server_cluster_port(nodes[i], &cluster_port, &err));
        CHECK(cluster_port > 0);
    }
    CHECK(nodes[0] != nodes[1] && nodes[1] != nodes[2]);
    nats_server_t *again = NULL;
    EXPECT_OK(nats_cluster_node(cluster, 1, &again, &err));
    CHECK(again == nodes[1]);
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "out of range", nats_cluster_node(cluster, 3, &beyond, &err));
    CHECK(beyond == NULL);
    CHECK(nats_server_free(nodes[2]) == NATS_SERVER_BORROWED_HANDLE);
    EXPECT_OK(nats_server_is_running(nodes[2], &running, &err));
    CHECK(running);

    /* Client URLs: comma-separated for natsConnection_ConnectTo, and as JSON. */
    EXPECT_OK(nats_cluster_client_urls(cluster, &urls, &err));
    EXPECT_OK(nats_cluster_client_urls_json(cluster, &json, &err));
    CHECK_STR_CONTAINS(json, "[\"nats://localhost:");
    for (size_t i = 0; i < 3; i++) {
        char *url = NULL;
        EXPECT_OK(nats_server_client_url(nodes[i], &url, &err));
        CHECK_STR_CONTAINS(urls, url);
        CHECK_STR_CONTAINS(json, url);
        nats_server_string_free(url);
    }

    /* The R3 stream, on the first try: the cluster is ready when nats_cluster_run returns. */
    NATS_OK(connect_to(&nc, urls));
    NATS_OK(natsConnection_JetStream(&js, nc, NULL));
    jsStreamConfig_Init(&cfg);
    cfg.Name = "EVENTS";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Replicas = 3;
    NATS_OK(js_AddStream(&si, js, &cfg, NULL, &jerr));
    CHECK(si != NULL && si->Config->Replicas == 3);
    CHECK(si != NULL && si->Cluster != NULL && si->Cluster->Leader != NULL);
    NATS_OK(js_Publish(&ack, js, "events.1", "replicated", (int)strlen("replicated"), NULL, &jerr));
    CHECK(ack != NULL && ack->Sequence == 1);

    /* Leader queries. */
    EXPECT_OK(nats_cluster_meta_leader(cluster, &leader, &err));
    CHECK(leader < 3);
    EXPECT_OK(nats_cluster_wait_for_leader(cluster, 10000, &leader_again, &err));
    CHECK(leader_again == leader);
    EXPECT_OK(nats_cluster_wait_for_leader(cluster, 10000, NULL, &err));
    EXPECT_OK(nats_cluster_wait_ready(cluster, 10000, &err));

    /* Node faults by index: kill the meta leader, the rest elect another; bring it back, the cluster is whole. */
    EXPECT_OK(nats_cluster_kill_node(cluster, leader, &err));
    EXPECT_OK(nats_server_is_running(nodes[leader], &running, &err));
    CHECK(!running);
    EXPECT_OK(nats_cluster_wait_for_leader(cluster, 20000, &leader_again, &err));
    CHECK(leader_again != leader && leader_again < 3);
    EXPECT_OK(nats_cluster_start_node(cluster, leader, &err));
    EXPECT_OK(nats_server_is_running(nodes[leader], &running, &err));
    CHECK(running);
    EXPECT_OK(nats_cluster_restart_node(cluster, (leader + 1) % 3, &err));
    EXPECT_OK(nats_cluster_wait_ready(cluster, 20000, &err));

    /* The message survived, read through the restarted cluster. */
    NATS_OK(js_GetMsg(&msg, js, "EVENTS", 1, NULL, &jerr));
    CHECK(natsMsg_GetDataLength(msg) == (int)strlen("replicated"));

    /* Pause/resume and stop by index, and bad indexes. */
    EXPECT_OK(nats_cluster_pause_node(cluster, 2, &err));
    bool paused = false;
    EXPECT_OK(nats_server_is_paused(nodes[2], &paused, &err));
    CHECK(paused);
    EXPECT_OK(nats_cluster_resume_node(cluster, 2, &err));
    EXPECT_OK(nats_cluster_stop_node(cluster, 2, &err));
    EXPECT_OK(nats_cluster_stop_node(cluster, 2, &err)); /* double stop: a no-op */
    EXPECT_ERROR(NATS_SERVER_NOT_RUNNING, "not running", nats_cluster_pause_node(cluster, 2, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "out of range", nats_cluster_kill_node(cluster, 7, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "out of range", nats_cluster_restart_node(cluster, 3, &err));
    EXPECT_ERROR(NATS_SERVER_INVALID_ARGUMENT, "keep policy", nats_cluster_set_keep(cluster, 3, &err));
    EXPECT_OK(nats_cluster_set_keep(cluster, NATS_SERVER_KEEP_NEVER, &err));

cleanup:
    natsMsg_Destroy(msg);
    jsPubAck_Destroy(ack);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_server_string_free(urls);
    nats_server_string_free(json);
    nats_server_string_free(name);
    CHECK(nats_cluster_free(cluster) == NATS_SERVER_OK);
}

static void test_plain_cluster_lame_duck_node(void) {
    nats_cluster_t *cluster = NULL;
    nats_server_t *node = NULL;
    size_t leader = 0;
    REQUIRE_OK(nats_cluster_run("{\"nodes\": 2}", &cluster, &err));
    EXPECT_ERROR(NATS_SERVER_UNAVAILABLE, "meta leader", nats_cluster_meta_leader(cluster, &leader, &err));
    EXPECT_OK(nats_cluster_node(cluster, 1, &node, &err));
    EXPECT_OK(nats_cluster_lame_duck_node(cluster, 1, &err));
    EXPECT_OK(nats_server_wait_exit(node, 5000, NULL, &err));
    EXPECT_OK(nats_cluster_wait_ready(cluster, 5000, &err)); /* the running node is ready on its own */
    EXPECT_OK(nats_cluster_start_node(cluster, 1, &err));
    EXPECT_OK(nats_cluster_rolling_restart(cluster, &err));
    CHECK(nats_cluster_free(cluster) == NATS_SERVER_OK);
}

int main(void) {
    RUN(test_jetstream_cluster_with_r3_stream);
    RUN(test_plain_cluster_lame_duck_node);
    nats_CloseAndWait(0);
    return summary();
}
