/* Spawn-to-ready through the C ABI: how long nats_server_run takes (process spawn, ports file, INFO) and how
 * long nats_server_restart takes, over N runs (argv[1], default 30). Prints one JSON line per case for the
 * cross-language report (scripts/bench.sh), then the usual summary line (a run that fails counts as failed).
 *
 *   tests/c/run.sh bench_start        (built like the tests; never under valgrind)
 */
#define _DEFAULT_SOURCE /* POSIX and BSD functions (usleep, mkstemp, strdup) under -std=c11 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *sorted, int n, double p) {
    int i = (int)(p * (n - 1) + 0.5);
    return sorted[i];
}

static void print_line(const char *what, double *ms, int ok) {
    qsort(ms, (size_t)ok, sizeof *ms, compare);
    printf("{\"bench\": \"c\", \"case\": \"%s\", \"runs\": %d, \"ms\": {\"min\": %.2f, \"median\": %.2f, "
           "\"p90\": %.2f, \"max\": %.2f}}\n",
           what, ok, ms[0], percentile(ms, ok, 0.5), percentile(ms, ok, 0.9), ms[ok - 1]);
    tests_passed++;
}

static void report(const char *what, const char *options, int runs) {
    double *start = calloc((size_t)runs, sizeof *start);
    int ok = 0;
    for (int i = 0; i < runs; i++) {
        nats_server_t *server = NULL;
        char *err = NULL;
        double t0 = now_ms();
        nats_server_status status = nats_server_run(options, &server, &err);
        double t1 = now_ms();
        if (status != NATS_SERVER_OK) {
            fprintf(stderr, "run %d: %s\n", i, err);
            nats_server_string_free(err);
            tests_failed++;
            continue;
        }
        nats_server_free(server);
        start[ok++] = t1 - t0;
    }
    if (ok > 0) print_line(what, start, ok);
    free(start);
}

static void report_restart(const char *options, int runs) {
    double *ms = calloc((size_t)runs, sizeof *ms);
    nats_server_t *server = NULL;
    char *err = NULL;
    int ok = 0;
    if (nats_server_run(options, &server, &err) != NATS_SERVER_OK) {
        fprintf(stderr, "restart bench: %s\n", err);
        nats_server_string_free(err);
        tests_failed++;
        free(ms);
        return;
    }
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        if (nats_server_restart(server, &err) != NATS_SERVER_OK) {
            fprintf(stderr, "restart %d: %s\n", i, err);
            nats_server_string_free(err);
            err = NULL;
            tests_failed++;
            continue;
        }
        ms[ok++] = now_ms() - t0;
    }
    nats_server_free(server);
    if (ok > 0) print_line("restart", ms, ok);
    free(ms);
}

static void report_cluster(int runs) {
    double *ms = calloc((size_t)runs, sizeof *ms);
    int ok = 0;
    for (int i = 0; i < runs; i++) {
        nats_cluster_t *cluster = NULL;
        char *err = NULL;
        double t0 = now_ms();
        if (nats_cluster_run("{\"nodes\": 3, \"server\": {\"jetstream\": true}}", &cluster, &err) != NATS_SERVER_OK) {
            fprintf(stderr, "cluster %d: %s\n", i, err);
            nats_server_string_free(err);
            tests_failed++;
            continue;
        }
        ms[ok++] = now_ms() - t0;
        nats_cluster_free(cluster);
    }
    if (ok > 0) print_line("cluster", ms, ok);
    free(ms);
}

#define PARALLEL 20

static void *start_one(void *arg) {
    nats_server_t **slot = arg;
    if (nats_server_run(NULL, slot, NULL) != NATS_SERVER_OK) *slot = NULL;
    return NULL;
}

/* 20 servers started at once from 20 threads: time until all are ready. */
static void report_parallel(int runs) {
    double *ms = calloc((size_t)runs, sizeof *ms);
    int ok = 0;
    for (int i = 0; i < runs; i++) {
        nats_server_t *servers[PARALLEL] = {0};
        pthread_t threads[PARALLEL];
        double t0 = now_ms();
        for (int t = 0; t < PARALLEL; t++) pthread_create(&threads[t], NULL, start_one, &servers[t]);
        for (int t = 0; t < PARALLEL; t++) pthread_join(threads[t], NULL);
        double elapsed = now_ms() - t0;
        int started = 0;
        for (int t = 0; t < PARALLEL; t++) {
            if (servers[t]) started++;
            nats_server_free(servers[t]);
        }
        if (started == PARALLEL) {
            ms[ok++] = elapsed;
        } else {
            fprintf(stderr, "parallel run %d: only %d of %d started\n", i, started, PARALLEL);
            tests_failed++;
        }
    }
    if (ok > 0) print_line("20", ms, ok);
    free(ms);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 30;
    if (runs < 1) runs = 1;
    report("plain", NULL, runs);
    report("jetstream", "{\"jetstream\": true}", runs);
    report_restart("{\"jetstream\": true}", runs);
    report_cluster(runs / 3 > 3 ? runs / 3 : 3);
    report_parallel(runs / 6 > 3 ? runs / 6 : 3);
    return summary();
}
