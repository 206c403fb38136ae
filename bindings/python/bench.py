"""Spawn-to-ready through Python: how long ``Server(...)`` takes to return a ready server, and ``restart()``.

Prints one JSON line per case:

    {"bench": "python", "case": "plain", "runs": 30, "ms": {"min": .., "median": .., "p90": .., "max": ..}}

Cases: ``plain`` (``Server()``), ``jetstream`` (``Server(jetstream=True)``), ``restart`` (``restart()`` of a
JetStream server, same port and store), ``cluster`` (a 3-node JetStream cluster until a meta leader is known
everywhere), ``20`` (20 servers started at once from 20 threads).
Usage: ``python bench.py [RUNS]`` or ``python bench.py --runs RUNS`` (default 30).
Needs a nats-server binary ($NATS_SERVER_BIN or PATH).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from nats_server_harness import Cluster, Server, load_library


def percentile(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[round(p * (len(sorted_ms) - 1))]


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "min": round(ordered[0], 2),
        "median": round(statistics.median(ordered), 2),
        "p90": round(percentile(ordered, 0.9), 2),
        "max": round(ordered[-1], 2),
    }


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return (time.perf_counter() - start) * 1000, result


def bench_start(runs: int, **options: Any) -> list[float]:
    samples = []
    for _ in range(runs):
        ms, server = timed(lambda: Server(**options))
        server.close()
        samples.append(ms)
    return samples


def bench_restart(runs: int) -> list[float]:
    with Server(jetstream=True) as server:
        return [timed(server.restart)[0] for _ in range(runs)]


def bench_cluster(runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        ms, cluster = timed(lambda: Cluster(nodes=3, jetstream=True))
        cluster.close()
        samples.append(ms)
    return samples


def bench_parallel(runs: int, count: int = 20) -> list[float]:
    """``count`` servers started at once from ``count`` threads (ctypes releases the GIL): time until all are ready."""
    samples = []
    with ThreadPoolExecutor(max_workers=count) as pool:
        for _ in range(runs):
            start = time.perf_counter()
            servers = list(pool.map(lambda _: Server(), range(count)))
            samples.append((time.perf_counter() - start) * 1000)
            for server in servers:
                server.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs_positional", nargs="?", type=int, metavar="RUNS", help="runs per case (default 30)")
    parser.add_argument("--runs", type=int, default=None, help="runs per case (default 30)")
    args = parser.parse_args()
    runs = args.runs or args.runs_positional or 30
    if runs < 1:
        parser.error("runs must be at least 1")

    load_library()  # not timed: loading the library happens once per process
    Server().close()  # warm-up: the binary's version probe and the first directory sweep happen once per process
    cases: list[tuple[str, Callable[[], list[float]]]] = [
        ("plain", lambda: bench_start(runs)),
        ("jetstream", lambda: bench_start(runs, jetstream=True)),
        ("restart", lambda: bench_restart(runs)),
        ("cluster", lambda: bench_cluster(max(runs // 3, 3))),
        ("20", lambda: bench_parallel(max(runs // 6, 3))),
    ]
    for case, run in cases:
        samples = run()
        print(json.dumps({"bench": "python", "case": case, "runs": len(samples), "ms": summary(samples)}), flush=True)


if __name__ == "__main__":
    main()
