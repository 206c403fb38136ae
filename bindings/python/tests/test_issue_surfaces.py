"""Stop timeouts, start without waiting, routes that are up when a start returns, config files that choose their
ports, arguments that fight the harness, seconds for the startup timeout, and the listen host, through the Python
binding with the real nats-py client."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import time
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from nats_server_harness import ConfigError, InvalidOptions, Server

from conftest import pid_alive, run


def quiet_port() -> int:
    """A port free now and below the kernel's ephemeral range (so no dynamic port can take it meanwhile)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    import random

    for _ in range(1000):
        port = random.randrange(10_000, max(11_000, min(low, 32768)))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the ephemeral range")


async def connect_told_lame_duck(url: str) -> tuple[Client, asyncio.Event]:
    told = asyncio.Event()

    async def on_lame_duck() -> None:
        told.set()

    nc = await nats.connect(url, lame_duck_mode_cb=on_lame_duck, allow_reconnect=False, dont_randomize=True)
    return nc, told


def test_stop_with_a_timeout_bounds_a_lame_duck_server_with_a_client() -> None:
    with Server(config='lame_duck_grace_period: "20s"', keep="never") as server:
        pid, directory = server.pid(), server.dir

        async def scenario() -> float:
            nc, told = await connect_told_lame_duck(server.url)
            server.lame_duck()
            await asyncio.wait_for(told.wait(), 5)
            started = time.monotonic()
            await asyncio.to_thread(server.stop, timeout=0.5)
            took = time.monotonic() - started
            await nc.close()
            return took

        took = run(scenario())
        print(f"stop(timeout=0.5) on a lame-duck server with a client took {took * 1000:.0f} ms")
        assert took < 3.0
        assert not server.is_running()
        assert pid is not None
        assert not pid_alive(pid)
    assert not directory.exists()


def test_spawn_then_wait_ready_behaves_like_a_start() -> None:
    servers = [Server.spawn(keep="never") for _ in range(3)]
    try:
        for server in servers:
            server.wait_ready()
            server.wait_ready()

            async def ping(url: str) -> None:
                nc = await nats.connect(url)
                await nc.flush()
                await nc.close()

            run(ping(server.url))
        bad = Server.spawn(config="no_such_field: 1", keep="never")
        with bad, pytest.raises(ConfigError, match="no_such_field"):
            bad.wait_ready()
        with pytest.raises(ConfigError, match="no_such_field"):
            Server(config="no_such_field: 1", keep="never")
    finally:
        for server in servers:
            server.close()


def test_config_file_ports_an_explicit_port_and_a_restart(tmp_path: Path) -> None:
    client_port, http_port, explicit = quiet_port(), quiet_port(), quiet_port()
    conf = tmp_path / "ports.conf"
    conf.write_text(f'port: {client_port}\nhttp: "127.0.0.1:{http_port}"\n')
    with Server(config_file=conf, keep="never") as server:
        for _ in range(2):
            assert (server.client_port, server.monitoring_port) == (client_port, http_port)
            server.restart()
    with Server(config_file=conf, port=explicit, keep="never") as server:
        for _ in range(2):
            assert (server.client_port, server.monitoring_port) == (explicit, http_port)
            server.restart()


def test_a_config_flag_in_args_is_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(InvalidOptions, match="config_file"):
        Server(args=["-c", "/etc/nats.conf"])
    assert time.monotonic() - started < 1.0


def test_startup_timeout_in_seconds_port_zero_and_host() -> None:
    with Server(startup_timeout=2.5, port=0, keep="never") as server:
        assert server.options["startup_timeout_ms"] == 2500
        assert server.client_port > 0
        assert server.host == "127.0.0.1"
    with pytest.raises(InvalidOptions, match="not both"):
        Server(startup_timeout=1, startup_timeout_ms=1000)
    with pytest.raises(InvalidOptions, match="positive"):
        Server(startup_timeout=0)


def test_credentials_stay_out_of_the_command_line_and_the_files_are_private() -> None:
    with Server(user="alice", password="pw-s3cret", keep="never") as server:
        pid = server.pid()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert b"s3cret" not in cmdline
        assert stat.S_IMODE(os.stat(server.dir).st_mode) == 0o700
        for name in ("server.conf", "nats-server.log", "output.log"):
            assert stat.S_IMODE(os.stat(server.dir / name).st_mode) == 0o600, name


def test_two_servers_started_one_by_one_with_routes_see_each_other_50_times() -> None:
    async def round_trip(n: int) -> None:
        a_port, b_port = quiet_port(), quiet_port()

        def node(own: int, peer: int) -> Server:
            return Server(
                cluster={"name": "pair", "port": own, "routes": [f"nats://127.0.0.1:{peer}"]},
                wait_for_routes=True,
                keep="never",
            )

        with node(a_port, b_port) as a, node(b_port, a_port) as b:
            for name, server in (("b", b), ("a", a)):
                nc = await nats.connect(server.url, dont_randomize=True)
                try:
                    discovered = [u.netloc for u in nc.discovered_servers]
                    assert len(discovered) == 1, f"round {n}: a client of {name} discovered {discovered}"
                finally:
                    await nc.close()

    async def fifty() -> None:
        for n in range(50):
            await round_trip(n)

    run(fifty(), timeout=120)
