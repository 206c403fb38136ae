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
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
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


def bare_start(binary: str, extra: list[str]) -> float:
    """The bare server started as a careful Python script would: dynamic ports, a private ports file directory
    polled like the harness polls (50 µs growing to 0.5 ms). Returns the time to its ports file."""
    directory = tempfile.mkdtemp(prefix="bare-")
    args = [binary, "-a", "127.0.0.1", "-p", "-1", "-m", "-1", "--ports_file_dir", directory]
    args += ["--store_dir", os.path.join(directory, "js"), "-l", os.path.join(directory, "log"), *extra]
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    suffix, pause = f"_{child.pid}.ports", 0.00005
    try:
        while True:
            names = [n for n in os.listdir(directory) if n.endswith(suffix)]
            if names:
                try:
                    with open(os.path.join(directory, names[0])) as f:
                        if json.load(f).get("nats"):
                            return (time.perf_counter() - start) * 1000
                except ValueError:
                    pass  # written non-atomically: read again
            if child.poll() is not None:
                raise RuntimeError(f"the bare nats-server exited with {child.returncode}")
            time.sleep(pause)
            pause = min(pause * 2, 0.0005)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        shutil.rmtree(directory, ignore_errors=True)


def bench_start(runs: int, bare: list[float] | None = None, **options: Any) -> list[float]:
    """Times ``Server(**options)``; with ``bare``, alternates with a bare start and collects those too."""
    binary = os.environ.get("NATS_SERVER_BIN") or shutil.which("nats-server") or "nats-server"
    extra = ["-js"] if options.get("jetstream") else []
    samples = []
    for _ in range(runs):
        if bare is not None:
            bare.append(bare_start(binary, extra))
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
    # The single-server cases alternate with bare starts made from this process: "bare_inline_python" lines.
    bare: dict[str, list[float]] = {"plain": [], "jetstream": []}
    cases: list[tuple[str, Callable[[], list[float]]]] = [
        ("plain", lambda: bench_start(runs, bare["plain"])),
        ("jetstream", lambda: bench_start(runs, bare["jetstream"], jetstream=True)),
        ("restart", lambda: bench_restart(runs)),
        ("cluster", lambda: bench_cluster(max(runs // 3, 3))),
        ("20", lambda: bench_parallel(max(runs // 6, 3))),
    ]
    for case, run in cases:
        samples = run()
        print(json.dumps({"bench": "python", "case": case, "runs": len(samples), "ms": summary(samples)}), flush=True)
        if bare.get(case):
            line = {"bench": "bare_inline_python", "case": case, "runs": len(bare[case]), "ms": summary(bare[case])}
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
