#!/usr/bin/env bash
# The cross-language benchmark: spawn-to-ready of the bare nats-server (its own ports file), of the original
# crate's 500 ms log polling, and of this harness through Rust, C, Python and Go, for a plain server, a JetStream
# server, restart(), a 3-node JetStream cluster (until a meta leader is known everywhere) and 20 servers started at
# once. Prints a Markdown table of medians (and p90) with ratios to the bare server; raw JSON lines are kept in
# target/bench/results-<round>.jsonl.
#
#   scripts/bench.sh                  # one round, 30 runs per single-server case (clusters, parallel: fewer)
#   BENCH_RUNS=60 scripts/bench.sh
#   BENCH_ROUNDS=4 scripts/bench.sh   # four rounds, then the median of each ratio over the rounds
#
# Everything links the release build of the library. The Rust run alternates bare and harness starts, and so do
# the Python and Go benches for a plain and a JetStream server (bare starts made from their own process); every
# other figure of C, Python and Go is compared with a bare baseline taken right before that language ran. On a
# noisy machine one round's ratios swing by +-15%; several rounds show what is steady.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${BENCH_RUNS:-30}"
rounds="${BENCH_ROUNDS:-1}"
out="$root/target/bench"
mkdir -p "$out"
rm -f "$out"/results-*.jsonl

if [[ -z "${NATS_SERVER_BIN:-}" ]]; then
    scripts/setup.sh --server-only >/dev/null
    # shellcheck source=/dev/null
    source target/tools/env.sh
fi
export NATS_SERVER_BIN

echo "building the release library" >&2
cargo build --release --lib --quiet

# One round: every language once, each next to its bare baseline; JSON lines into $results.
measure_round() {
    echo "Rust (and the bare server, and the original crate's log polling)" >&2
    BENCH_RUNS="$runs" cargo bench --quiet --bench startup | tee "$out/rust-$round.txt" | grep '^{' >>"$results"

    baseline c
    echo "C" >&2
    LIB_DIR="$root/target/release" tests/c/run.sh bench_start >"$out/c.txt" 2>&1 || { cat "$out/c.txt" >&2; exit 1; }
    grep '^{' "$out/c.txt" >>"$results"

    baseline python
    echo "Python" >&2
    PYTHONPATH="$root/bindings/python/src" NATS_SERVER_HARNESS_LIB="$root/target/release/libnats_server.so" \
        python3 bindings/python/bench.py "$runs" >>"$results"

    baseline go
    echo "Go" >&2
    (cd bindings/go && go build -tags nats_server_release -o "$out/go-bench" ./bench) && "$out/go-bench" -runs "$runs" >>"$results"
}

# Each language's figures are compared with a bare baseline taken right before them.
baseline() {
    echo "bare baseline for $1" >&2
    BENCH_RUNS="$runs" BENCH_BARE_ONLY=1 cargo bench --quiet --bench startup | grep '^{' |
        sed "s/\"bench\": \"bare\"/\"bench\": \"bare_$1\"/" >>"$results"
}

for round in $(seq 1 "$rounds"); do
    results="$out/results-$round.jsonl"
    : >"$results"
    [[ "$rounds" == 1 ]] || echo "round $round of $rounds" >&2
    measure_round
    [[ "$rounds" == 1 ]] || echo "### Round $round"
    python3 scripts/bench_table.py "$NATS_SERVER_BIN" "$results"
    echo
done
if [[ "$rounds" != 1 ]]; then
    echo "### Over $rounds rounds"
    python3 scripts/bench_table.py --summary "$NATS_SERVER_BIN" "$out"/results-*.jsonl
fi
