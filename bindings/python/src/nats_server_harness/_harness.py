"""``Server`` and ``Cluster``: Python objects over the C ABI's handles.

All behaviour lives in the Rust library; these classes own a handle, serialize access to it, translate Python
values (seconds, paths, JSON) and make use after ``close()`` an error instead of a crash.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import ssl
import threading
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from ctypes import c_bool, c_size_t, c_uint16, c_uint32, c_void_p
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, TypeVar, Union

from . import _ffi
from ._errors import ClosedError, InvalidArgument, InvalidOptions, NotRunning, Unavailable
from ._options import SUPERCLUSTER_FIELDS, Keep, cluster_document, to_json
from ._tls import client_context

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from ._options import ClusterKeywords, ServerOptions, SuperclusterKeywords

__all__ = ["Cluster", "Ports", "Server", "Supercluster"]

T = TypeVar("T")

# Every live owned object, closed at interpreter exit so no directory is left behind (the processes would die
# with us anyway: the library asks the kernel to kill them when this process dies).
_live: weakref.WeakSet[Union[Server, Cluster, Supercluster]] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for obj in list(_live):
        with contextlib.suppress(Exception):  # best effort at exit
            obj.close()


def _millis(seconds: float) -> int:
    if seconds < 0:
        raise InvalidArgument(
            f"nats-server harness: invalid argument: a timeout of {seconds} s is negative", InvalidArgument.code
        )
    return round(seconds * 1000)


def _seconds_to_ms(options: dict[str, Any]) -> dict[str, Any]:
    """Turns the Python-only ``startup_timeout`` (seconds) into the shared schema's ``startup_timeout_ms``."""
    if "startup_timeout" not in options:
        return options
    options = dict(options)
    seconds = options.pop("startup_timeout")
    if "startup_timeout_ms" in options:
        raise InvalidOptions(
            "nats-server harness: invalid options: give `startup_timeout` (seconds) or `startup_timeout_ms`, not both",
            InvalidOptions.code,
        )
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise InvalidOptions(
            f"nats-server harness: invalid options: `startup_timeout` must be a positive number of seconds, "
            f"not {seconds!r}",
            InvalidOptions.code,
        )
    options["startup_timeout_ms"] = max(1, round(seconds * 1000))
    return options


class _InFlight:
    """Calls in progress on a cluster and its nodes: they run side by side (the library serializes what must
    be), and :meth:`close` waits for them to finish before the handle is freed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self.closed = False

    @contextlib.contextmanager
    def use(self, closed_message: str) -> Iterator[None]:
        with self._cond:
            if self.closed:
                raise ClosedError(closed_message)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                if self._active == 0:
                    self._cond.notify_all()

    def close(self) -> bool:
        """Refuses new calls and waits for those in progress; True for the call that closed it."""
        with self._cond:
            if self.closed:
                return False
            self.closed = True
            while self._active:
                self._cond.wait()
            return True


@dataclass(frozen=True)
class Ports:
    """Every listener's port (``None``: that listener is off). Dynamic ports are kept across restarts."""

    client: int
    monitoring: int | None
    websocket: int | None
    cluster: int | None


