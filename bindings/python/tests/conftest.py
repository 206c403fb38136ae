"""Shared helpers, and the session's own leak check: no server process and no directory of this process may be
left once every other fixture is torn down."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import nats.errors
import nats.js.errors
import pytest

T = TypeVar("T")

#: What a JetStream request answers while a stream or the meta layer is electing a leader: retry, don't fail.
JETSTREAM_NOT_YET = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
)

HARNESS_ROOT = Path(tempfile.gettempdir()) / "nats-server-harness"


def run(coro: Awaitable[T], timeout: float = 30.0) -> T:
    """Runs a coroutine of the nats-py client to completion (no pytest-asyncio needed)."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def eventually(check: Callable[[], T | None], timeout: float = 10.0, what: str = "condition") -> T:
    """Polls ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat[stat.rindex(")") + 2]
    return state not in ("Z", "X")


def child_servers(parent: int | None = None) -> list[int]:
    """Live nats-server processes whose parent is ``parent`` (default: this process)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if name == "nats-server" and int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def my_dirs(include_kept: bool = True) -> list[Path]:
    """The harness directories this process created that still exist (``include_kept=False``: except those kept
    on purpose, which carry a ``kept`` marker)."""
    if not HARNESS_ROOT.is_dir():
        return []
    found = HARNESS_ROOT.glob(f"ns-{os.getpid()}-*")
    return sorted(d for d in found if include_kept or not (d / "kept").exists())


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up first, torn down last: after every server and cluster of this session (fixtures, factories, the
    pytester runs inside this process) is gone, no nats-server child may run and no directory of ours may exist."""
    yield
    leftover_pids = child_servers()
    assert not leftover_pids, f"nats-server processes left running: {leftover_pids}"
    # A failed test keeps its servers' directories (the on-failure policy); otherwise nothing may be left.
    leftover_dirs = my_dirs(include_kept=request.session.testsfailed == 0)
    assert not leftover_dirs, f"directories left behind: {leftover_dirs}"


@pytest.fixture
def nats_bin() -> str:
    """The real nats-server binary (from $NATS_SERVER_BIN, as CI sets it)."""
    binary = os.environ.get("NATS_SERVER_BIN", "")
    if not binary:
        pytest.fail("set NATS_SERVER_BIN to a nats-server binary to run these tests")
    return binary
