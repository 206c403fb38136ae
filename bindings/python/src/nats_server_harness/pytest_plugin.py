"""The pytest plugin (registered through the ``pytest11`` entry point as ``nats_server``).

Fixtures:

- ``nats_server``: a plain server; ``nats_jetstream_server``: one with JetStream; ``nats_tls_server``: one
  requiring TLS (generated CA); ``nats_cluster``: a three-node JetStream cluster. Function-scoped: a fresh one per
  test.
- ``nats_server_factory(**options)`` / ``nats_cluster_factory(**options)``: start servers or clusters with any
  options (the Rust schema); function-scoped, everything they made is closed after the test.
- ``nats_server_session_factory`` / ``nats_cluster_session_factory``: the same, closed at the end of the session;
  request them from a fixture of any scope (close early with ``.close()`` for module or class scope).
- ``nats_supercluster``: two clusters of three nodes joined by gateways (no JetStream; ask
  ``nats_supercluster_factory(jetstream=True)`` for one); ``nats_supercluster_factory(**options)`` and
  ``nats_supercluster_session_factory`` start any shape.
- ``nats_leaf_pair``: a hub and a leaf connected to it (:class:`LeafPair`, ``.hub`` and ``.leaf``), ready when
  the hub's ``/leafz`` lists the leaf.
- ``nats_server_settings``: the resolved settings (binary, keep policy, log lines).

Versions: with ``--nats-server-versions 2.14,2.15`` (ini ``nats_server_versions``, else ``$NATS_SERVER_VERSIONS``)
every test that uses a function-scoped fixture (``nats_server``, ``nats_cluster``, ``nats_supercluster``, the
factories, the async fixtures, ...) or takes ``nats_server_version`` runs once per release, on servers of that
release (installed into the per-user cache when missing) unless it names a ``binary`` or ``version`` itself; the
``nats_server_version`` fixture says which (``None`` when no releases are listed: the default binary, one run).
The session-scoped factories always use the default binary.

Marker: ``@pytest.mark.requires_nats_server("2.11")`` skips the test (saying why) when the nats-server the plugin
runs by default is older than that release. A test that wants a given release asks for it with the ``version``
option (``nats_server_factory(version="2.14")``), installed into the per-user cache when missing.

Settings (command line > ini > environment): ``--nats-server-bin`` / ``nats_server_bin`` (else ``$NATS_SERVER_BIN``,
else ``PATH``), ``--nats-server-keep`` / ``nats_server_keep`` (``never``, ``on-failure``, ``always``, or any
spelling ``$NATS_SERVER_KEEP`` accepts, parsed by the library; else ``$NATS_SERVER_KEEP``, else ``on-failure``)
and ``--nats-server-log-lines`` / ``nats_server_log_lines`` (default 100).

When a test fails, the log tail of every server it used (its fixtures, and anything a factory made during it) is
attached to its report as a section, and each is marked failed (``mark_failed()``, the one mechanism of every
surface): with ``on-failure`` their directories are then kept (the section says where).
Servers listen on dynamic ports in private directories, so parallel pytest-xdist workers never collide.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import pytest

from . import _ffi
from ._errors import NatsServerError
from ._harness import Cluster, Server, Supercluster
from ._options import Keep

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._options import ClusterKeywords, ServerOptions, SuperclusterKeywords

__all__ = [
    "ClusterFactory",
    "LeafPair",
    "ServerFactory",
    "Settings",
    "SuperclusterFactory",
]

DEFAULT_LOG_LINES = 100

Harness = Union[Server, Cluster, Supercluster]


@dataclass(frozen=True)
class Settings:
    """The plugin's settings, resolved from the command line, the ini file and the environment."""

    #: The ``nats-server`` binary, or ``None`` to let the library look (``$NATS_SERVER_BIN``, then ``PATH``).
    binary: str | None
    #: What to keep of a server's directory after it is closed (the canonical name: never, on-failure, always).
    keep: Keep
    #: How many log lines to attach to a failing test's report.
    log_lines: int

    def server_options(
        self, options: dict[str, Any], template: bool = False, version: str | None = None
    ) -> dict[str, Any]:
        """``options`` with the plugin's binary (or, when the test runs once per release, that ``version``) and
        keep policy filled in where the caller gave none (for a cluster, ``template=True`` also looks into its
        ``server`` template)."""
        given = dict(options)
        inner = given.get("server") if template else None
        inner_keys = set(inner) if isinstance(inner, dict) else set()
        chosen = {"binary", "version"} & (set(given) | inner_keys)
        if version is not None and not chosen:
            given["version"] = version
        elif self.binary is not None and "binary" not in given and "binary" not in inner_keys:
            given["binary"] = self.binary
        if "keep" not in given and "keep" not in inner_keys:
            given["keep"] = self.keep  # on-failure: kept once the plugin marks it failed
        return given


