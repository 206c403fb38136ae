"""JetStream on one server: the store survives restarts on the same port, and clients reconnect."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import nats.js.errors

from nats_server_harness import Server

from conftest import JETSTREAM_NOT_YET, run


async def publish_until_acked(js: nats.js.JetStreamContext, subject: str, payload: bytes, timeout: float = 10) -> None:
    """Publishes once the stream is back: right after a restart the server recovers its store before answering."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await js.publish(subject, payload, timeout=1)
            return
        except JETSTREAM_NOT_YET:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


def test_stream_survives_restart_on_the_same_port(nats_jetstream_server: Server) -> None:
    server = nats_jetstream_server
    port = server.client_port

    async def main() -> None:
        reconnected = asyncio.Event()

        async def on_reconnect() -> None:
            reconnected.set()

        nc = await nats.connect(
            server.client_url, reconnected_cb=on_reconnect, reconnect_time_wait=0.05, max_reconnect_attempts=-1
        )
        js = nc.jetstream()
        await js.add_stream(name="ORDERS", subjects=["orders.>"])
        await js.publish("orders.1", b"first")
        assert (await js.stream_info("ORDERS")).state.messages == 1

        await asyncio.to_thread(server.restart)
        assert server.client_port == port
        await asyncio.wait_for(reconnected.wait(), 10)

        await publish_until_acked(js, "orders.2", b"second")
        info = await js.stream_info("ORDERS")
        assert info.state.messages == 2
        msg = await js.get_msg("ORDERS", 1)
        assert msg.data == b"first"
        await nc.close()

    run(main())


def test_stream_survives_kill_and_start(nats_jetstream_server: Server) -> None:
    server = nats_jetstream_server

    async def setup() -> None:
        nc = await nats.connect(server.client_url)
        js = nc.jetstream()
        await js.add_stream(name="EVENTS", subjects=["events.>"])
        for i in range(5):
            await js.publish(f"events.{i}", b"x")
        await nc.close()

    run(setup())
    server.kill()
    server.start()

    async def check() -> int:
        nc = await nats.connect(server.client_url)
        js = nc.jetstream()
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            try:
                messages = (await js.stream_info("EVENTS")).state.messages
                break
            except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.05)
        await nc.close()
        return messages

    assert run(check()) == 5


def test_caller_owned_store_dir_is_never_removed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with Server(jetstream=True, store_dir=store) as s:
        assert s.store_dir == store
        assert s.monitor("jsz")["config"]["store_dir"].startswith(str(store))
    assert store.is_dir()


def test_jsz_reports_jetstream(nats_jetstream_server: Server) -> None:
    jsz = nats_jetstream_server.monitor("jsz")
    assert jsz["config"]["store_dir"].startswith(str(nats_jetstream_server.store_dir))
    assert nats_jetstream_server.info["jetstream"] is True
