#!/usr/bin/env bash
# The cross-language benchmark: spawn-to-ready of the bare nats-server (its own ports file), of the original
# crate's 500 ms log polling, and of this harness through Rust, C, Python and Go, for a plain server, a JetStream
# server, restart(), a 3-node JetStream cluster (until a meta leader is known everywhere) and 20 servers started at
# once. Prints a Markdown table of medians (and p90) with ratios to the bare server; raw JSON lines are kept in
# target/bench/results.jsonl.
#
#   scripts/bench.sh             # 30 runs per single-server case (clusters and parallel starts: fewer)
#   BENCH_RUNS=60 scripts/bench.sh
#
# Everything links the release build of the library. The Rust run alternates bare and harness starts, and so do
# the Python and Go benches for a plain and a JetStream server (bare starts made from their own process); every
# other figure of C, Python and Go is compared with a bare baseline taken right before that language ran.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${BENCH_RUNS:-30}"
out="$root/target/bench"
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"

if [[ -z "${NATS_SERVER_BIN:-}" ]]; then
    scripts/setup.sh --server-only >/dev/null
    # shellcheck source=/dev/null
    source target/tools/env.sh
fi
export NATS_SERVER_BIN

echo "building the release library" >&2
cargo build --release --lib --quiet

echo "Rust (and the bare server, and the original crate's log polling)" >&2
BENCH_RUNS="$runs" cargo bench --quiet --bench startup | tee "$out/rust.txt" | grep '^{' >>"$results"

# Each language's figures are compared with a bare baseline taken right before them.
baseline() {
    echo "bare baseline for $1" >&2
    BENCH_RUNS="$runs" BENCH_BARE_ONLY=1 cargo bench --quiet --bench startup | grep '^{' |
        sed "s/\"bench\": \"bare\"/\"bench\": \"bare_$1\"/" >>"$results"
}

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

python3 - "$results" "$NATS_SERVER_BIN" <<'PY'
import json, subprocess, sys, os
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
version = subprocess.run([sys.argv[2], "--version"], capture_output=True, text=True).stdout.strip()
cases = ["plain", "jetstream", "restart", "cluster", "20"]
names = {"plain": "plain server", "jetstream": "JetStream server", "restart": "restart() (JetStream)",
         "cluster": "3-node JetStream cluster", "20": "20 servers at once"}
langs = ["bare", "rust", "c", "python", "go"]
by = {(r["bench"], r["case"]): r for r in rows}
print(f"{version}, {os.cpu_count()} cores; median ms (p90), ratio of medians to the bare server measured next to")
print("each language's run (the bare column: the one next to Rust)\n")
print("| case | " + " | ".join(langs) + " |")
print("|---" * (len(langs) + 1) + "|")
for case in cases:
    cells = []
    for lang in langs:
        r = by.get((lang, case))
        if not r:
            cells.append("-")
            continue
        ms = r["ms"]
        cell = f"{ms['median']:.1f} ({ms['p90']:.1f})"
        # The baseline taken next to this language's run (Rust alternates with its own).
        # Python and Go alternate bare starts with their own (bare_inline_*), the most direct comparison.
        bare = by.get((f"bare_inline_{lang}", case)) or by.get((f"bare_{lang}", case)) or by.get(("bare", case))
        if bare and lang != "bare":
            cell += f" **{ms['median'] / bare['ms']['median']:.2f}x**"
        cells.append(cell)
    print(f"| {names[case]} | " + " | ".join(cells) + " |")
legacy = by.get(("legacy_log_poll", "plain"))
bare = by.get(("bare", "plain"))
if legacy and bare:
    print(f"\nThe original crate's log polling (500 ms steps): {legacy['ms']['median']:.0f} ms median for a plain server, "
          f"{legacy['ms']['median'] / bare['ms']['median']:.0f}x the bare server.")
PY