def _parse_keep(value: str, source: str) -> Keep:
    """The canonical name of a keep setting, parsed by the library (so ``1``, ``on_failure``, ... mean what they
    mean in Rust, C and Go); a bad value is a usage error with the library's words."""
    try:
        return _ffi.KEEP_NAMES[_ffi.keep_parse(value)]
    except NatsServerError as e:
        raise pytest.UsageError(f"{source}: {e}") from None


def _resolve_binary(value: str, base: Path) -> str:
    if os.sep not in value and "/" not in value:
        found = shutil.which(value)
        return found if found is not None else value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _make_settings(config: pytest.Config) -> Settings:
    ini_base = config.inipath.parent if config.inipath is not None else config.rootpath
    invocation = config.invocation_params.dir

    binary: str | None = None
    cli_bin = config.getoption("nats_server_bin")
    ini_bin = config.getini("nats_server_bin")
    if cli_bin:
        binary = _resolve_binary(str(cli_bin), invocation)
    elif ini_bin:
        binary = _resolve_binary(str(ini_bin), ini_base)

    keep: Keep
    cli_keep = config.getoption("nats_server_keep")
    ini_keep = config.getini("nats_server_keep")
    env_keep = os.environ.get("NATS_SERVER_KEEP", "")
    if cli_keep:
        keep = _parse_keep(str(cli_keep), "--nats-server-keep")
    elif ini_keep:
        keep = _parse_keep(str(ini_keep), "ini option nats_server_keep")
    elif env_keep.strip():
        keep = _parse_keep(env_keep, "$NATS_SERVER_KEEP")
    else:
        keep = "on-failure"

    lines_value = config.getoption("nats_server_log_lines") or config.getini("nats_server_log_lines")
    try:
        log_lines = int(lines_value) if lines_value not in (None, "") else DEFAULT_LOG_LINES
    except ValueError:
        raise pytest.UsageError(f"nats_server_log_lines: {lines_value!r} is not a number") from None
    return Settings(binary=binary, keep=keep, log_lines=log_lines)


# ----- per-run state (kept in the config's stash, so nested pytester runs never share it) -------------------------


class _State:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current_item: pytest.Item | None = None
        #: The directories of servers marked failed whose keep policy keeps them.
        self.kept: list[Path] = []

    def created(self, obj: Harness) -> None:
        item = self.current_item
        if item is not None:
            item.stash.setdefault(_CREATED, []).append(obj)


_STATE = pytest.StashKey[_State]()
_CREATED = pytest.StashKey[list[Harness]]()


def _state(config: pytest.Config) -> _State:
    state = config.stash.get(_STATE, None)
    if state is None:
        state = _State(_make_settings(config))
        config.stash[_STATE] = state
    return state


# ----- factories ---------------------------------------------------------------------------------------------------


class ServerFactory:
    """Starts servers with the plugin's settings applied; closes them all when its fixture ends."""

    def __init__(self, state: _State, version: str | None = None) -> None:
        self._state = state
        #: The release this factory starts where the caller names neither ``binary`` nor ``version``.
        self._version = version
        self._made: list[Server] = []

    def __call__(self, **options: Unpack[ServerOptions]) -> Server:
        given = dict(options)
        document = self._state.settings.server_options(given, version=self._version)
        server = Server(**document)
        self._made.append(server)
        self._state.created(server)
        return server

    @property
    def servers(self) -> list[Server]:
        """Every server this factory made that is still open."""
        return [s for s in self._made if not s.closed]

    def close(self) -> None:
        """Closes every server this factory made (newest first)."""
        _close_all(self._made)


