"""TLS with generated certificates, with the real client (nats-py and an ``ssl.SSLContext``)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from nats_server_harness import Cluster, ConfigError, InvalidOptions, Server, Unavailable
from nats_server_harness.pytest_plugin import ServerFactory

from conftest import my_dirs, run


async def round_trip(nc: NATS) -> None:
    sub = await nc.subscribe("tls.py")
    await nc.publish("tls.py", b"secure")
    assert (await sub.next_msg(timeout=5)).data == b"secure"


def test_tls_server_fixture_verifies_against_its_ca(nats_tls_server: Server) -> None:
    server = nats_tls_server
    assert server.tls_required
    assert server.client_url.startswith("tls://localhost:")
    assert server.ca_file is not None
    assert server.ca_file.is_relative_to(server.dir)

    async def main() -> None:
        nc = await nats.connect(server.client_url, tls=server.ssl_context(), allow_reconnect=False)
        await round_trip(nc)
        await nc.close()
        # A context with only the system's CAs refuses the private CA.
        with pytest.raises((ssl.SSLError, OSError, nats.errors.NoServersError)):
            await nats.connect(
                server.client_url, tls=ssl.create_default_context(), allow_reconnect=False, max_reconnect_attempts=0
            )

    run(main())


def test_mtls_with_and_without_a_client_certificate(nats_server_factory: ServerFactory) -> None:
    server = nats_server_factory(tls={"verify": True})
    assert server.client_key_file is not None
    assert server.client_key_file.stat().st_mode & 0o777 == 0o600

    async def main() -> None:
        nc = await nats.connect(server.client_url, tls=server.ssl_context(), allow_reconnect=False)
        await round_trip(nc)
        await nc.close()
        with pytest.raises(Exception):  # noqa: B017, PT011 - the server hangs up: the error depends on timing
            await nats.connect(
                server.client_url,
                tls=server.ssl_context(client_cert=False),
                allow_reconnect=False,
                max_reconnect_attempts=0,
                connect_timeout=2,
            )

    run(main())


def test_handshake_first(nats_server_factory: ServerFactory) -> None:
    server = nats_server_factory(tls={"handshake_first": True})
    assert server.server_id.startswith("N")

    async def main() -> None:
        nc = await nats.connect(
            server.client_url, tls=server.ssl_context(), tls_handshake_first=True, allow_reconnect=False
        )
        await round_trip(nc)
        await nc.close()

    run(main())


def test_websocket_over_tls() -> None:
    with Server(websocket=True, tls={"websocket": True}) as server:
        assert server.websocket_url is not None
        assert server.websocket_url.startswith("wss://")


def test_a_client_fails_over_between_nodes_of_a_tls_cluster() -> None:
    with Cluster(nodes=3, tls={"routes": True}) as cluster:
        ca = cluster.ca_file
        assert ca is not None
        assert all(node.ca_file is not None for node in cluster)
        assert {node.ca_file.read_bytes() for node in cluster if node.ca_file} == {ca.read_bytes()}
        for node in cluster:
            assert node.monitor("varz")["cluster"]["tls_verify"] is True

        async def main() -> None:
            reconnected = asyncio.Event()

            async def on_reconnect() -> None:
                reconnected.set()

            nc = await nats.connect(
                servers=cluster.client_urls,
                tls=cluster.ssl_context(),
                reconnected_cb=on_reconnect,
                reconnect_time_wait=0.05,
                dont_randomize=False,
            )
            await round_trip(nc)
            port = nc.connected_url.port if nc.connected_url else None
            victim = next(i for i, node in enumerate(cluster) if node.client_port == port)
            cluster.kill_node(victim)
            await asyncio.wait_for(reconnected.wait(), 15)
            assert nc.connected_url is not None
            assert nc.connected_url.port != port
            await round_trip(nc)
            await nc.close()

        run(main())


def test_bad_tls_options_are_clear_errors() -> None:
    before = my_dirs()
    with pytest.raises(ConfigError, match=r"/nonexistent/cert\.pem") as missing:
        Server(tls={"cert_file": "/nonexistent/cert.pem", "key_file": "/nonexistent/key.pem"})
    assert "no such file" in str(missing.value)
    with pytest.raises(InvalidOptions, match="websocket: true"):
        Server(tls={"websocket": True})
    with pytest.raises(InvalidOptions, match="verfy"):
        Server(tls={"verfy": True})  # type: ignore[arg-type]
    with Server(tls={"verify": True}) as donor:
        assert donor.client_key_file is not None
        with pytest.raises(ConfigError, match="private key does not match public key"):
            Server(tls={"cert_file": donor.dir / "tls" / "server-cert.pem", "key_file": donor.client_key_file})
    assert my_dirs() == before
    with Server() as plain:
        assert plain.ca_file is None
        assert plain.client_cert_file is None
        with pytest.raises(Unavailable, match="no TLS CA"):
            plain.ssl_context()


def test_bring_your_own_files(tmp_path: Path) -> None:
    with Server(tls=True) as donor:
        assert donor.ca_file is not None
        files = {"cert.pem": donor.dir / "tls" / "server-cert.pem", "key.pem": donor.dir / "tls" / "server-key.pem"}
        for name, source in files.items():
            (tmp_path / name).write_bytes(source.read_bytes())
        (tmp_path / "ca.pem").write_bytes(donor.ca_file.read_bytes())
    with Server(
        tls={"cert_file": tmp_path / "cert.pem", "key_file": tmp_path / "key.pem", "ca_file": tmp_path / "ca.pem"}
    ) as server:
        assert server.ca_file == tmp_path / "ca.pem"
        assert server.client_cert_file is None

        async def main() -> None:
            nc = await nats.connect(server.client_url, tls=server.ssl_context(), allow_reconnect=False)
            await round_trip(nc)
            await nc.close()

        run(main())


async def publish_until_received(publisher: NATS, subscriber: NATS, subject: str) -> bytes:
    """Publishes until the subscriber gets it (interest crosses gateways and leaf connections asynchronously)."""
    sub = await subscriber.subscribe(subject)
    await subscriber.flush()
    for _ in range(200):
        await publisher.publish(subject, b"over tls")
        await publisher.flush()
        try:
            msg = await sub.next_msg(timeout=0.1)
        except nats.errors.TimeoutError:
            continue
        return msg.data
    raise AssertionError(f"nothing arrived on {subject}")


def test_a_message_crosses_a_tls_leaf_connection(nats_server_factory: ServerFactory) -> None:
    # Options alone: the hub's leaf listener and the leaf's remote use the process's generated CA.
    hub = nats_server_factory(leafnodes=True, tls={"leafnodes": True})
    assert hub.leafnode_url is not None
    leaf = nats_server_factory(leaf_remotes=[{"urls": [hub.leafnode_url]}], tls={"leafnodes": True})
    hub.wait_for_leaf_connections(1)
    assert hub.monitor("varz")["leaf"]["tls_required"] is True

    async def main() -> bytes:
        on_hub = await nats.connect(hub.client_url, tls=hub.ssl_context(), allow_reconnect=False)
        on_leaf = await nats.connect(leaf.client_url, tls=leaf.ssl_context(), allow_reconnect=False)
        try:
            return await publish_until_received(on_leaf, on_hub, "from.leaf")
        finally:
            await on_hub.close()
            await on_leaf.close()

    assert run(main()) == b"over tls"


def test_tls_gateways_without_a_supercluster_are_refused() -> None:
    with pytest.raises(InvalidOptions, match=r"tls\.gateways"):
        Server(tls={"gateways": True})
