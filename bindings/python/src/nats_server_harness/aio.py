"""The asyncio surface: ``AsyncServer`` and ``AsyncCluster``, for tests that already run an event loop (nats-py is
asyncio-only).

Every call that waits (start, stop, restart, kill, readiness, monitoring requests, close) runs the blocking library
call in a worker thread (:func:`asyncio.to_thread`), so the loop keeps serving its clients meanwhile::

    async with AsyncServer(jetstream=True) as server:
        nc = await nats.connect(server.client_url)
        await server.restart()
        await server.stop(timeout=0.5)

    server = await AsyncServer.run(jetstream=True)   # the same, without the context manager
    await server.close()

Quick queries (URLs, ports, the directory) are plain properties: they answer from the harness's memory without
waiting. The underlying synchronous object is :attr:`AsyncServer.sync` (and :attr:`AsyncCluster.sync`).
Calls on different nodes of an :class:`AsyncCluster` run in parallel (``asyncio.gather`` of three node stops takes
about as long as one).
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ._harness import Cluster, Ports, Server

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from ._options import ClusterKeywords, Keep, ServerOptions

__all__ = ["AsyncCluster", "AsyncServer"]

T = TypeVar("T")


async def _in_thread(f: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(functools.partial(f, *args, **kwargs))


class AsyncServer:
    """A real ``nats-server`` driven from asyncio. ``AsyncServer(**options)`` takes the options of
    :class:`~nats_server_harness.Server` and starts nothing yet: ``async with`` (or :meth:`run`) starts it and
    returns once it is ready."""

    def __init__(self, **options: Unpack[ServerOptions]) -> None:
        self._options: dict[str, Any] = dict(options)
        self._server: Server | None = None

    @classmethod
    async def run(cls, **options: Unpack[ServerOptions]) -> AsyncServer:
        """Starts a server and returns once it is ready (without blocking the loop)."""
        server = cls(**options)
        await server._run()
        return server

    @classmethod
    async def spawn(cls, **options: Unpack[ServerOptions]) -> AsyncServer:
        """Starts a server without waiting for it to be ready; follow with :meth:`wait_ready`."""
        server = cls(**options)
        server._server = await _in_thread(Server.spawn, **server._options)
        return server

    @classmethod
    def _wrap(cls, server: Server) -> AsyncServer:
        wrapped = cls.__new__(cls)
        wrapped._options = {}
        wrapped._server = server
        return wrapped

    async def _run(self) -> None:
        if self._server is None:
            self._server = await _in_thread(Server, **self._options)

    @property
    def sync(self) -> Server:
        """The synchronous :class:`~nats_server_harness.Server` (its blocking methods block the loop)."""
        if self._server is None:
            raise RuntimeError("nats-server harness: the AsyncServer is not started: use `async with` or run()")
        return self._server

    async def __aenter__(self) -> Self:
        await self._run()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<AsyncServer {self._server!r}>" if self._server is not None else "<AsyncServer (not started)>"

    # ----- awaitable control ------------------------------------------------------------------------------------

    async def close(self) -> None:
        """Kills the server (if it runs) and removes its directory (unless kept). Idempotent."""
        if self._server is not None:
            await _in_thread(self._server.close)

    async def wait_ready(self) -> None:
        """Waits until a server made by :meth:`spawn` is ready (same errors as :meth:`run`)."""
        await _in_thread(self.sync.wait_ready)

    async def start(self) -> None:
        """Starts a stopped server again on the same ports with the same store."""
        await _in_thread(self.sync.start)

    async def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (default 10 s); see :meth:`Server.stop`."""
        await _in_thread(self.sync.stop, timeout)

    async def restart(self) -> None:
        """Stops the server and starts it again on the same ports with the same store."""
        await _in_thread(self.sync.restart)

    async def kill(self) -> None:
        """Kills the server at once (SIGKILL, like a crash)."""
        await _in_thread(self.sync.kill)

    async def pause(self) -> None:
        """Freezes the process (SIGSTOP)."""
        await _in_thread(self.sync.pause)

    async def resume(self) -> None:
        """Lets a paused process run again (SIGCONT)."""
        await _in_thread(self.sync.resume)

    async def lame_duck(self) -> None:
        """Puts the server into lame duck mode (SIGUSR2)."""
        await _in_thread(self.sync.lame_duck)

    async def reload(self) -> None:
        """Makes the server reload its configuration (SIGHUP)."""
        await _in_thread(self.sync.reload)

    async def wait_exit(self, timeout: float = 10.0) -> int:
        """Waits for the process to exit on its own; returns its exit code."""
        return await _in_thread(self.sync.wait_exit, timeout)

    async def monitor(self, endpoint: str) -> Any:
        """GETs a monitoring endpoint and returns its parsed JSON."""
        return await _in_thread(self.sync.monitor, endpoint)

    async def info(self) -> dict[str, Any]:
        """The server's INFO, parsed."""
        return await _in_thread(lambda: self.sync.info)

    def set_keep(self, keep: Keep) -> None:
        """Sets what to keep of the private directory when closed."""
        self.sync.set_keep(keep)

    def mark_failed(self) -> None:
        """Records that the test using the server failed (see :meth:`Server.mark_failed`)."""
        self.sync.mark_failed()

    # ----- quick queries ----------------------------------------------------------------------------------------

    def is_running(self) -> bool:
        """Whether the process is alive."""
        return self.sync.is_running()

    def pid(self) -> int | None:
        """The process id, ``None`` when stopped."""
        return self.sync.pid()

    @property
    def client_url(self) -> str:
        """``nats://localhost:PORT`` (``tls://`` when TLS is required)."""
        return self.sync.client_url

    @property
    def url(self) -> str:
        """The client URL on the real listen address."""
        return self.sync.url

    @property
    def host(self) -> str:
        """The host the server listens on."""
        return self.sync.host

    @property
    def ports(self) -> Ports:
        """Every listener's port."""
        return self.sync.ports

    @property
    def client_port(self) -> int:
        """The client port."""
        return self.sync.client_port

    @property
    def monitoring_url(self) -> str | None:
        """The monitoring base URL, ``None`` when monitoring is off."""
        return self.sync.monitoring_url

    @property
    def websocket_url(self) -> str | None:
        """The websocket URL (``wss://`` with TLS), ``None`` when websocket is off."""
        return self.sync.websocket_url

    @property
    def cluster_url(self) -> str | None:
        """The route URL, ``None`` without a cluster listener."""
        return self.sync.cluster_url

    @property
    def dir(self) -> Path:
        """The server's private directory."""
        return self.sync.dir

    def log_tail(self, lines: int = 50) -> str:
        """The last lines of the log."""
        return self.sync.log_tail(lines)


