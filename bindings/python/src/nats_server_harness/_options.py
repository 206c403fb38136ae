"""The options schema, typed for Python: the Rust ``ServerOptions`` / ``ClusterOptions`` (src/options.rs).

These are types only: the keywords given to :class:`~nats_server_harness.Server` and
:class:`~nats_server_harness.Cluster` cross to the library as one JSON document, and the library validates them
(an unknown or ill-typed keyword is an :class:`~nats_server_harness.InvalidOptions` naming the field). Paths may be
``str`` or ``os.PathLike``. Durations are whole milliseconds, as in the Rust schema.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Optional, TypedDict, Union

from ._auth import Account, JetStreamLimits, User
from ._errors import InvalidOptions

#: What to keep of a server's private directory (log, config, store) when it is closed: ``"never"``,
#: ``"on-failure"`` or ``"always"``, or any other spelling the library's one parser accepts (``"on_failure"``,
#: ``"0"``/``"1"``, ``"false"``/``"true"``, any case), as ``NATS_SERVER_KEEP`` does. The library checks it.
Keep = Union[Literal["never", "on-failure", "always"], str]


StrPath = Union[str, "os.PathLike[str]"]


class ClusterListener(TypedDict, total=False):
    """A cluster (route) listener for one server: the building block of custom topologies."""

    #: The cluster name; servers only join peers with the same name.
    name: str
    #: The cluster port; ``None`` picks a free one (kept across restarts).
    port: Optional[int]
    #: Route URLs to peers, e.g. ``nats://127.0.0.1:6222``.
    routes: Sequence[str]


class RemoteGateway(TypedDict, total=False):
    """Another cluster a gateway connects to."""

    #: That cluster's gateway name.
    name: str
    #: Gateway URLs of its nodes.
    urls: Sequence[str]


class GatewayListener(TypedDict, total=False):
    """A gateway listener: joins this server's cluster to others (a supercluster's building block)."""

    #: The gateway name: the name of this server's cluster.
    name: str
    #: The gateway port; ``None`` picks a free one (kept across restarts).
    port: Optional[int]
    #: The other clusters to connect to.
    gateways: Sequence[RemoteGateway]
    #: The ``host:port`` given to other gateways to reach this server (default: the listener's).
    advertise: Optional[str]


class LeafRemote(TypedDict, total=False):
    """A leaf node connection to a hub."""

    #: The hub's leaf node URLs (its ``leafnode_url``); credentials may be in the URL.
    urls: Sequence[str]
    #: The local account the connection is bound to.
    account: Optional[str]
    #: A credentials file to authenticate to the hub.
    credentials: Optional[StrPath]


class TlsOptions(TypedDict, total=False):
    """TLS for a server (the Rust ``TlsOptions``): generated certificates unless ``cert_file`` is given.
    ``tls=True`` is the same as ``tls={}``."""

    #: Require and verify client certificates (mTLS); use the server's ``client_cert_file``/``client_key_file``.
    verify: bool
    #: TLS handshake before the server's INFO (nats-server 2.10.4+; the client must opt in too).
    handshake_first: bool
    #: TLS on the websocket listener too (needs ``websocket=True``); its URL becomes ``wss://``.
    websocket: bool
    #: TLS on cluster routes too (in a cluster's options; nodes verify each other against the CA).
    routes: bool
    #: TLS on the gateways of a supercluster too (in its ``server`` options; both ends verify against the CA).
    gateways: bool
    #: TLS on leaf node links too: a hub's leaf listener (``leafnodes=True``) and a leaf's ``leaf_remotes``;
    #: set it on the hub and on its leaves (they share the process's CA).
    leafnodes: bool
    #: Your own server certificate (PEM) instead of a generated one; needs ``key_file``.
    cert_file: Optional[StrPath]
    #: The private key of ``cert_file``.
    key_file: Optional[StrPath]
    #: Your own CA (only with ``cert_file``), to verify clients and peers.
    ca_file: Optional[StrPath]


class ServerOptions(TypedDict, total=False):
    """Options of one server (every field optional; every listener on a dynamic port unless a port is given)."""

    #: The ``nats-server`` binary; else the release ``version``, else ``$NATS_SERVER_BIN``, else ``PATH``.
    binary: Optional[StrPath]
    #: A release to run (``"2.14"``, ``"2.14.6"``, ``"latest"``), installed into the per-user cache when missing.
    version: Optional[str]
    #: A configuration file (relative paths resolve against the current directory).
    config_file: Optional[StrPath]
    #: Configuration text, applied after ``config_file``.
    config: Optional[str]
    #: Enables JetStream (``-js``).
    jetstream: bool
    #: The JetStream store directory (owned by the caller, never removed); default: in the private directory.
    store_dir: Optional[StrPath]
    #: The interface every listener binds to. Unset: ``127.0.0.1`` unless the configuration chooses (``host``,
    #: ``net``, ``listen``); when set it overrides the configuration.
    host: Optional[str]
    #: The client port; ``None`` (or 0) picks a free one unless the configuration sets ``port``/``listen``; when
    #: set it overrides the configuration. Kept across restarts either way.
    port: Optional[int]
    #: The server name (``-n``).
    name: Optional[str]
    #: Require this user (with ``password``).
    user: Optional[str]
    #: The password for ``user``.
    password: Optional[str]
    #: Require this token.
    token: Optional[str]
    #: Users of the global account (password or generated nkey, permissions).
    users: Sequence[User]
    #: Named accounts with users, JetStream, exports and imports.
    accounts: Mapping[str, Account]
    #: The user (of ``users`` or ``accounts``) that clients without credentials become.
    no_auth_user: Optional[str]
    #: The server's JetStream limits.
    jetstream_limits: Optional[JetStreamLimits]
    #: Operator mode: accounts and users become JWTs (memory resolver, preloaded); each user has a creds file.
    #: Adds the system account ``SYS`` with user ``sys``.
    operator: bool
    #: The HTTP monitoring listener. Default on.
    monitoring: bool
    #: A plain-text websocket listener.
    websocket: bool
    #: A cluster listener with routes.
    cluster: Optional[ClusterListener]
    #: A gateway listener with gateways to other clusters.
    gateway: Optional[GatewayListener]
    #: A leaf node listener on a dynamic port: makes this server a hub.
    leafnodes: bool
    #: Leaf node connections to hubs: makes this server a leaf (ready once every remote is connected).
    leaf_remotes: Sequence[LeafRemote]
    #: The JetStream domain (needs ``jetstream``).
    jetstream_domain: Optional[str]
    #: An MQTT listener on a dynamic port (needs ``jetstream``).
    mqtt: bool
    #: TLS with generated certificates (``True``) or as configured (see :class:`TlsOptions`).
    tls: Union[bool, TlsOptions, None]
    #: Debug logging (``-D``).
    debug: bool
    #: Protocol tracing (``-V``).
    trace: bool
    #: Extra command-line arguments, passed last. Arguments that would take over what the harness sets (``-c``,
    #: ``-p``, ``-l``, ``--ports_file_dir``, ...) are refused, naming the option to use.
    args: Sequence[str]
    #: With a cluster listener: return only once routes to every configured, running peer are up (``/routez``).
    wait_for_routes: bool
    #: How long to wait for readiness, in milliseconds. Default 10 000.
    startup_timeout_ms: int
    #: The same in seconds (Python only; give one of the two).
    startup_timeout: float
    #: What to keep of the private directory when closed; default ``$NATS_SERVER_KEEP``, else on-failure (kept
    #: once :meth:`Server.mark_failed` was called; the pytest plugin calls it for a failed test).
    keep: Optional[Keep]
    #: A fault proxy in front of the client port (:attr:`Server.proxied_url`, :meth:`Server.add_fault`).
    client_proxy: bool
    #: A hub's fault proxy in front of its leaf node listener, advertised to its leaves
    #: (:attr:`Server.proxied_leafnode_url`, :meth:`Server.add_leafnode_fault`); needs ``leafnodes=True``.
    leafnode_proxy: bool


class ClusterOptions(TypedDict, total=False):
    """Options of a cluster, exactly as the Rust ``ClusterOptions`` (the node template goes in ``server``)."""

    #: Number of nodes, 1 or more. Default 3.
    nodes: int
    #: The cluster name; default a random one, so parallel clusters never join each other.
    name: Optional[str]
    #: The options every node starts from (``port``, ``cluster`` and ``store_dir`` must stay unset).
    server: ServerOptions
    #: One config file per node (empty: ``server.config_file`` for all).
    node_config_files: Sequence[StrPath]
    #: One server name per node (empty: ``node1``, ``node2``, ...).
    node_names: Sequence[str]
    #: One JetStream store directory per node (owned by the caller, never removed).
    node_store_dirs: Sequence[StrPath]
    #: One release per node (mixed-version clusters; ``""``: the template's).
    node_versions: Sequence[str]
    #: One binary per node (wins over ``node_versions``).
    node_binaries: Sequence[StrPath]
    #: How long to wait for the cluster to be ready, in milliseconds. Default 30 000.
    ready_timeout_ms: int
    #: Every route through its own fault proxy (:meth:`Cluster.partition`, :meth:`Cluster.heal`).
    route_proxies: bool


class SuperclusterOptions(TypedDict, total=False):
    """Options of a supercluster, exactly as the Rust ``SuperclusterOptions`` (the node template goes in
    ``server``)."""

    #: Number of clusters, 1 or more. Default 2.
    clusters: int
    #: Nodes per cluster, 1 or more. Default 3.
    nodes: int
    #: One name per cluster (default: random ones, so parallel superclusters never join each other).
    names: Sequence[str]
    #: The options every node starts from (``port``, ``cluster``, ``gateway`` and ``store_dir`` must stay unset).
    server: ServerOptions
    #: One release per cluster (mixed-version superclusters; ``""``: the template's).
    versions: Sequence[str]
    #: How long to wait for readiness (meshes, gateways, JetStream leader), in milliseconds. Default 30 000.
    ready_timeout_ms: int
    #: Every gateway connection through its own fault proxy (:meth:`Supercluster.partition`, :meth:`Supercluster.heal`).
    gateway_proxies: bool


class ClusterKeywords(ClusterOptions, total=False):
    """The keywords :class:`~nats_server_harness.Cluster` takes: the cluster's own fields, plus any server
    field, which goes into the ``server`` template (``name`` is the cluster's name; name the nodes with
    ``node_names``)."""

    binary: Optional[StrPath]
    version: Optional[str]
    config_file: Optional[StrPath]
    config: Optional[str]
    jetstream: bool
    host: Optional[str]
    user: Optional[str]
    password: Optional[str]
    token: Optional[str]
    users: Sequence[User]
    accounts: Mapping[str, Account]
    no_auth_user: Optional[str]
    monitoring: bool
    websocket: bool
    tls: Union[bool, TlsOptions, None]
    debug: bool
    trace: bool
    args: Sequence[str]
    startup_timeout_ms: int
    startup_timeout: float
    keep: Optional[Keep]


class SuperclusterKeywords(SuperclusterOptions, total=False):
    """The keywords :class:`~nats_server_harness.Supercluster` takes: its own fields, plus any server field,
    which goes into the ``server`` template."""

    binary: Optional[StrPath]
    version: Optional[str]
    config_file: Optional[StrPath]
    config: Optional[str]
    jetstream: bool
    host: str
    user: Optional[str]
    password: Optional[str]
    token: Optional[str]
    websocket: bool
    leafnodes: bool
    mqtt: bool
    debug: bool
    trace: bool
    args: Sequence[str]
    startup_timeout_ms: int
    keep: Optional[Keep]
    client_proxy: bool


#: The fields of the Rust ``ClusterOptions``; any other keyword of ``Cluster(...)`` belongs to the node template.
CLUSTER_FIELDS = frozenset(ClusterOptions.__annotations__)
#: The fields of the Rust ``SuperclusterOptions``.
SUPERCLUSTER_FIELDS = frozenset(SuperclusterOptions.__annotations__)


def cluster_document(options: Mapping[str, Any], fields: frozenset[str] = CLUSTER_FIELDS) -> dict[str, Any]:
    """Splits ``Cluster(**options)`` (or, with ``fields=SUPERCLUSTER_FIELDS``, ``Supercluster(**options)``)
    keywords into the options document: its own fields stay at the top, every other keyword joins the
    ``server`` template."""
    document = {k: v for k, v in options.items() if k in fields}
    loose = {k: v for k, v in options.items() if k not in fields}
    if loose:
        template = document.get("server") or {}
        if not isinstance(template, Mapping):
            raise InvalidOptions(
                f"nats-server harness: invalid options: `server` must be a mapping of server options, not "
                f"{type(template).__name__}",
                InvalidOptions.code,
            )
        both = sorted(set(loose) & set(template))
        if both:
            raise InvalidOptions(
                f"nats-server harness: invalid options: {', '.join(f'`{k}`' for k in both)} given both as a keyword "
                "and in `server`; give each once",
                InvalidOptions.code,
            )
        document["server"] = {**template, **loose}
    return document


def _encode(value: object) -> object:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} ({value!r}) is not an option value")


def to_json(document: Mapping[str, Any]) -> bytes:
    """The options as the JSON document the library parses."""
    try:
        return json.dumps(document, default=_encode).encode()
    except (TypeError, ValueError) as e:
        raise InvalidOptions(f"nats-server harness: invalid options: {e}", InvalidOptions.code) from None
