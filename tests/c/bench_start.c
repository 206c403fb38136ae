/* Spawn-to-ready through the C ABI: how long nats_server_start takes (process spawn, ports file, INFO) and how
 * long nats_server_free takes, over N runs (argv[1], default 30). Prints one JSON line for a benchmark report,
 * then the usual summary line (a run that fails to start counts as failed).
 *
 *   tests/c/run.sh bench_start        (built like the tests; never under valgrind)
 */
#define _DEFAULT_SOURCE /* POSIX and BSD functions (usleep, mkstemp, strdup) under -std=c11 */
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

static void report(const char *what, const char *options, int runs) {
    double *start = calloc((size_t)runs, sizeof *start), *stop = calloc((size_t)runs, sizeof *stop);
    int ok = 0;
    for (int i = 0; i < runs; i++) {
        nats_server_t *server = NULL;
        char *err = NULL;
        double t0 = now_ms();
        nats_server_status status = nats_server_start(options, &server, &err);
        double t1 = now_ms();
        if (status != NATS_SERVER_OK) {
            fprintf(stderr, "run %d: %s\n", i, err);
            nats_server_string_free(err);
            tests_failed++;
            continue;
        }
        nats_server_free(server);
        double t2 = now_ms();
        start[ok] = t1 - t0;
        stop[ok] = t2 - t1;
        ok++;
    }
    if (ok > 0) {
        qsort(start, (size_t)ok, sizeof *start, compare);
        qsort(stop, (size_t)ok, sizeof *stop, compare);
        printf("{\"bench\": \"c_abi_start\", \"case\": \"%s\", \"runs\": %d, \"start_ms\": {\"min\": %.2f, "
               "\"median\": %.2f, \"p90\": %.2f}, \"free_ms\": {\"median\": %.2f}}\n",
               what, ok, start[0], percentile(start, ok, 0.5), percentile(start, ok, 0.9),
               percentile(stop, ok, 0.5));
        tests_passed++;
    }
    free(start);
    free(stop);
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 30;
    if (runs < 1) runs = 1;
    report("plain", NULL, runs);
    report("jetstream", "{\"jetstream\": true}", runs);
    return summary();
}