class AsyncCluster:
    """A cluster of real servers driven from asyncio. ``AsyncCluster(**options)`` takes the options of
    :class:`~nats_server_harness.Cluster`; ``async with`` (or :meth:`run`) starts it and returns once it is
    ready. Node operations on different nodes run in parallel."""

    def __init__(self, **options: Unpack[ClusterKeywords]) -> None:
        self._options: dict[str, Any] = dict(options)
        self._cluster: Cluster | None = None
        self._nodes: list[AsyncServer] = []

    @classmethod
    async def run(cls, **options: Unpack[ClusterKeywords]) -> AsyncCluster:
        """Starts a cluster and returns once it is ready (without blocking the loop)."""
        cluster = cls(**options)
        await cluster._run()
        return cluster

    async def _run(self) -> None:
        if self._cluster is None:
            self._cluster = await _in_thread(Cluster, **self._options)
            self._nodes = [AsyncServer._wrap(node) for node in self._cluster.nodes]

    @property
    def sync(self) -> Cluster:
        """The synchronous :class:`~nats_server_harness.Cluster`."""
        if self._cluster is None:
            raise RuntimeError("nats-server harness: the AsyncCluster is not started: use `async with` or run()")
        return self._cluster

    async def __aenter__(self) -> Self:
        await self._run()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Kills every node and removes their directories (unless kept). Idempotent."""
        if self._cluster is not None:
            await _in_thread(self._cluster.close)

    def node(self, index: int) -> AsyncServer:
        """Node ``index`` (0-based; negative counts from the end)."""
        self.sync.node(index)  # checks the index and that the cluster is open
        return self._nodes[index]

    def __getitem__(self, index: int) -> AsyncServer:
        self.sync[index]
        return self._nodes[index]

    def __len__(self) -> int:
        return len(self._nodes)

    @property
    def nodes(self) -> list[AsyncServer]:
        """Every node, in order."""
        return list(self._nodes)

    @property
    def name(self) -> str:
        """The cluster's name."""
        return self.sync.name

    @property
    def client_url(self) -> str:
        """The first node's client URL."""
        return self.sync.client_urls[0]

    @property
    def client_urls(self) -> list[str]:
        """Every node's client URL, in node order."""
        return self.sync.client_urls

    async def stop_node(self, index: int, timeout: float | None = None) -> None:
        """Stops node ``index`` (SIGTERM, SIGKILL after ``timeout`` seconds)."""
        await _in_thread(self.sync.stop_node, index, timeout)

    async def kill_node(self, index: int) -> None:
        """Kills node ``index`` (SIGKILL)."""
        await _in_thread(self.sync.kill_node, index)

    async def start_node(self, index: int) -> None:
        """Starts node ``index`` again and waits until the cluster is ready again."""
        await _in_thread(self.sync.start_node, index)

    async def restart_node(self, index: int) -> None:
        """Restarts node ``index`` and waits until the cluster is ready again."""
        await _in_thread(self.sync.restart_node, index)

    async def pause_node(self, index: int) -> None:
        """Freezes node ``index`` (SIGSTOP)."""
        await _in_thread(self.sync.pause_node, index)

    async def resume_node(self, index: int) -> None:
        """Lets node ``index`` run again (SIGCONT)."""
        await _in_thread(self.sync.resume_node, index)

    async def lame_duck_node(self, index: int) -> None:
        """Puts node ``index`` into lame duck mode."""
        await _in_thread(self.sync.lame_duck_node, index)

    async def rolling_restart(self) -> None:
        """Restarts every node in turn, waiting for the cluster to be ready after each."""
        await _in_thread(self.sync.rolling_restart)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Waits until the running nodes form a full mesh (and agree on a JetStream leader)."""
        await _in_thread(self.sync.wait_ready, timeout)

    async def wait_for_leader(self, timeout: float = 30.0) -> int:
        """Waits until the running nodes agree on a JetStream meta leader; returns its index."""
        return await _in_thread(self.sync.wait_for_leader, timeout)

    def mark_failed(self) -> None:
        """Records that the test using the cluster failed."""
        self.sync.mark_failed()