class ClusterFactory:
    """Starts clusters with the plugin's settings applied; closes them all when its fixture ends."""

    def __init__(self, state: _State, version: str | None = None) -> None:
        self._state = state
        #: The release this factory starts where the caller names neither ``binary`` nor ``version``.
        self._version = version
        self._made: list[Cluster] = []

    def __call__(self, **options: Unpack[ClusterKeywords]) -> Cluster:
        document = self._state.settings.server_options(dict(options), template=True, version=self._version)
        cluster = Cluster(**document)
        self._made.append(cluster)
        self._state.created(cluster)
        return cluster

    @property
    def clusters(self) -> list[Cluster]:
        """Every cluster this factory made that is still open."""
        return [c for c in self._made if not c.closed]

    def close(self) -> None:
        """Closes every cluster this factory made (newest first)."""
        _close_all(self._made)


class SuperclusterFactory:
    """Starts superclusters with the plugin's settings applied; closes them all when its fixture ends."""

    def __init__(self, state: _State, version: str | None = None) -> None:
        self._state = state
        #: The release this factory starts where the caller names neither ``binary`` nor ``version``.
        self._version = version
        self._made: list[Supercluster] = []

    def __call__(self, **options: Unpack[SuperclusterKeywords]) -> Supercluster:
        document = self._state.settings.server_options(dict(options), template=True, version=self._version)
        supercluster = Supercluster(**document)
        self._made.append(supercluster)
        self._state.created(supercluster)
        return supercluster

    @property
    def superclusters(self) -> list[Supercluster]:
        """Every supercluster this factory made that is still open."""
        return [s for s in self._made if not s.closed]

    def close(self) -> None:
        """Closes every supercluster this factory made (newest first)."""
        _close_all(self._made)


@dataclass(frozen=True)
class LeafPair:
    """A hub (``leafnodes=True``) and a leaf connected to it."""

    hub: Server
    leaf: Server

    @classmethod
    def start(
        cls, factory: ServerFactory, hub: dict[str, Any] | None = None, leaf: dict[str, Any] | None = None
    ) -> LeafPair:
        """Starts a hub with ``hub`` options and a leaf of it with ``leaf`` options through ``factory``; returns
        once the hub's ``/leafz`` lists the leaf."""
        hub_server = factory(**{**(hub or {}), "leafnodes": True})
        remotes = [*list((leaf or {}).get("leaf_remotes", [])), {"urls": [hub_server.leafnode_url]}]
        leaf_server = factory(**{**(leaf or {}), "leaf_remotes": remotes})
        hub_server.wait_for_leaf_connections(1)
        return cls(hub_server, leaf_server)


def _close_all(objects: Sequence[Harness]) -> None:
    errors: list[NatsServerError] = []
    for obj in reversed(objects):
        try:
            obj.close()
        except NatsServerError as e:
            errors.append(e)
    if errors:
        raise errors[0]


# ----- options, fixtures, hooks ------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nats-server", "real nats-server processes (nats-server-harness)")
    group.addoption(
        "--nats-server-bin",
        dest="nats_server_bin",
        default=None,
        metavar="PATH",
        help="the nats-server binary (default: ini nats_server_bin, then $NATS_SERVER_BIN, then PATH)",
    )
    group.addoption(
        "--nats-server-keep",
        dest="nats_server_keep",
        default=None,
        metavar="POLICY",
        help="keep servers' directories (log, config, store): never, on-failure (default), always",
    )
    group.addoption(
        "--nats-server-log-lines",
        dest="nats_server_log_lines",
        default=None,
        type=int,
        metavar="N",
        help=f"server log lines attached to a failing test's report (default {DEFAULT_LOG_LINES})",
    )
    group.addoption(
        "--nats-server-versions",
        dest="nats_server_versions",
        default=None,
        metavar="LIST",
        help="comma-separated releases (2.14,2.15) a test taking `nats_server_version` runs against",
    )
    parser.addini("nats_server_bin", "the nats-server binary (relative to the ini file)", default="")
    parser.addini("nats_server_versions", "releases a test taking `nats_server_version` runs against", default="")
    parser.addini("nats_server_keep", "keep servers' directories: never, on-failure, always", default="")
    parser.addini("nats_server_log_lines", "server log lines attached to a failing test's report", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requires_nats_server(version): skip the test when the default nats-server is older than version",
    )
    _state(config)  # validates the settings up front: a bad value is a usage error, not a failure per test


