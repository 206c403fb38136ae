#!/usr/bin/env bash
# Builds the C and C++ tests of the C ABI against the static library and runs each under valgrind.
#
#   tests/c/run.sh                      # cargo build --lib, then build and run every test
#   LIB_DIR=target/release tests/c/run.sh   # use an existing build (no cargo call)
#   VALGRIND=0 tests/c/run.sh           # run without valgrind (fast)
#   tests/c/run.sh test_errors          # only the named tests
#   tests/c/run.sh bench_start          # spawn-to-ready through the ABI (not run by default, never under valgrind)
#
# Needs: a C and a C++ compiler, Debian's libnats-dev (the NATS C client), valgrind (unless VALGRIND=0), and a
# nats-server binary ($NATS_SERVER_BIN or on PATH). The last line is "N passed, N failed" summed over all tests;
# the exit status is non-zero when any check, any program, or valgrind failed.
# Every test, the cluster one included, runs under valgrind in well under a minute; the nats-server children are
# not traced (--trace-children=no): they are Go programs that exec at once.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

CC="${CC:-cc}"
CXX="${CXX:-c++}"
VALGRIND="${VALGRIND:-1}"
BUILD_DIR="${BUILD_DIR:-$root/target/c-tests}"

if [[ -z "${LIB_DIR:-}" ]]; then
    cargo build --lib --quiet
    LIB_DIR="$root/target/debug"
fi
LIB_DIR="$(cd "$LIB_DIR" && pwd)"
[[ -f "$LIB_DIR/libnats_server.a" ]] || { echo "no libnats_server.a in $LIB_DIR" >&2; exit 2; }
if [[ "$VALGRIND" != 0 ]] && ! command -v valgrind >/dev/null; then
    echo "valgrind is not installed: install it (apt-get install valgrind) or run with VALGRIND=0" >&2
    exit 2
fi
mkdir -p "$BUILD_DIR"

# The static library needs only these system libraries (glibc 2.34+ has the rest in libc).
libs=("$LIB_DIR/libnats_server.a" -lnats -lpthread -ldl -lm)
warnings=(-Wall -Wextra -Werror -Wno-unused-function)

tests=(test_valgrind_minimal test_server test_errors test_cluster test_topology test_orphans test_auth test_options test_faults test_cpp test_tls)
if (($#)); then tests=("$@"); fi

total_passed=0
total_failed=0
broken=()
for test in "${tests[@]}"; do
    exe="$BUILD_DIR/$test"
    if [[ -f "$here/$test.c" ]]; then
        (set -x; "$CC" -std=c11 -g -O0 "${warnings[@]}" -I"$root/include" \
            "$here/$test.c" -o "$exe" "${libs[@]}")
    elif [[ -f "$here/$test.cpp" ]]; then
        (set -x; "$CXX" -std=c++17 -g -O0 "${warnings[@]}" -I"$root/include" \
            "$here/$test.cpp" -o "$exe" "${libs[@]}")
    else
        echo "no test named $test in $here" >&2
        exit 2
    fi

    runner=()
    if [[ "$VALGRIND" != 0 && "$test" != bench_* ]]; then
        # valgrind's own defaults for leaks (definite and possible are errors), as a C user runs it; no
        # suppression file: the library leaves nothing behind on the caller's threads.
        runner=(valgrind --quiet --error-exitcode=1 --leak-check=full --trace-children=no)
    fi
    echo "=== $test${runner:+ (under valgrind)}"
    out="$BUILD_DIR/$test.out"
    set +e
    "${runner[@]}" "$exe" | tee "$out"
    status=${PIPESTATUS[0]}
    set -e
    last="$(tail -n 1 "$out")"
    if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        total_passed=$((total_passed + BASH_REMATCH[1]))
        total_failed=$((total_failed + BASH_REMATCH[2]))
    else
        echo "$test printed no summary line (crashed?)" >&2
        total_failed=$((total_failed + 1))
    fi
    if ((status != 0)); then
        broken+=("$test (exit $status)")
    fi
done

if ((${#broken[@]})); then
    echo "failed programs: ${broken[*]} (a failed check, a crash, or a valgrind error or leak)" >&2
    if ((total_failed == 0)); then total_failed=${#broken[@]}; fi
fi
echo "$total_passed passed, $total_failed failed"
((total_failed == 0 && ${#broken[@]} == 0))