class Server:
    """A real ``nats-server`` process on dynamic ports, ready when the constructor returns.

    ``Server(jetstream=True)`` takes the keywords of the Rust ``ServerOptions`` (see :class:`ServerOptions`), and
    ``startup_timeout`` in seconds as an alternative to ``startup_timeout_ms``. :meth:`spawn` starts one without
    waiting for it.
    Close it with :meth:`close` or use it as a context manager: the process is killed and its private directory
    removed (unless the keep policy says otherwise). A node of a :class:`Cluster` is a ``Server`` too, lent by the
    cluster: closing it does nothing, and it becomes unusable when its cluster is closed.

    Every method may be called from several threads; calls are serialized (a restart makes the others wait).
    """

    _handle: int | None
    #: The cluster or supercluster that lends this node, or ``None`` for a server of its own.
    _cluster: Cluster | Supercluster | None
    _index: int | None

    def __init__(self, **options: Unpack[ServerOptions]) -> None:
        self._launch("nats_server_run", dict(options))

    def _launch(self, function: str, options: dict[str, Any]) -> None:
        self._lock: threading.RLock = threading.RLock()
        self._cluster = None
        self._index = None
        self._handle = None
        self._pid = os.getpid()
        self._handle = _ffi.run(function, to_json(_seconds_to_ms(options)))
        _live.add(self)

    @classmethod
    def spawn(cls, **options: Unpack[ServerOptions]) -> Server:
        """Starts a server and returns at once, without waiting for it to be ready: start several at once, or
        one expected to fail, then call :meth:`wait_ready`. Until then its ports are unknown (0)."""
        server = cls.__new__(cls)
        server._launch("nats_server_spawn", dict(options))
        return server

    def wait_ready(self) -> None:
        """Waits until a server made by :meth:`spawn` is ready, raising what the constructor would have raised
        (the process is then gone; close the object as usual). Returns at once when there is nothing to wait
        for. The startup timeout counts from the spawn."""
        self._call("nats_server_wait_ready")

    @classmethod
    def _node(cls, cluster: Cluster | Supercluster, index: int, handle: int) -> Server:
        node = cls.__new__(cls)
        node._lock = threading.RLock()
        node._cluster = cluster
        node._index = index
        node._handle = handle
        node._pid = cluster._pid
        return node

    # ----- life cycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Kills the server (if it runs) and removes its directory (unless kept). Idempotent. On a cluster's
        node this does nothing: close the cluster."""
        if self._cluster is not None:
            return
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            _live.discard(self)
            if self._pid == os.getpid():  # a forked child never stops its parent's server
                _ffi.free_server(handle)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (for a node: whether its cluster was closed)."""
        if self._cluster is not None:
            return self._cluster.closed
        return self._handle is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_cluster", None) is None and getattr(self, "_handle", None) is not None:
            message = f"unclosed {self!r}: call close() or use `with`"
            with contextlib.suppress(Exception):  # never raise from a finalizer
                self.close()
            # Warned after the cleanup: the warning raises when ResourceWarning is turned into an error.
            warnings.warn(message, ResourceWarning, stacklevel=1, source=self)

    def __repr__(self) -> str:
        what = f"node {self._index} of a cluster" if self._cluster is not None else "Server"
        if self.closed:
            return f"<{what} (closed)>"
        try:
            return f"<{what} {self.client_url} pid={self.pid()}>"
        except Exception:  # noqa: BLE001 - repr must not fail
            return f"<{what}>"

    def _with(self, f: Callable[[int], T]) -> T:
        if self._cluster is not None:
            # A node: calls on different nodes run side by side; the cluster waits for them before it frees.
            message = f"nats-server harness: node {self._index} is closed: its cluster was closed"
            with self._cluster._in_flight.use(message):
                handle = self._handle
                assert handle is not None
                return f(handle)
        with self._lock:
            handle = self._handle
            if handle is None:
                raise ClosedError("nats-server harness: the server is closed (close() was called)")
            return f(handle)

    def _call(self, name: str, *args: Any) -> None:
        self._with(lambda h: _ffi.call(name, h, *args))

    def _out(self, name: str, ctype: Any, *args: Any) -> Any:
        return self._with(lambda h: _ffi.out(name, ctype, h, *args))

    def _string(self, name: str, *args: Any) -> str:
        return self._with(lambda h: _ffi.out_string(name, h, *args))

    def _optional_string(self, name: str) -> str | None:
        try:
            return self._string(name)
        except Unavailable:
            return None

    def _optional_port(self, name: str) -> int | None:
        try:
            return int(self._out(name, c_uint16))
        except Unavailable:
            return None

    # ----- control ----------------------------------------------------------------------------------------------

    def stop(self, timeout: float | None = None) -> None:
        """Stops the server gracefully: SIGTERM, then SIGKILL once ``timeout`` seconds have passed (default 10 s;
        a lame-duck server with clients attached otherwise waits out its grace period). Returns within about
        ``timeout``. A no-op when it is stopped. Its ports and store stay reserved for :meth:`start`."""
        if timeout is None:
            self._call("nats_server_stop")
        else:
            self._call("nats_server_stop_timeout", _millis(timeout))

    def start(self) -> None:
        """Starts a stopped (or killed) server again on the same ports with the same store; returns once it is
        ready. A no-op when it runs. (For a cluster node prefer :meth:`Cluster.start_node`, which also waits for
        it to rejoin.)"""
        self._call("nats_server_start")

    def upgrade(self, version: str) -> None:
        """Stops the server and starts it again on release ``version`` (``"2.15"``, ``"2.15.1"``, ``"latest"``;
        installed first when missing), on the same ports with the same store."""
        self._call("nats_server_upgrade", str(version).encode())

    def restart(self) -> None:
        """Stops the server gracefully and starts it again on the same ports with the same JetStream store."""
        self._call("nats_server_restart")

    def kill(self) -> None:
        """Kills the server at once (SIGKILL, like a crash). A no-op when it is stopped."""
        self._call("nats_server_kill")

    def pause(self) -> None:
        """Freezes the process (SIGSTOP): it keeps its sockets but answers nothing, like a hung server."""
        self._call("nats_server_pause")

    def resume(self) -> None:
        """Lets a paused process run again (SIGCONT)."""
        self._call("nats_server_resume")

    def lame_duck(self) -> None:
        """Puts the server into lame duck mode (SIGUSR2): it stops accepting clients and exits once they are gone
        or its grace period is over. Follow with :meth:`wait_exit`."""
        self._call("nats_server_lame_duck")

    def reload(self) -> None:
        """Makes the server reload its configuration (SIGHUP); edits to ``config_file`` are picked up."""
        self._call("nats_server_reload")

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Waits up to ``timeout`` seconds for the process to exit on its own and reaps it. Returns its exit code
        (minus the signal number when a signal ended it). :class:`TimeoutError` when it still runs,
        :class:`NotRunning` when it was not running."""
        ms = _millis(timeout)
        return self._with(lambda h: _ffi.wait_exit(h, ms))

    def set_keep(self, keep: Keep) -> None:
        """Sets what to keep of the private directory when the server is closed: ``"never"``, ``"on-failure"``
        or ``"always"``."""
        value = _ffi.keep_parse(keep)  # the library's one parser
        self._call("nats_server_set_keep", value)

    def mark_failed(self) -> None:
        """Records that the test using the server failed: under the ``"on-failure"`` keep policy its directory is
        then kept when it is closed (the pytest plugin handles this for its own fixtures)."""
        self._call("nats_server_mark_failed")

    # ----- queries ----------------------------------------------------------------------------------------------

    def is_running(self) -> bool:
        """Whether the process is alive (a paused process counts as alive)."""
        return bool(self._out("nats_server_is_running", c_bool))

    def is_paused(self) -> bool:
        """Whether the process is paused by :meth:`pause`."""
        return bool(self._out("nats_server_is_paused", c_bool))

    def pid(self) -> int | None:
        """The process id, ``None`` when it is stopped."""
        try:
            return int(self._out("nats_server_pid", c_uint32))
        except NotRunning:
            return None

    def last_pid(self) -> int:
        """The process id of the latest start, also after a stop (to find its traces)."""
        return int(self._out("nats_server_last_pid", c_uint32))

    @property
    def tls_required(self) -> bool:
        """Whether clients must use TLS."""
        return bool(self._out("nats_server_tls_required", c_bool))

    @property
    def binary(self) -> Path:
        """The nats-server binary it runs (after the lookup: option, ``NATS_SERVER_BIN``, ``PATH``)."""
        return self._with(lambda h: _ffi.out_path("nats_server_binary", h))

    @property
    def options(self) -> dict[str, Any]:
        """The options it was started with, defaults filled in (the shared schema), parsed."""
        options: dict[str, Any] = json.loads(self._string("nats_server_options_json"))
        return options

    @property
    def client_url(self) -> str:
        """``nats://localhost:PORT`` (``tls://`` when the server requires TLS); known while stopped too."""
        return self._string("nats_server_client_url")

    @property
    def host(self) -> str:
        """The host the server listens on: the ``host`` option, else what its configuration chose, else
        ``127.0.0.1``."""
        return self._string("nats_server_host")

    @property
    def url(self) -> str:
        """The client URL on the real listen address, e.g. ``nats://127.0.0.1:PORT``."""
        return self._string("nats_server_url")

    # ----- the client link's fault proxy (option ``client_proxy=True``) ------------------------------------------

    @property
    def proxied_url(self) -> str:
        """The client URL through the fault proxy, e.g. ``nats://127.0.0.1:PORT``."""
        return self._string("nats_server_proxied_url")

    def add_fault(self, fault: Union[Mapping[str, Any], str]) -> None:
        """Adds a fault, a toxiproxy toxic as a dict or JSON, e.g.
        ``{"type": "latency", "stream": "downstream", "attributes": {"latency": 50}}``."""
        document = fault if isinstance(fault, str) else json.dumps(fault)
        self._call("nats_server_fault_add", document.encode())

    def remove_fault(self, name: Union[str, None] = None) -> None:
        """Removes the fault named ``name``, or every fault when ``name`` is None."""
        self._call("nats_server_fault_remove", None if name is None else name.encode())

    def set_link_up(self, up: bool) -> None:
        """Takes the client link down (open connections closed, new ones refused) or up again."""
        self._call("nats_server_link_set_up", bool(up))

    # ----- the leaf node links' fault proxy (a hub: ``leafnodes=True, leafnode_proxy=True``) ---------------------

    @property
    def proxied_leafnode_url(self) -> str:
        """The leaf node URL through the fault proxy: the one the hub advertises and its leaves connect to."""
        return self._string("nats_server_proxied_leafnode_url")

    def add_leafnode_fault(self, fault: Union[Mapping[str, Any], str]) -> None:
        """Adds a fault to the leaf node links, a toxiproxy toxic as a dict or JSON (as for :meth:`add_fault`)."""
        document = fault if isinstance(fault, str) else json.dumps(fault)
        self._call("nats_server_leafnode_fault_add", document.encode())

    def remove_leafnode_fault(self, name: Union[str, None] = None) -> None:
        """Removes the leaf node links' fault named ``name``, or every fault when ``name`` is None."""
        self._call("nats_server_leafnode_fault_remove", None if name is None else name.encode())

    def set_leafnode_link_up(self, up: bool) -> None:
        """Cuts every leaf off (reconnects refused) or lets them reconnect
        (:meth:`wait_for_leaf_connections` waits for them)."""
        self._call("nats_server_leafnode_link_set_up", bool(up))

    def client_url_with(self, user: str, password: str) -> str:
        """The client URL with a user and password in it (percent-encoded)."""
        return self._string("nats_server_client_url_with", user.encode(), password.encode())

    def client_url_with_token(self, token: str) -> str:
        """The client URL with a token in it (percent-encoded)."""
        return self._string("nats_server_client_url_with_token", token.encode())

    @property
    def client_port(self) -> int:
        """The client port (kept across restarts)."""
        return int(self._out("nats_server_client_port", c_uint16))

    @property
    def monitoring_port(self) -> int | None:
        """The HTTP monitoring port, ``None`` when monitoring is off."""
        return self._optional_port("nats_server_monitoring_port")

    @property
    def websocket_port(self) -> int | None:
        """The websocket port, ``None`` when websocket is off."""
        return self._optional_port("nats_server_websocket_port")

    @property
    def cluster_port(self) -> int | None:
        """The cluster (route) port, ``None`` without a cluster listener."""
        return self._optional_port("nats_server_cluster_port")

    @property
    def ports(self) -> Ports:
        """Every listener's port."""
        return Ports(self.client_port, self.monitoring_port, self.websocket_port, self.cluster_port)

    @property
    def monitoring_url(self) -> str | None:
        """The monitoring base URL, e.g. ``http://127.0.0.1:8222``; ``None`` when monitoring is off."""
        return self._optional_string("nats_server_monitoring_url")

    @property
    def websocket_url(self) -> str | None:
        """The websocket URL, e.g. ``ws://127.0.0.1:8080``; ``None`` when websocket is off."""
        return self._optional_string("nats_server_websocket_url")

    @property
    def cluster_url(self) -> str | None:
        """The route URL peers use to join this server; ``None`` without a cluster listener."""
        return self._optional_string("nats_server_cluster_url")

    @property
    def dir(self) -> Path:
        """The server's private directory (generated config, log, captured output, default store)."""
        return self._with(lambda h: _ffi.out_path("nats_server_dir", h))

    @property
    def store_dir(self) -> Path:
        """The JetStream store directory."""
        return self._with(lambda h: _ffi.out_path("nats_server_store_dir", h))

    # ----- TLS (the ``tls`` option) ------------------------------------------------------------------------------

    def _optional_path(self, name: str) -> Path | None:
        try:
            return self._with(lambda h: _ffi.out_path(name, h))
        except Unavailable:
            return None

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate (PEM) that signed the server's certificate: the generated CA (shared by every server
        of the process) or your ``tls.ca_file``; ``None`` without TLS."""
        return self._optional_path("nats_server_ca_file")

    @property
    def client_cert_file(self) -> Path | None:
        """A client certificate (PEM) signed by the generated CA, for ``tls={"verify": True}``; ``None`` without
        TLS or with your own certificate."""
        return self._optional_path("nats_server_client_cert_file")

    @property
    def client_key_file(self) -> Path | None:
        """The private key (PEM, mode 0600) of :attr:`client_cert_file`."""
        return self._optional_path("nats_server_client_key_file")

    def ssl_context(self, client_cert: bool = True) -> ssl.SSLContext:
        """A client :class:`ssl.SSLContext` that trusts the server's CA and (unless ``client_cert=False``)
        presents the generated client certificate: ``await nats.connect(server.client_url, tls=server.ssl_context())``.
        Raises :class:`Unavailable` when the server has no ``tls`` option."""
        ca = self.ca_file
        if ca is None:
            raise Unavailable(
                "nats-server harness: unavailable: the server has no TLS CA (no `tls` option, or your own certificate "
                "without `tls.ca_file`)",
                Unavailable.code,
            )
        if not client_cert:
            return client_context(ca)
        return client_context(ca, self.client_cert_file, self.client_key_file)

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self._with(lambda h: _ffi.out_path("nats_server_log_path", h))

    # ----- generated authentication material (see the ``users``, ``accounts`` and ``operator`` options) -----

    def creds(self, account: str, user: str) -> Path:
        """The creds file (user JWT and seed, mode 0600) of ``user`` in ``account``, in operator mode; the system
        account is ``SYS`` with user ``sys``. For nats-py: ``nats.connect(url, user_credentials=str(path))``.
        An unknown account or user raises :class:`InvalidArgument` naming it."""
        return self._with(lambda h: _ffi.out_path("nats_server_creds", h, account.encode(), user.encode()))

    def nkey_seed(self, user: str) -> str:
        """The seed (``SU...``) of an nkey user (``nkey: True``, or any user in operator mode): a secret."""
        return self._string("nats_server_nkey_seed", user.encode())

    def nkey_public_key(self, user: str) -> str:
        """The public key (``U...``) of an nkey user."""
        return self._string("nats_server_nkey_public_key", user.encode())

    def seed_file(self, user: str) -> Path:
        """A file (mode 0600) holding an nkey user's seed. For nats-py: ``nkeys_seed=str(path)``."""
        return self._with(lambda h: _ffi.out_path("nats_server_seed_file", h, user.encode()))

    @property
    def auth(self) -> dict[str, Any]:
        """The generated material without secrets: ``{"operator": "O..." or None, "accounts": [...], "users":
        {name: {"account", "public_key", "seed_file", "creds"}}}``."""
        auth: dict[str, Any] = json.loads(self._string("nats_server_auth_json"))
        return auth

    def log_tail(self, lines: int = 50) -> str:
        """The last ``lines`` lines of the log, then anything the server printed to stdout/stderr."""
        return self._string("nats_server_log_tail", max(0, lines))

    @property
    def server_id(self) -> str:
        """The server's id, from its INFO (read on first use after each start; a restart makes a new one).
        Raises :class:`Unavailable` when it cannot be read: the server is stopped or paused and was not asked
        earlier in this start."""
        return self._string("nats_server_server_id")

    @property
    def version(self) -> str:
        """The running server's own version, e.g. ``"2.15.1"``."""
        return self._string("nats_server_version")

    @property
    def info(self) -> dict[str, Any]:
        """The server's INFO, parsed: read on first use after each start and kept until the next one.
        Raises :class:`Unavailable` when it cannot be read: the server is stopped or paused and was not asked
        earlier in this start."""
        info: dict[str, Any] = json.loads(self._string("nats_server_info"))
        return info

    def monitor(self, endpoint: str) -> Any:
        """GETs a monitoring endpoint (``"varz"``, ``"/healthz"``, ``"jsz?accounts=true"``) and returns its parsed
        JSON. Any HTTP status but 200 raises :class:`MonitoringError` quoting the answer."""
        return json.loads(self._string("nats_server_monitor", endpoint.encode()))

    def monitor_status(self, endpoint: str) -> tuple[int, Any]:
        """GETs a monitoring endpoint and returns ``(http_status, parsed_json)`` whatever the status."""
        status, body = self._with(lambda h: _ffi.monitor_status(h, endpoint.encode()))
        return status, json.loads(body) if body else None

    @property
    def gateway_url(self) -> str | None:
        """The gateway URL other clusters use to reach this server; ``None`` without a gateway listener."""
        return self._optional_string("nats_server_gateway_url")

    @property
    def leafnode_url(self) -> str | None:
        """The URL leaves connect to (``leafnodes=True``); ``None`` unless the server is a hub."""
        return self._optional_string("nats_server_leafnode_url")

    @property
    def mqtt_url(self) -> str | None:
        """The MQTT URL, e.g. ``mqtt://127.0.0.1:1883`` (``mqtt=True``); ``None`` when MQTT is off."""
        return self._optional_string("nats_server_mqtt_url")

    def leaf_connections(self) -> int:
        """The leaf node connections the server lists in ``/leafz`` now (a hub's leaves, a leaf's hubs)."""
        return int(self._out("nats_server_leaf_connections", c_size_t))

    def wait_for_leaf_connections(self, count: int = 1, timeout: float = 10.0) -> None:
        """Waits until the server lists at least ``count`` leaf node connections (a hub: its leaves are back,
        e.g. after a restart); :class:`TimeoutError` otherwise."""
        self._call("nats_server_wait_for_leaf_connections", count, _millis(timeout))

    def wait_for_leaf(self, leaf: Server, timeout: float = 10.0) -> None:
        """Waits until this hub lists ``leaf`` and, when the leaf runs JetStream with a ``jetstream_domain``, until
        its JetStream answers through the hub; :class:`TimeoutError` otherwise (after a start, or after either
        restarted)."""
        self._with(lambda h: leaf._with(lambda lh: _ffi.call("nats_server_wait_for_leaf", h, lh, _millis(timeout))))

    @property
    def cluster(self) -> Cluster | None:
        """The cluster this server is a node of, or ``None`` (also for a supercluster's node)."""
        return self._cluster if isinstance(self._cluster, Cluster) else None

    @property
    def index(self) -> int | None:
        """This node's index in its cluster (0-based), or ``None``."""
        return self._index