def _version_tuple(text: str) -> tuple[int, ...] | None:
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if found is None:
        return None
    return tuple(int(part or 0) for part in found.groups())


@functools.cache
def _binary_version(binary: str) -> tuple[int, ...] | None:
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    return _version_tuple(done.stdout + done.stderr)


def default_server_version(settings: Settings) -> tuple[int, ...] | None:
    """The version of the nats-server the plugin runs by default (``--nats-server-bin``, else
    ``$NATS_SERVER_BIN``, else ``PATH``), or ``None`` when there is none."""
    binary = settings.binary or os.environ.get("NATS_SERVER_BIN") or shutil.which("nats-server")
    return _binary_version(binary) if binary else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "nats_server_version" not in metafunc.fixturenames:
        return
    config = metafunc.config
    listed = (
        config.getoption("nats_server_versions")
        or config.getini("nats_server_versions")
        or os.environ.get("NATS_SERVER_VERSIONS", "")
    )
    versions = [v.strip() for v in str(listed).split(",") if v.strip()]
    if versions:  # none listed: the `nats_server_version` fixture gives None (the default binary)
        metafunc.parametrize("nats_server_version", versions, ids=versions)


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("requires_nats_server")
    if marker is None:
        return
    if len(marker.args) != 1 or _version_tuple(str(marker.args[0])) is None:
        raise pytest.UsageError(f'{item.nodeid}: requires_nats_server takes one version, e.g. "2.11"')
    wanted = str(marker.args[0])
    have = default_server_version(_state(item.config).settings)
    minimum = _version_tuple(wanted)
    if have is None:
        pytest.skip(f"needs nats-server >= {wanted}; no nats-server found")
    elif minimum is not None and have < minimum:
        pytest.skip(f"needs nats-server >= {wanted}; this is {'.'.join(map(str, have))}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    state = _state(item.config)
    previous, state.current_item = state.current_item, item
    try:
        return (yield)
    finally:
        state.current_item = previous


def _used_by(item: pytest.Item) -> list[Harness]:
    """The open servers and clusters a test used: made while it ran, or handed to it by a fixture."""
    found: dict[int, Harness] = {}
    for obj in item.stash.get(_CREATED, []):
        found.setdefault(id(obj), obj)
    funcargs: dict[str, Any] = getattr(item, "funcargs", None) or {}
    for value in funcargs.values():
        if isinstance(value, (Server, Cluster, Supercluster)):
            found.setdefault(id(value), value)
        elif isinstance(value, LeafPair):
            found.setdefault(id(value.hub), value.hub)
            found.setdefault(id(value.leaf), value.leaf)
        elif isinstance(value, (ServerFactory, ClusterFactory, SuperclusterFactory)):
            made: Sequence[Harness]
            if isinstance(value, ServerFactory):
                made = value.servers
            elif isinstance(value, ClusterFactory):
                made = value.clusters
            else:
                made = value.superclusters
            for obj in made:
                found.setdefault(id(obj), obj)
    return [obj for obj in found.values() if not obj.closed]


def _log_section(server: Server, label: str, lines: int, kept: bool) -> tuple[str, str]:
    try:
        text = server.log_tail(lines).rstrip("\n") or "(the log is empty)"
    except NatsServerError as e:
        text = f"(no log: {e})"
    try:
        where = f"directory kept: {server.dir}" if kept else f"log file: {server.log_path}"
    except NatsServerError:
        where = ""
    try:
        url = server.client_url
    except NatsServerError:
        url = "?"
    return f"nats-server log: {label} {url}", f"{text}\n{where}".rstrip()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not report.failed or report.when not in ("setup", "call"):
        return report
    state = _state(item.config)
    for obj in _used_by(item):
        marked = True
        try:
            obj.mark_failed()  # the one keep-on-failure mechanism: the library keeps what its policy says
        except NatsServerError:
            marked = False
        labelled: list[tuple[str, Server]]
        if isinstance(obj, Supercluster):
            labelled = [
                (f"supercluster cluster {name} node {i}", node)
                for name, nodes in zip(obj.names, obj.clusters)
                for i, node in enumerate(nodes)
            ]
        elif isinstance(obj, Cluster):
            labelled = [(f"cluster {obj.name} node {node.index}", node) for node in obj.nodes]
        else:
            labelled = [("server", obj)]
        for label, server in labelled:
            keep = _policy(server, state.settings.keep) == "always" or (
                marked and _policy(server, state.settings.keep) == "on-failure"
            )
            report.sections.append(_log_section(server, label, state.settings.log_lines, keep))
            if keep:
                with contextlib.suppress(NatsServerError):
                    state.kept.append(server.dir)
    return report


def _policy(server: Server, default: Keep) -> str:
    """The keep policy a server runs under: its ``keep`` option (canonical, as the library serializes it), else the
    plugin's setting (the library's default comes from the same ``$NATS_SERVER_KEEP``)."""
    try:
        keep = server.options.get("keep")
    except NatsServerError:
        keep = None
    return str(keep) if keep else default


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or not state.kept:
        return
    terminalreporter.write_sep("-", "nats-server: directories kept for failed tests")
    for path in dict.fromkeys(state.kept):
        terminalreporter.write_line(str(path))


@pytest.fixture
def nats_server_version() -> str | None:
    """The release this test runs against: one of ``--nats-server-versions`` (the test runs once per release),
    or ``None`` when none are listed (the plugin's default binary)."""
    return None


@pytest.fixture(scope="session")
def nats_server_settings(pytestconfig: pytest.Config) -> Settings:
    """The plugin's resolved settings (binary, keep policy, log lines)."""
    return _state(pytestconfig).settings


@pytest.fixture
def nats_server_factory(request: pytest.FixtureRequest, nats_server_version: str | None) -> Iterator[ServerFactory]:
    """``nats_server_factory(**options)`` starts a server; all are closed after the test."""
    factory = ServerFactory(_state(request.config), nats_server_version)
    yield factory
    factory.close()


@pytest.fixture
def nats_cluster_factory(request: pytest.FixtureRequest, nats_server_version: str | None) -> Iterator[ClusterFactory]:
    """``nats_cluster_factory(**options)`` starts a cluster; all are closed after the test."""
    factory = ClusterFactory(_state(request.config), nats_server_version)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def nats_server_session_factory(pytestconfig: pytest.Config) -> Iterator[ServerFactory]:
    """Like ``nats_server_factory``, but everything it made is closed at the end of the session: use it from
    fixtures of any scope (and close what you made early, for module or class scope)."""
    factory = ServerFactory(_state(pytestconfig))
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def nats_cluster_session_factory(pytestconfig: pytest.Config) -> Iterator[ClusterFactory]:
    """Like ``nats_cluster_factory``, but everything it made is closed at the end of the session."""
    factory = ClusterFactory(_state(pytestconfig))
    yield factory
    factory.close()


@pytest.fixture
def nats_server(nats_server_factory: ServerFactory) -> Server:
    """A plain server (no JetStream) on dynamic ports, closed after the test."""
    return nats_server_factory()


@pytest.fixture
def nats_jetstream_server(nats_server_factory: ServerFactory) -> Server:
    """A JetStream server on dynamic ports with a private store, closed after the test."""
    return nats_server_factory(jetstream=True)


#: The accounts of :func:`nats_operator_server`: two JetStream accounts with one user each.
OPERATOR_ACCOUNTS: dict[str, Any] = {
    "A": {"jetstream": True, "users": [{"user": "a"}]},
    "B": {"jetstream": True, "users": [{"user": "b"}]},
}


@pytest.fixture
def nats_operator_server(nats_server_factory: ServerFactory) -> Server:
    """An operator-mode JetStream server (generated operator, JWTs in the memory resolver) with accounts ``A``
    (user ``a``) and ``B`` (user ``b``), both with JetStream, and ``SYS`` (user ``sys``); connect with
    ``user_credentials=str(server.creds("A", "a"))``. Other accounts: ``nats_server_factory(operator=True,
    jetstream=True, accounts={...})``."""
    return nats_server_factory(operator=True, jetstream=True, accounts=OPERATOR_ACCOUNTS)


@pytest.fixture
def nats_tls_server(nats_server_factory: ServerFactory) -> Server:
    """A server that requires TLS, with a generated CA and server certificate (``ca_file``, ``ssl_context()``),
    closed after the test."""
    return nats_server_factory(tls=True)


@pytest.fixture
def nats_cluster(nats_cluster_factory: ClusterFactory) -> Cluster:
    """A three-node JetStream cluster, ready (meta leader elected), closed after the test."""
    return nats_cluster_factory(nodes=3, jetstream=True)


@pytest.fixture
def nats_supercluster_factory(
    request: pytest.FixtureRequest, nats_server_version: str | None
) -> Iterator[SuperclusterFactory]:
    """``nats_supercluster_factory(**options)`` starts a supercluster; all are closed after the test."""
    factory = SuperclusterFactory(_state(request.config), nats_server_version)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def nats_supercluster_session_factory(pytestconfig: pytest.Config) -> Iterator[SuperclusterFactory]:
    """Like ``nats_supercluster_factory``, but everything it made is closed at the end of the session."""
    factory = SuperclusterFactory(_state(pytestconfig))
    yield factory
    factory.close()


@pytest.fixture
def nats_supercluster(nats_supercluster_factory: SuperclusterFactory) -> Supercluster:
    """Two clusters of three nodes joined by gateways (no JetStream), ready, closed after the test."""
    return nats_supercluster_factory(clusters=2, nodes=3)


@pytest.fixture
def nats_leaf_pair(nats_server_factory: ServerFactory) -> LeafPair:
    """A hub and a leaf connected to it, ready (the hub lists the leaf), closed after the test."""
    return LeafPair.start(nats_server_factory)


# ----- asyncio fixtures (only with pytest-asyncio installed) ---------------------------------------------------------

try:
    import pytest_asyncio

    _HAVE_PYTEST_ASYNCIO = True
except ImportError:  # pragma: no cover - the async fixtures need pytest-asyncio
    _HAVE_PYTEST_ASYNCIO = False

if _HAVE_PYTEST_ASYNCIO:
    import asyncio
    from collections.abc import AsyncIterator

    from .aio import AsyncCluster, AsyncServer

    @pytest_asyncio.fixture
    async def nats_async_server(nats_server_factory: ServerFactory) -> AsyncIterator[AsyncServer]:
        """A plain server for an async test, started without blocking the event loop (the plugin's settings and
        failure reports apply, as for ``nats_server``)."""
        server = await asyncio.to_thread(nats_server_factory)
        yield AsyncServer._wrap(server)
        await asyncio.to_thread(server.close)

    @pytest_asyncio.fixture
    async def nats_async_jetstream_server(nats_server_factory: ServerFactory) -> AsyncIterator[AsyncServer]:
        """A JetStream server for an async test, started without blocking the event loop."""
        server = await asyncio.to_thread(nats_server_factory, jetstream=True)
        yield AsyncServer._wrap(server)
        await asyncio.to_thread(server.close)

    @pytest_asyncio.fixture
    async def nats_async_cluster(nats_cluster_factory: ClusterFactory) -> AsyncIterator[AsyncCluster]:
        """A ready three-node JetStream cluster for an async test, started without blocking the event loop."""
        cluster = await asyncio.to_thread(nats_cluster_factory, nodes=3, jetstream=True)
        wrapped = AsyncCluster()
        wrapped._cluster = cluster
        wrapped._nodes = [AsyncServer._wrap(node) for node in cluster.nodes]
        yield wrapped
        await asyncio.to_thread(cluster.close)
