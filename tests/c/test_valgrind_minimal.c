/* The smallest C user of the library, as a new user writes it: start a server with default options, free it.
 * run.sh runs it under valgrind with valgrind's defaults (`--leak-check=full`: definite and possible leaks are
 * errors), so the library must leave nothing behind on the caller's thread, e.g. no `std::thread::current()`
 * handle made by a thread-local random generator, a scoped thread or a channel wait. */
#include <stdio.h>

#include "nats_server.h"

int main(void) {
    nats_server_t *server = NULL;
    char *error = NULL;
    if (nats_server_run(NULL, &server, &error) != NATS_SERVER_OK) {
        fprintf(stderr, "nats_server_run: %s\n", error ? error : "(no message)");
        nats_server_string_free(error);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    if (nats_server_free(server) != NATS_SERVER_OK) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    printf("1 passed, 0 failed\n");
    return 0;
}
