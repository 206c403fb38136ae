/* No orphans from C: a test process that started a server and a cluster through the ABI is SIGKILLed; a second
 * later none of its nats-server processes is alive. The "test process" is a forked child of this program (forked
 * before the library starts any thread), which reports its servers' pids through a pipe and waits to be killed. */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define SERVERS 4

static int alive(int pid) {
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *close_paren = strrchr(stat, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

/* The child: one server and a 3-node cluster; writes their pids, then sleeps until killed. */
static void child(int fd) {
    nats_server_t *server = NULL;
    nats_cluster_t *cluster = NULL;
    uint32_t pids[SERVERS] = {0};
    if (nats_server_run("{\"jetstream\": true}", &server, NULL) != NATS_SERVER_OK) _exit(2);
    if (nats_cluster_run("{\"nodes\": 3, \"server\": {\"jetstream\": true}}", &cluster, NULL) != NATS_SERVER_OK)
        _exit(3);
    nats_server_pid(server, &pids[0], NULL);
    for (size_t i = 0; i < 3; i++) {
        nats_server_t *node = NULL;
        nats_cluster_node(cluster, i, &node, NULL);
        nats_server_pid(node, &pids[i + 1], NULL);
    }
    if (write(fd, pids, sizeof pids) != (ssize_t)sizeof pids) _exit(4);
    for (;;) pause();
}

static void test_a_sigkilled_test_process_leaves_no_server_alive(void) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child(fds[1]);
    }
    close(fds[1]);
    uint32_t pids[SERVERS] = {0};
    ssize_t got = read(fds[0], pids, sizeof pids);
    close(fds[0]);
    if (got != (ssize_t)sizeof pids) {
        FAIL("the child reported no pids (read %zd bytes)", got);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return;
    }
    for (int i = 0; i < SERVERS; i++) CHECK(pids[i] > 0 && alive((int)pids[i]));

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    int left = SERVERS;
    for (int waited_ms = 0; waited_ms <= 1000 && left > 0; waited_ms += 5) {
        left = 0;
        for (int i = 0; i < SERVERS; i++) left += alive((int)pids[i]);
        if (left) usleep(5000);
    }
    if (left) FAIL("%d nats-server processes outlived their SIGKILLed test process by a second", left);
}

int main(void) {
    RUN(test_a_sigkilled_test_process_leaves_no_server_alive);
    return summary();
}
