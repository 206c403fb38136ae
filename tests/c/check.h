/* A framework-less test helper for the C tests: each test is a function, each failed check prints where and why,
 * and main() ends with the line "N passed, N failed" and a non-zero exit on failure. */
#ifndef NATS_SERVER_TEST_CHECK_H
#define NATS_SERVER_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_server.h"

static int check_failures_in_test __attribute__((unused)) = 0;
static int tests_passed = 0;
static int tests_failed = 0;

#define FAIL(...)                                                   \
    do {                                                            \
        fprintf(stderr, "    FAILED at %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                               \
        fprintf(stderr, "\n");                                      \
        check_failures_in_test++;                                   \
    } while (0)

#define CHECK(cond)                            \
    do {                                       \
        if (!(cond)) FAIL("CHECK(%s)", #cond); \
    } while (0)

/* Like CHECK, but ends the test at once. */
#define REQUIRE(cond)                            \
    do {                                         \
        if (!(cond)) {                           \
            FAIL("REQUIRE(%s)", #cond);          \
            return;                              \
        }                                        \
    } while (0)

#define CHECK_STR_CONTAINS(text, needle)                                                   \
    do {                                                                                   \
        const char *t_ = (text);                                                           \
        if (t_ == NULL || strstr(t_, (needle)) == NULL)                                    \
            FAIL("%s does not contain \"%s\": %s", #text, (needle), t_ ? t_ : "(null)"); \
    } while (0)

/* Runs `call`, which may use a `char *err` out-parameter declared here (`&err`), and checks its status. The
 * message is printed on a mismatch and always freed. */
#define EXPECT_STATUS(want, call)                                                                   \
    do {                                                                                            \
        char *err = NULL;                                                                           \
        nats_server_status got_ = (call);                                                           \
        if (got_ != (want))                                                                         \
            FAIL("%s returned %s, want %s: %s", #call, nats_server_status_name(got_),               \
                 nats_server_status_name(want), err ? err : "(no message)");                        \
        nats_server_string_free(err);                                                               \
    } while (0)

#define EXPECT_OK(call) EXPECT_STATUS(NATS_SERVER_OK, call)

/* Like EXPECT_OK, but ends the test on failure. */
#define REQUIRE_OK(call)                                                                            \
    do {                                                                                            \
        char *err = NULL;                                                                           \
        nats_server_status got_ = (call);                                                           \
        if (got_ != NATS_SERVER_OK) {                                                               \
            FAIL("%s returned %s: %s", #call, nats_server_status_name(got_), err ? err : "(no message)"); \
            nats_server_string_free(err);                                                           \
            return;                                                                                 \
        }                                                                                           \
    } while (0)

/* Checks that `call` fails with `want` and a message that contains `needle`. */
#define EXPECT_ERROR(want, needle, call)                                                            \
    do {                                                                                            \
        char *err = NULL;                                                                           \
        nats_server_status got_ = (call);                                                           \
        if (got_ != (want))                                                                         \
            FAIL("%s returned %s, want %s: %s", #call, nats_server_status_name(got_),               \
                 nats_server_status_name(want), err ? err : "(no message)");                        \
        else if (err == NULL || strstr(err, (needle)) == NULL)                                      \
            FAIL("%s: the message does not contain \"%s\": %s", #call, (needle), err ? err : "(null)"); \
        nats_server_string_free(err);                                                               \
    } while (0)

/* Checks a NATS C client call. */
#define NATS_OK(call)                                                                     \
    do {                                                                                  \
        natsStatus ns_ = (call);                                                          \
        if (ns_ != NATS_OK) {                                                             \
            FAIL("%s: %s (%s)", #call, natsStatus_GetText(ns_), nats_GetLastError(NULL)); \
            goto cleanup;                                                                 \
        }                                                                                 \
    } while (0)

#define RUN(test)                                                 \
    do {                                                          \
        check_failures_in_test = 0;                               \
        fprintf(stderr, "--- %s\n", #test);                       \
        test();                                                   \
        if (check_failures_in_test == 0) {                        \
            tests_passed++;                                       \
            fprintf(stderr, "    ok\n");                          \
        } else {                                                  \
            tests_failed++;                                       \
            fprintf(stderr, "    FAILED: %s\n", #test);           \
        }                                                         \
    } while (0)

/* Resolves releases from the per-user cache only (no network: under valgrind, a TLS download through ring's
 * assembly reports uninitialised values) and says whether the cache holds a 2.14.x and a 2.15.x (the Rust suite,
 * run first by scripts/test.sh, installs them from PyPI). When it returns 1, call releases_online() after. */
static __attribute__((unused)) int releases_offline_with_2_14_and_2_15(void) {
    char *json = NULL;
    int ready;
    setenv("NATS_SERVER_SOURCES", "github", 1);
    setenv("NATS_SERVER_RELEASES_URL", "http://127.0.0.1:9", 1); /* refused: resolve falls back to the cache */
    if (nats_server_versions(true, &json, NULL) != NATS_SERVER_OK) return 0;
    ready = strstr(json, "\"version\":\"2.14.") != NULL && strstr(json, "\"version\":\"2.15.") != NULL;
    nats_server_string_free(json);
    if (!ready) {
        fprintf(stderr, "    SKIPPED: no 2.14.x and 2.15.x in the release cache (run `cargo test --test upgrade` first)\n");
        unsetenv("NATS_SERVER_SOURCES");
        unsetenv("NATS_SERVER_RELEASES_URL");
    }
    return ready;
}

static __attribute__((unused)) void releases_online(void) {
    unsetenv("NATS_SERVER_SOURCES");
    unsetenv("NATS_SERVER_RELEASES_URL");
}

/* Prints the summary line and returns the exit code. */
static int summary(void) {
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    fflush(stdout);
    return tests_failed == 0 ? 0 : 1;
}

#endif