class Cluster:
    """A cluster of real servers on dynamic ports, ready when the constructor returns: full mesh and, with
    JetStream, a meta leader every node agrees on.

    ``Cluster(nodes=3, jetstream=True)`` takes the Rust ``ClusterOptions`` fields (``nodes``, ``name``,
    ``server``, ``node_config_files``, ``node_names``, ``ready_timeout_ms``); any other keyword is a server option
    for every node (it goes into the ``server`` template). Nodes are :class:`Server` objects lent by the cluster:
    ``cluster[0]``, ``cluster.node(0)``, ``for node in cluster``.
    """

    _handle: int | None

    def __init__(self, **options: Unpack[ClusterKeywords]) -> None:
        self._in_flight = _InFlight()
        self._handle = None
        self._pid = os.getpid()
        document = cluster_document(options)
        if "server" in document:
            document["server"] = _seconds_to_ms(dict(document["server"]))
        self._handle = _ffi.run("nats_cluster_run", to_json(document))
        _live.add(self)
        try:
            count = int(_ffi.out("nats_cluster_len", c_size_t, self._handle))
            self._nodes = [
                Server._node(self, i, int(_ffi.out("nats_cluster_node", c_void_p, self._handle, i)))
                for i in range(count)
            ]
        except BaseException:
            self.close()
            raise

    # ----- life cycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Kills every node and removes their directories (unless kept). Idempotent. Node objects become
        unusable."""
        if not self._in_flight.close():
            return
        handle, self._handle = self._handle, None
        if handle is not None:
            _live.discard(self)
            if self._pid == os.getpid():  # a forked child never stops its parent's cluster
                _ffi.free_cluster(handle)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._in_flight.closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            message = f"unclosed {self!r}: call close() or use `with`"
            with contextlib.suppress(Exception):  # never raise from a finalizer
                self.close()
            # Warned after the cleanup: the warning raises when ResourceWarning is turned into an error.
            warnings.warn(message, ResourceWarning, stacklevel=1, source=self)

    def __repr__(self) -> str:
        if self.closed:
            return "<Cluster (closed)>"
        try:
            return f"<Cluster {self.name} nodes={len(self)}>"
        except Exception:  # noqa: BLE001 - repr must not fail
            return "<Cluster>"

    def _with(self, f: Callable[[int], T]) -> T:
        with self._in_flight.use("nats-server harness: the cluster is closed (close() was called)"):
            handle = self._handle
            if handle is None:
                raise ClosedError("nats-server harness: the cluster is closed (close() was called)")
            return f(handle)

    def _index(self, index: int) -> int:
        """A node index checked by the library (``NATS_SERVER_INVALID_ARGUMENT`` with its message, as in every
        binding); a negative index counts from the end, as in a Python sequence."""
        count = len(self._nodes)
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"a node index is an int, not {type(index).__name__}")
        if -count <= index < 0:
            index += count
        if 0 <= index < count:
            return index
        if index < 0:  # beyond the start: the library's size_t cannot carry it, so it is said here
            raise InvalidArgument(
                f"nats-server harness: invalid argument: node index {index} is out of range: the cluster "
                f"has {count} nodes",
                InvalidArgument.code,
            )
        self._with(lambda h: _ffi.out("nats_cluster_node", c_void_p, h, index))  # raises InvalidArgument
        raise AssertionError(f"node {index} exists in the library only")  # pragma: no cover

    def _node_call(self, name: str, index: int) -> None:
        i = self._index(index)
        self._with(lambda h: _ffi.call(name, h, i))

    # ----- nodes ------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._with(lambda h: int(_ffi.out("nats_cluster_len", c_size_t, h)))

    def node(self, index: int) -> Server:
        """Node ``index`` (0-based; negative counts from the end), lent by the cluster: closing it does nothing."""
        self._with(lambda h: None)
        return self._nodes[self._index(index)]

    def __getitem__(self, index: int) -> Server:
        try:
            return self.node(index)
        except InvalidArgument as e:
            raise IndexError(str(e)) from None

    def __iter__(self) -> Iterator[Server]:
        self._with(lambda h: None)
        return iter(list(self._nodes))

    @property
    def nodes(self) -> list[Server]:
        """Every node, in order."""
        self._with(lambda h: None)
        return list(self._nodes)

    # ----- queries ----------------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The cluster's name."""
        return self._with(lambda h: _ffi.out_string("nats_cluster_name", h))

    @property
    def client_url(self) -> str:
        """Node 0's client URL, as the Rust ``Cluster::client_url()`` and Go's ``Cluster.ClientURL()``."""
        return self.node(0).client_url

    @property
    def ca_file(self) -> Path | None:
        """The CA every node's certificate is signed by (the nodes share it); ``None`` without TLS."""
        return self.node(0).ca_file

    @property
    def client_cert_file(self) -> Path | None:
        """The generated client certificate (for ``tls={"verify": True}``); ``None`` without TLS."""
        return self.node(0).client_cert_file

    @property
    def client_key_file(self) -> Path | None:
        """The private key of :attr:`client_cert_file`."""
        return self.node(0).client_key_file

    def ssl_context(self, client_cert: bool = True) -> ssl.SSLContext:
        """A client :class:`ssl.SSLContext` that verifies every node (see :meth:`Server.ssl_context`)."""
        return self.node(0).ssl_context(client_cert)

    @property
    def client_urls(self) -> list[str]:
        """Every node's client URL in node order (what ``nats.connect(servers=...)`` takes)."""
        urls: list[str] = json.loads(self._with(lambda h: _ffi.out_string("nats_cluster_client_urls_json", h)))
        return urls

    @property
    def client_urls_joined(self) -> str:
        """Every node's client URL joined with commas (``nats_cluster_client_urls``), for clients that take one
        string."""
        return self._with(lambda h: _ffi.out_string("nats_cluster_client_urls", h))

    @property
    def jetstream(self) -> bool:
        """Whether the cluster runs JetStream."""
        return bool(self._with(lambda h: _ffi.out("nats_cluster_jetstream", c_bool, h)))

    def meta_leader(self) -> int | None:
        """The index of the JetStream meta leader the running nodes agree on now, or ``None``."""
        try:
            return int(self._with(lambda h: _ffi.out("nats_cluster_meta_leader", c_size_t, h)))
        except Unavailable:
            return None

    # ----- waits ------------------------------------------------------------------------------------------------

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Waits up to ``timeout`` seconds until every running, unpaused node routes to every other one and, with
        JetStream, they agree on a healthy meta leader. :class:`TimeoutError` otherwise."""
        ms = _millis(timeout)
        self._with(lambda h: _ffi.call("nats_cluster_wait_ready", h, ms))

    def wait_for_leader(self, timeout: float = 30.0) -> int:
        """Waits up to ``timeout`` seconds until the running nodes agree on a JetStream meta leader; returns its
        index. :class:`TimeoutError` otherwise."""
        ms = _millis(timeout)
        return int(self._with(lambda h: _ffi.out("nats_cluster_wait_for_leader", c_size_t, h, ms)))

    # ----- faults -----------------------------------------------------------------------------------------------

    def kill_node(self, index: int) -> None:
        """Kills node ``index`` (SIGKILL, like a crash)."""
        self._node_call("nats_cluster_kill_node", index)

    def stop_node(self, index: int, timeout: float | None = None) -> None:
        """Stops node ``index`` gracefully: SIGTERM, then SIGKILL once ``timeout`` seconds have passed (default
        10 s). A no-op when it is stopped. Stops of different nodes from several threads run in parallel."""
        if timeout is None:
            self._node_call("nats_cluster_stop_node", index)
        else:
            i, ms = self._index(index), _millis(timeout)
            self._with(lambda h: _ffi.call("nats_cluster_stop_node_timeout", h, i, ms))

    def start_node(self, index: int) -> None:
        """Starts node ``index`` again (same ports, same store) and waits until the cluster is ready again."""
        self._node_call("nats_cluster_start_node", index)

    def restart_node(self, index: int) -> None:
        """Restarts node ``index`` (same ports, same store) and waits until the cluster is ready again."""
        self._node_call("nats_cluster_restart_node", index)

    def pause_node(self, index: int) -> None:
        """Freezes node ``index`` (SIGSTOP). Readiness waits leave paused nodes out."""
        self._node_call("nats_cluster_pause_node", index)

    def resume_node(self, index: int) -> None:
        """Lets node ``index`` run again (SIGCONT)."""
        self._node_call("nats_cluster_resume_node", index)

    def lame_duck_node(self, index: int) -> None:
        """Puts node ``index`` into lame duck mode."""
        self._node_call("nats_cluster_lame_duck_node", index)

    def rolling_restart(self) -> None:
        """Restarts every node in turn, waiting for the cluster to be ready after each."""
        self._with(lambda h: _ffi.call("nats_cluster_rolling_restart", h))

    def upgrade_node(self, index: int, version: str) -> None:
        """Restarts node ``index`` on release ``version`` (installed first when missing), same ports and store, and
        waits until the cluster is ready again."""
        i = self._index(index)
        self._with(lambda h: _ffi.call("nats_cluster_upgrade_node", h, i, str(version).encode()))

    def rolling_upgrade(self, version: str) -> None:
        """Upgrades every node in turn to release ``version``; the release is installed before any node stops."""
        self._with(lambda h: _ffi.call("nats_cluster_rolling_upgrade", h, str(version).encode()))

    def set_keep(self, keep: Keep) -> None:
        """Sets the keep policy of every node: ``"never"``, ``"on-failure"`` or ``"always"``."""
        value = _ffi.keep_parse(keep)  # the library's one parser
        self._with(lambda h: _ffi.call("nats_cluster_set_keep", h, value))

    def mark_failed(self) -> None:
        """Records that the test using the cluster failed, for every node (see :meth:`Server.mark_failed`)."""
        self._with(lambda h: _ffi.call("nats_cluster_mark_failed", h))

    # ----- route links (option ``route_proxies=True``) ------------------------------------------------------------

    def partition(self, groups: Sequence[Sequence[int]]) -> None:
        """Cuts every route between nodes of different groups (0-based), e.g. ``partition([[0], [1, 2]])``; nodes
        not named form one more group together."""
        document = json.dumps([[int(i) for i in group] for group in groups])
        self._with(lambda h: _ffi.call("nats_cluster_partition", h, document.encode()))

    def heal(self) -> None:
        """Brings every route link up again."""
        self._with(lambda h: _ffi.call("nats_cluster_heal", h))

    def add_route_fault(self, from_node: int, to_node: int, fault: Union[Mapping[str, Any], str]) -> None:
        """Adds a fault (a toxiproxy toxic, as for :meth:`Server.add_fault`) to the route link ``from_node`` dials
        to ``to_node``."""
        a, b = self._index(from_node), self._index(to_node)
        document = fault if isinstance(fault, str) else json.dumps(fault)
        self._with(lambda h: _ffi.call("nats_cluster_route_fault_add", h, a, b, document.encode()))

    def remove_route_fault(self, from_node: int, to_node: int, name: Union[str, None] = None) -> None:
        """Removes the fault named ``name`` (every fault when None) from the route link ``from_node`` dials to
        ``to_node``."""
        a, b = self._index(from_node), self._index(to_node)
        encoded = None if name is None else name.encode()
        self._with(lambda h: _ffi.call("nats_cluster_route_fault_remove", h, a, b, encoded))


class Supercluster:
    """Clusters of real servers joined by gateways, on dynamic ports, ready when the constructor returns: every
    cluster meshed, every gateway connected and, with JetStream, one meta leader every node agrees on.

    ``Supercluster(clusters=2, nodes=3, jetstream=True)`` takes the Rust ``SuperclusterOptions`` fields
    (``clusters``, ``nodes``, ``names``, ``server``, ``ready_timeout_ms``); any other keyword is a server option
    for every node. Nodes are :class:`Server` objects lent by the supercluster: ``sc.node(1, 0)`` is node 0 of
    cluster 1; their faults go through the supercluster (``sc.restart_node(1, 0)`` returns once the node is back in
    the supercluster).
    """

    _handle: int | None

    def __init__(self, **options: Unpack[SuperclusterKeywords]) -> None:
        self._lock: threading.RLock = threading.RLock()
        # Calls on nodes run side by side (see Cluster); close() waits for them before it frees the handle.
        self._in_flight = _InFlight()
        self._handle = None
        self._pid = os.getpid()
        document = cluster_document(options, SUPERCLUSTER_FIELDS)
        self._handle = _ffi.run("nats_supercluster_run", to_json(document))
        _live.add(self)
        try:
            count = int(_ffi.out("nats_supercluster_len", c_size_t, self._handle))
            self._nodes: list[list[Server]] = []
            for c in range(count):
                size = int(_ffi.out("nats_supercluster_cluster_len", c_size_t, self._handle, c))
                self._nodes.append(
                    [
                        Server._node(self, i, int(_ffi.out("nats_supercluster_node", c_void_p, self._handle, c, i)))
                        for i in range(size)
                    ]
                )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Kills every node and removes their directories (unless kept). Idempotent."""
        if not self._in_flight.close():
            return
        with self._lock:
            handle, self._handle = self._handle, None
            if handle is not None:
                _live.discard(self)
                if self._pid == os.getpid():  # a forked child never stops its parent's supercluster
                    _ffi.free_supercluster(handle)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._handle is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            message = f"unclosed {self!r}: call close() or use `with`"
            with contextlib.suppress(Exception):  # never raise from a finalizer
                self.close()
            warnings.warn(message, ResourceWarning, stacklevel=1, source=self)

    def __repr__(self) -> str:
        if self.closed:
            return "<Supercluster (closed)>"
        try:
            return f"<Supercluster {self.names}>"
        except Exception:  # noqa: BLE001 - repr must not fail
            return "<Supercluster>"

    def _with(self, f: Callable[[int], T]) -> T:
        with self._lock:
            handle = self._handle
            if handle is None:
                raise ClosedError("nats-server harness: the supercluster is closed (close() was called)")
            return f(handle)

    def _indices(self, cluster: int, index: int) -> tuple[int, int]:
        for what, value in (("cluster", cluster), ("node", index)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidArgument(
                    f"nats-server harness: invalid argument: a {what} index is an int >= 0, not {value!r}",
                    InvalidArgument.code,
                )
        return cluster, index

    def _node_call(self, name: str, cluster: int, index: int) -> None:
        c, i = self._indices(cluster, index)
        self._with(lambda h: _ffi.call(name, h, c, i))

    # ----- clusters and nodes -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of clusters."""
        return self._with(lambda h: int(_ffi.out("nats_supercluster_len", c_size_t, h)))

    def node(self, cluster: int, index: int) -> Server:
        """Node ``index`` of cluster ``cluster`` (both 0-based), lent by the supercluster."""
        c, i = self._indices(cluster, index)
        handle = self._with(lambda h: int(_ffi.out("nats_supercluster_node", c_void_p, h, c, i)))
        node = self._nodes[c][i]
        assert node._handle == handle  # the library lends the same handle every time
        return node

    @property
    def clusters(self) -> list[list[Server]]:
        """Every node, by cluster."""
        self._with(lambda h: None)
        return [list(nodes) for nodes in self._nodes]

    @property
    def names(self) -> list[str]:
        """The cluster names (their gateway names, e.g. for JetStream placement), in order."""
        return [self._cluster_name(c) for c in range(len(self._nodes))]

    def _cluster_name(self, cluster: int) -> str:
        return self._with(lambda h: _ffi.out_string("nats_supercluster_cluster_name", h, cluster))

    @property
    def client_urls(self) -> list[list[str]]:
        """Every node's client URL, by cluster."""
        urls: list[list[str]] = json.loads(
            self._with(lambda h: _ffi.out_string("nats_supercluster_client_urls_json", h))
        )
        return urls

    @property
    def client_url(self) -> str:
        """The client URL of node 0 of cluster 0."""
        return self.client_urls[0][0]

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Waits until the supercluster is ready again (stopped and paused nodes left out)."""
        ms = _millis(timeout)
        self._with(lambda h: _ffi.call("nats_supercluster_wait_ready", h, ms))

    def wait_for_leader(self, timeout: float = 30.0) -> tuple[int, int]:
        """Waits for a JetStream meta leader; returns its (cluster, node) indices."""
        ms = _millis(timeout)
        return self._with(lambda h: _ffi.wait_for_leader_at(h, ms))

    def wait_for_queue_interest(self, subject: str, queue: str, timeout: float = 10.0) -> None:
        """Waits until the queue group ``queue`` on ``subject`` is known across the gateways: every node of every
        other cluster lists it for each cluster with a member. Call it after subscribing (and flushing), before
        publishing to the group: a message published while a cluster learns of another's members may be delivered
        in both. Raises a timeout error naming the group otherwise (also when no cluster has a member)."""
        ms = _millis(timeout)
        subj, group = subject.encode(), queue.encode()
        self._with(lambda h: _ffi.call("nats_supercluster_wait_for_queue_interest", h, subj, group, ms))

    # ----- node faults ------------------------------------------------------------------------------------------

    def kill_node(self, cluster: int, index: int) -> None:
        """Kills node ``index`` of cluster ``cluster`` (SIGKILL)."""
        self._node_call("nats_supercluster_kill_node", cluster, index)

    def stop_node(self, cluster: int, index: int) -> None:
        """Stops a node gracefully."""
        self._node_call("nats_supercluster_stop_node", cluster, index)

    def start_node(self, cluster: int, index: int) -> None:
        """Starts a node again (same ports, same store); returns once it is back in the supercluster."""
        self._node_call("nats_supercluster_start_node", cluster, index)

    def restart_node(self, cluster: int, index: int) -> None:
        """Restarts a node; returns once it is back in the supercluster (routes, gateways, JetStream)."""
        self._node_call("nats_supercluster_restart_node", cluster, index)

    def pause_node(self, cluster: int, index: int) -> None:
        """Freezes a node (SIGSTOP)."""
        self._node_call("nats_supercluster_pause_node", cluster, index)

    def resume_node(self, cluster: int, index: int) -> None:
        """Lets a paused node run again (SIGCONT)."""
        self._node_call("nats_supercluster_resume_node", cluster, index)

    def lame_duck_node(self, cluster: int, index: int) -> None:
        """Puts a node into lame duck mode."""
        self._node_call("nats_supercluster_lame_duck_node", cluster, index)

    def set_keep(self, keep: Keep) -> None:
        """Sets what to keep of every node's directory when closed."""
        value = _ffi.keep_parse(keep)  # the library's one parser
        self._with(lambda h: _ffi.call("nats_supercluster_set_keep", h, value))

    def mark_failed(self) -> None:
        """Records that the test using this supercluster failed (under on-failure, its directories are kept)."""
        self._with(lambda h: _ffi.call("nats_supercluster_mark_failed", h))

    # ----- gateway links (option ``gateway_proxies=True``) --------------------------------------------------------

    def partition(self, groups: Sequence[Sequence[int]]) -> None:
        """Cuts every gateway link between clusters of different groups (0-based cluster indexes), e.g.
        ``partition([[0], [1]])``; clusters not named form one more group together. Routes are untouched."""
        document = json.dumps([[int(c) for c in group] for group in groups])
        self._with(lambda h: _ffi.call("nats_supercluster_partition", h, document.encode()))

    def heal(self) -> None:
        """Brings every gateway link up again."""
        self._with(lambda h: _ffi.call("nats_supercluster_heal", h))

    def add_gateway_fault(
        self, from_node: tuple[int, int], to_node: tuple[int, int], fault: Union[Mapping[str, Any], str]
    ) -> None:
        """Adds a fault (a toxiproxy toxic, as for :meth:`Server.add_fault`) to the gateway link node
        ``from_node`` (cluster, node) dials to node ``to_node`` of another cluster."""
        (fc, fi), (tc, ti) = self._indices(*from_node), self._indices(*to_node)
        document = fault if isinstance(fault, str) else json.dumps(fault)
        self._with(lambda h: _ffi.call("nats_supercluster_gateway_fault_add", h, fc, fi, tc, ti, document.encode()))

    def remove_gateway_fault(
        self, from_node: tuple[int, int], to_node: tuple[int, int], name: Union[str, None] = None
    ) -> None:
        """Removes the fault named ``name`` (every fault when None) from a gateway link."""
        (fc, fi), (tc, ti) = self._indices(*from_node), self._indices(*to_node)
        encoded = None if name is None else name.encode()
        self._with(lambda h: _ffi.call("nats_supercluster_gateway_fault_remove", h, fc, fi, tc, ti, encoded))
