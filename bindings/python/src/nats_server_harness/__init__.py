"""Real ``nats-server`` processes for Python tests: single servers and clusters on dynamic ports, ready in
milliseconds, restartable on the same port, cleaned up when closed.

A thin binding over the ``nats-server`` harness's C ABI (include/nats_server.h): the Rust library does the work.

    from nats_server_harness import Server, Cluster

    with Server(jetstream=True) as server:
        nc = await nats.connect(server.client_url)
        server.restart()                  # same port, same JetStream store

    with Cluster(nodes=3, jetstream=True) as cluster:
        nc = await nats.connect(servers=cluster.client_urls)
        cluster.kill_node(1)
        cluster.start_node(1)             # returns once it has rejoined

The pytest plugin (``nats_server_harness.pytest_plugin``, registered automatically) provides the fixtures
``nats_server``, ``nats_jetstream_server``, ``nats_operator_server``, ``nats_cluster``, ``nats_supercluster``,
``nats_leaf_pair``, ``nats_server_factory``, ``nats_cluster_factory`` and ``nats_supercluster_factory``.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from . import _ffi
from ._auth import Account, AccountLimits, Export, Import, JetStreamLimits, Permissions, Rule, User
from ._errors import (
    AbiMismatch,
    BinaryNotFound,
    BorrowedHandle,
    ClosedError,
    ConfigError,
    HarnessIOError,
    InstallError,
    InternalError,
    InvalidArgument,
    InvalidHandle,
    InvalidOptions,
    InvalidUtf8,
    LibraryNotFound,
    MonitoringError,
    NatsServerError,
    NotRunning,
    NullArgument,
    PortInUse,
    ServerExited,
    StartupTimeout,
    TimeoutError,  # noqa: A004 - the C ABI's name; it also is a builtins.TimeoutError
    Unavailable,
)
from ._ffi import ABI_VERSION, LIB_ENV, abi_version, install, library_path, library_version, versions
from ._harness import Cluster, Ports, Server, Supercluster
from ._options import (
    ClusterKeywords,
    ClusterListener,
    ClusterOptions,
    GatewayListener,
    Keep,
    LeafRemote,
    RemoteGateway,
    ServerOptions,
    SuperclusterKeywords,
    SuperclusterOptions,
    TlsOptions,
)

try:  # the installed distribution's version: the crate's (set once, in Cargo.toml)
    __version__ = _metadata.version("nats-server-harness")
except _metadata.PackageNotFoundError:  # pragma: no cover - imported from a source tree (PYTHONPATH)
    __version__ = "0+unknown"

__all__ = [
    "ABI_VERSION",
    "LIB_ENV",
    "AbiMismatch",
    "Account",
    "AccountLimits",
    "BinaryNotFound",
    "BorrowedHandle",
    "ClosedError",
    "Cluster",
    "ClusterKeywords",
    "ClusterListener",
    "ClusterOptions",
    "ConfigError",
    "Export",
    "GatewayListener",
    "HarnessIOError",
    "Import",
    "InstallError",
    "InternalError",
    "InvalidArgument",
    "InvalidHandle",
    "InvalidOptions",
    "InvalidUtf8",
    "JetStreamLimits",
    "Keep",
    "LeafRemote",
    "LibraryNotFound",
    "MonitoringError",
    "NatsServerError",
    "NotRunning",
    "NullArgument",
    "Permissions",
    "PortInUse",
    "Ports",
    "RemoteGateway",
    "Rule",
    "Server",
    "ServerExited",
    "ServerOptions",
    "StartupTimeout",
    "Supercluster",
    "SuperclusterKeywords",
    "SuperclusterOptions",
    "TimeoutError",
    "TlsOptions",
    "Unavailable",
    "User",
    "abi_version",
    "install",
    "library_path",
    "library_version",
    "load_library",
    "versions",
]


def load_library() -> str:
    """Loads the shared library now (it is otherwise loaded on first use) and checks its C ABI version; returns
    its path. Raises :class:`LibraryNotFound` or :class:`AbiMismatch` with the reason."""
    _ffi.lib()
    return str(_ffi.library_path())
