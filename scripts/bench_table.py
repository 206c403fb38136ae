"""Prints the benchmark table of scripts/bench.sh from its JSON lines.

    python3 scripts/bench_table.py NATS_SERVER_BIN results.jsonl                  # one round
    python3 scripts/bench_table.py --summary NATS_SERVER_BIN results-*.jsonl      # the median ratio over rounds

Each language's ratio is its median over the bare server's median measured next to it: Python and Go alternate
bare starts with their own (bare_inline_*), C, Python and Go otherwise take a baseline right before they run
(bare_*), and Rust alternates with its own (bare).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

CASES = ["plain", "jetstream", "restart", "cluster", "20"]
NAMES = {
    "plain": "plain server",
    "jetstream": "JetStream server",
    "restart": "restart() (JetStream)",
    "cluster": "3-node JetStream cluster",
    "20": "20 servers at once",
}
LANGS = ["rust", "c", "python", "go"]

Rows = dict[tuple[str, str], dict[str, Any]]


def load(path: str) -> Rows:
    with open(path) as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return {(r["bench"], r["case"]): r for r in rows}


def ratio(by: Rows, lang: str, case: str) -> float | None:
    mine = by.get((lang, case))
    bare = by.get((f"bare_inline_{lang}", case)) or by.get((f"bare_{lang}", case)) or by.get(("bare", case))
    if not mine or not bare:
        return None
    return float(mine["ms"]["median"]) / float(bare["ms"]["median"])


def header(binary: str, text: str) -> None:
    version = subprocess.run([binary, "--version"], check=True, capture_output=True, text=True).stdout.strip()
    print(f"{version}, {os.cpu_count()} cores; {text}\n")


def one_round(by: Rows) -> None:
    print("| case | bare | " + " | ".join(LANGS) + " |")
    print("|---" * (len(LANGS) + 2) + "|")
    for case in CASES:
        cells = []
        for lang in ["bare", *LANGS]:
            r = by.get((lang, case))
            if not r:
                cells.append("-")
                continue
            cell = f"{r['ms']['median']:.1f} ({r['ms']['p90']:.1f})"
            x = ratio(by, lang, case) if lang != "bare" else None
            if x is not None:
                cell += f" **{x:.2f}x**"
            cells.append(cell)
        print(f"| {NAMES[case]} | " + " | ".join(cells) + " |")
    legacy, bare = by.get(("legacy_log_poll", "plain")), by.get(("bare", "plain"))
    if legacy and bare:
        print(
            f"\nThe original crate's log polling (500 ms steps): {legacy['ms']['median']:.0f} ms median for a plain "
            f"server, {legacy['ms']['median'] / bare['ms']['median']:.0f}x the bare server."
        )


def summary(rounds: list[Rows]) -> None:
    print("| case | " + " | ".join(LANGS) + " |")
    print("|---" * (len(LANGS) + 1) + "|")
    for case in CASES:
        cells = []
        for lang in LANGS:
            xs = [x for by in rounds if (x := ratio(by, lang, case)) is not None]
            cells.append(f"**{statistics.median(xs):.2f}x** ({min(xs):.2f}-{max(xs):.2f})" if xs else "-")
        print(f"| {NAMES[case]} | " + " | ".join(cells) + " |")


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--summary":
        binary, paths = argv[1], argv[2:]
        header(binary, f"median over {len(paths)} rounds of each round's ratio of medians (lowest-highest)")
        summary([load(p) for p in paths])
    else:
        binary, path = argv[0], argv[1]
        header(binary, "median ms (p90), ratio of medians to the bare server measured next to each language's "
               "run (the bare column: the one next to Rust)")
        one_round(load(path))


if __name__ == "__main__":
    main(sys.argv[1:])
