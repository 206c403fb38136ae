"""No orphans: a Python test process that is SIGKILLed takes its servers (a server and a cluster) with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from conftest import eventually, pid_alive

CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from nats_server_harness import Cluster, Server

    # Started from a short-lived thread: the server must outlive the thread, not the process.
    box = []
    thread = threading.Thread(target=lambda: box.append(Server(jetstream=True)))
    thread.start()
    thread.join()
    cluster = Cluster(nodes=3, jetstream=True)
    for server in [box[0], *(cluster[i] for i in range(len(cluster)))]:
        print("SERVER", server.pid(), server.dir, flush=True)
    print("READY", flush=True)
    time.sleep(300)
    """
)


def test_a_sigkilled_test_process_leaves_no_server_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        pids: list[int] = []
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("SERVER "):
                pids.append(int(line.split()[1]))
            elif line.strip() == "READY":
                break
        assert len(pids) == 4, f"the child reported {pids}"
        assert all(pid_alive(pid) for pid in pids), "servers must outlive the thread that started them"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        eventually(
            lambda: not any(pid_alive(pid) for pid in pids),
            timeout=1.0,
            what=f"servers {pids} to die within a second of their test process",
        )
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
