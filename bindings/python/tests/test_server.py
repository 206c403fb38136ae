"""One server: a real client, every control and query of the C ABI, life cycle and threads."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from pathlib import Path

import nats
import nats.errors
import pytest

import nats_server_harness as h
from nats_server_harness import Keep, Server

from conftest import eventually, pid_alive, run


def test_publish_subscribe(nats_server: Server) -> None:
    async def main() -> list[bytes]:
        nc = await nats.connect(nats_server.client_url)
        sub = await nc.subscribe("greet.*")
        await nc.publish("greet.joe", b"hello")
        await nc.publish("greet.sue", b"hi")
        got = [(await sub.next_msg(timeout=2)).data for _ in range(2)]
        reply = await nc.subscribe("svc")

        async def answer() -> None:
            msg = await reply.next_msg(timeout=2)
            await msg.respond(msg.data.upper())

        task = asyncio.create_task(answer())
        got.append((await nc.request("svc", b"ping", timeout=2)).data)
        await task
        await nc.close()
        return got

    assert run(main()) == [b"hello", b"hi", b"PING"]


def test_queries(nats_server: Server) -> None:
    s = nats_server
    assert s.is_running()
    assert not s.is_paused()
    pid = s.pid()
    assert pid is not None
    assert pid_alive(pid)
    port = s.client_port
    assert s.client_url == f"nats://localhost:{port}"
    assert s.url == f"nats://127.0.0.1:{port}"
    assert s.ports == h.Ports(client=port, monitoring=s.monitoring_port, websocket=None, cluster=None)
    assert s.monitoring_url == f"http://127.0.0.1:{s.monitoring_port}"
    assert s.websocket_url is None
    assert s.websocket_port is None
    assert s.cluster_url is None
    assert s.cluster_port is None
    assert s.dir.is_dir()
    assert s.log_path == s.dir / "nats-server.log"
    assert s.log_path.is_file()
    assert s.store_dir == s.dir / "jetstream"
    info = s.info
    assert info["port"] == port
    assert info["server_id"] == s.server_id
    assert info["version"] == s.version
    assert s.version.count(".") == 2
    varz = s.monitor("varz")
    assert varz["server_id"] == s.server_id
    assert s.monitor("/varz")["port"] == port
    assert s.monitor_status("healthz") == (200, {"status": "ok"})
    assert "Server is ready" in s.log_tail(100)
    assert s.cluster is None
    assert s.index is None
    assert not s.closed
    assert repr(s) == f"<Server {s.client_url} pid={s.pid()}>"
    assert not s.tls_required
    assert s.binary.name.startswith("nats-server")
    if os.environ.get("NATS_SERVER_BIN"):
        assert s.binary == Path(os.environ["NATS_SERVER_BIN"])
    assert s.options["monitoring"] is True  # defaults filled in
    assert s.last_pid() == pid


def test_last_pid_outlives_a_stop() -> None:
    with Server(jetstream=True, name="traced") as s:
        pid = s.pid()
        assert s.options["jetstream"] is True
        assert s.options["name"] == "traced"
        s.stop()
        assert s.pid() is None
        assert s.last_pid() == pid


def test_library_and_abi() -> None:
    assert h.abi_version() == h.ABI_VERSION == 2
    assert h.library_version().count(".") == 2
    assert Path(h.load_library()).is_file()


def test_urls_with_credentials() -> None:
    with Server(user="joe", password="s3cr3t") as s:
        assert s.client_url_with("a@b", "p:w/d") == f"nats://a%40b:p%3Aw%2Fd@localhost:{s.client_port}"

        async def main() -> None:
            nc = await nats.connect(s.client_url_with("joe", "s3cr3t"))
            await nc.flush()
            await nc.close()
            with pytest.raises(nats.errors.Error):
                await nats.connect(s.client_url, allow_reconnect=False, max_reconnect_attempts=0)

        run(main())
    with Server(token="t0k3n") as s:
        assert s.client_url_with_token("t0k3n") == f"nats://t0k3n@localhost:{s.client_port}"

        async def token() -> None:
            nc = await nats.connect(s.client_url_with_token("t0k3n"))
            await nc.flush()
            await nc.close()

        run(token())


def test_websocket_listener() -> None:
    with Server(websocket=True, monitoring=False) as s:
        assert s.websocket_port is not None
        assert s.websocket_url == f"ws://127.0.0.1:{s.websocket_port}"
        assert s.monitoring_port is None
        assert s.monitoring_url is None
        with socket.create_connection(("127.0.0.1", s.websocket_port), timeout=2):
            pass


def test_stop_and_start_keep_the_port(nats_server: Server) -> None:
    port, pid = nats_server.client_port, nats_server.pid()
    nats_server.stop()
    assert not nats_server.is_running()
    assert nats_server.pid() is None
    assert nats_server.client_port == port  # known while stopped
    nats_server.stop()  # a no-op
    nats_server.start()
    assert nats_server.is_running()
    assert nats_server.client_port == port
    assert nats_server.pid() not in (None, pid)
    nats_server.start()  # a no-op while it runs


def test_kill_is_a_crash(nats_server: Server) -> None:
    pid = nats_server.pid()
    assert pid is not None
    nats_server.kill()
    assert not nats_server.is_running()
    assert not pid_alive(pid)
    nats_server.kill()  # a no-op
    nats_server.restart()
    assert nats_server.is_running()


def test_restart_reconnects_a_client(nats_server: Server) -> None:
    async def main() -> None:
        reconnected = asyncio.Event()

        async def on_reconnect() -> None:
            reconnected.set()

        nc = await nats.connect(
            nats_server.client_url, reconnected_cb=on_reconnect, reconnect_time_wait=0.05, max_reconnect_attempts=-1
        )
        port = nats_server.client_port
        await asyncio.to_thread(nats_server.restart)
        assert nats_server.client_port == port
        await asyncio.wait_for(reconnected.wait(), 10)
        sub = await nc.subscribe("after")
        await nc.publish("after", b"restart")
        assert (await sub.next_msg(timeout=2)).data == b"restart"
        await nc.close()

    run(main())


def test_pause_and_resume(nats_server: Server) -> None:
    async def main() -> None:
        nc = await nats.connect(nats_server.client_url)
        try:
            sub = await nc.subscribe("p")
            await nc.flush(timeout=2)
            nats_server.pause()
            assert nats_server.is_paused()
            assert nats_server.is_running()  # paused counts as alive
            await nc.publish("p", b"while paused")
            with pytest.raises(nats.errors.TimeoutError):  # a hung server delivers nothing
                await sub.next_msg(timeout=0.3)
            nats_server.resume()
            assert not nats_server.is_paused()
            assert (await sub.next_msg(timeout=2)).data == b"while paused"
        finally:
            await nc.close()

    run(main())


def test_lame_duck_with_a_client() -> None:
    # The server's minimum lame duck duration is 30 s, but with a short grace period it closes its last client
    # right after the grace period and exits.
    with Server(config='lame_duck_duration: "30s"\nlame_duck_grace_period: "200ms"') as s:

        async def main() -> None:
            entered = asyncio.Event()
            closed = asyncio.Event()

            async def on_ldm() -> None:
                entered.set()

            async def on_closed() -> None:
                closed.set()

            nc = await nats.connect(s.client_url, lame_duck_mode_cb=on_ldm, closed_cb=on_closed, allow_reconnect=False)
            s.lame_duck()
            await asyncio.wait_for(entered.wait(), 5)
            # It no longer accepts clients: the listener is closed.
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", s.client_port), timeout=1).close()
            await asyncio.wait_for(closed.wait(), 10)
            assert nc.is_closed

        run(main())
        assert s.wait_exit(10) == 0
        assert not s.is_running()
        assert "Entering lame duck mode" in s.log_tail(200)
        s.start()  # and it comes back on its port
        assert s.is_running()


def test_lame_duck_without_clients_exits_at_once(nats_server: Server) -> None:
    nats_server.lame_duck()
    assert nats_server.wait_exit(5) == 0
    assert nats_server.pid() is None


def test_reload_picks_up_config_file_edits(tmp_path: Path) -> None:
    conf = tmp_path / "server.conf"
    conf.write_text("max_payload: 1MB\n")
    with Server(config_file=conf) as s:
        assert s.monitor("varz")["max_payload"] == 1024 * 1024
        conf.write_text("max_payload: 2MB\n")
        s.reload()
        eventually(lambda: s.monitor("varz")["max_payload"] == 2 * 1024 * 1024, what="the reloaded max_payload")


def test_inline_config_and_extra_args(tmp_path: Path) -> None:
    pid_file = tmp_path / "server.pid"
    with Server(config="max_connections: 7\nmax_payload: 4096", args=["--pid", str(pid_file)], name="py-test") as s:
        varz = s.monitor("varz")
        assert varz["max_connections"] == 7
        assert varz["max_payload"] == 4096
        assert varz["server_name"] == "py-test"
        assert pid_file.read_text().strip() == str(s.pid())


def test_close_is_idempotent_and_cleans_up() -> None:
    s = Server()
    directory, pid = s.dir, s.pid()
    assert pid is not None
    s.close()
    s.close()
    assert s.closed
    assert not directory.exists()
    assert not pid_alive(pid)
    assert repr(s) == "<Server (closed)>"


@pytest.mark.parametrize(
    "use",
    [
        lambda s: s.pid(),
        lambda s: s.client_url,
        lambda s: s.ports,
        lambda s: s.dir,
        lambda s: s.log_tail(),
        lambda s: s.monitor("varz"),
        lambda s: s.restart(),
        lambda s: s.stop(),
        lambda s: s.set_keep("always"),
        lambda s: s.wait_exit(0.1),
    ],
)
def test_use_after_close_raises(use: object) -> None:
    with Server() as s:
        pass
    with pytest.raises(h.ClosedError, match="closed"):
        use(s)  # type: ignore[operator]


def test_context_manager_closes_on_error() -> None:
    seen: list[Server] = []

    def body() -> None:
        with Server() as s:
            seen.append(s)
            raise RuntimeError("test body failed")

    with pytest.raises(RuntimeError):
        body()
    assert seen[0].closed


def test_set_keep_always_keeps_the_directory() -> None:
    s = Server()
    directory = s.dir
    s.set_keep("always")
    s.close()
    try:
        assert (directory / "nats-server.log").is_file()
        assert (directory / "kept").exists()
    finally:
        shutil.rmtree(directory)


@pytest.mark.parametrize(
    ("keep", "mark", "kept"),
    [
        ("on-failure", True, True),
        ("on_failure", True, True),  # every spelling the library's parser accepts, as NATS_SERVER_KEEP does
        ("on-failure", False, False),
        ("never", True, False),
        ("0", True, False),
        ("1", False, True),
    ],
)
def test_mark_failed_keeps_the_directory_under_on_failure(keep: Keep, mark: bool, kept: bool) -> None:
    s = Server(keep=keep)
    directory = s.dir
    if mark:
        s.mark_failed()
    s.close()
    try:
        assert directory.exists() == kept
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize(("spelling", "canonical"), [("on_failure", "on-failure"), ("1", "always"), ("false", "never")])
def test_keep_spellings_are_parsed_by_the_library(spelling: str, canonical: str) -> None:
    # Both entry points, Server(keep=...) and set_keep, go through the library's one parser (Rust Keep::parse).
    with Server(keep=spelling) as s:
        assert s.options["keep"] == canonical
        s.set_keep(spelling)
        s.set_keep("never")  # leave nothing behind
    with pytest.raises(h.InvalidOptions, match='keep policy "sometimes"'):
        Server(keep="sometimes")


def test_garbage_collected_server_is_cleaned_up() -> None:
    servers = [Server()]
    directory = servers[0].dir
    with pytest.warns(ResourceWarning, match="unclosed"):
        servers.clear()
    assert not directory.exists()


def test_a_forked_child_never_stops_the_parents_server(nats_server: Server) -> None:
    child = os.fork()
    if child == 0:  # the child closes its copy, as its atexit hook would
        nats_server.close()
        os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert nats_server.is_running()
    assert nats_server.dir.is_dir()
    assert nats_server.monitor("healthz") == {"status": "ok"}


def test_many_servers_in_parallel_threads() -> None:
    servers: list[Server] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def start() -> None:
        try:
            s = Server(jetstream=True)
            with lock:
                servers.append(s)
        except BaseException as e:  # noqa: BLE001 - collected and re-raised below
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors
        assert len({s.client_port for s in servers}) == 8
        assert len({s.dir for s in servers}) == 8
    finally:
        for s in servers:
            s.close()


def test_one_server_shared_between_threads(nats_server: Server) -> None:
    errors: list[BaseException] = []

    def query() -> None:
        try:
            for _ in range(50):
                assert nats_server.client_port > 0
                nats_server.log_tail(5)
        except BaseException as e:  # noqa: BLE001 - collected and re-raised below
            errors.append(e)

    threads = [threading.Thread(target=query) for _ in range(4)]
    for t in threads:
        t.start()
    nats_server.restart()  # serialized with the queries
    for t in threads:
        t.join()
    assert not errors
    assert nats_server.is_running()
