#!/usr/bin/env bash
# The main job in one command: a real nats-server, a JetStream restart on the same port, and a 3-node JetStream
# cluster, each ready in milliseconds and cleaned up on exit; then the command-line tool handing a cluster's URLs
# to another program. Installs a pinned nats-server first if none is configured.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ -z "${NATS_SERVER_BIN:-}" ]]; then
    scripts/setup.sh --server-only
    # shellcheck source=/dev/null
    source target/tools/env.sh
fi
cargo run --quiet --example demo
echo
echo "nats-harness exec: a 3-node JetStream cluster for any program, here a shell"
cargo run --quiet --bin nats-harness -- exec --nodes 3 --jetstream --timings -- \
    sh -c 'echo "  NATS_URL=$NATS_URL"; echo "  NATS_URLS=$NATS_URLS"'
