"""The asyncio surface: never blocks the loop, nodes stop in parallel, pytest-asyncio fixtures."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from nats.aio.msg import Msg

from nats_server_harness.aio import AsyncCluster, AsyncServer

pytestmark = pytest.mark.asyncio


class StallMeter:
    """Measures the longest time the event loop went without running a 1 ms ticker."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.001)
            now = time.monotonic()
            self.worst = max(self.worst, now - last)
            last = now

    def __enter__(self) -> StallMeter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_the_loop_keeps_publishing_while_servers_start_stop_and_restart() -> None:
    async with AsyncServer(keep="never") as hub:
        nc = await nats.connect(hub.url)
        received: list[int] = []

        async def on_tick(msg: Msg) -> None:
            received.append(int(msg.data))

        sub = await nc.subscribe("tick", cb=on_tick)
        publishing = True

        async def publisher() -> int:
            n = 0
            while publishing:
                await nc.publish("tick", str(n).encode())
                n += 1
                await asyncio.sleep(0.001)
            return n

        with StallMeter() as meter:
            task = asyncio.create_task(publisher())
            for _ in range(3):
                server = await AsyncServer.run(jetstream=True, keep="never")
                await server.restart()
                await server.stop(timeout=1)
                await server.start()
                await server.kill()
                await server.close()
            publishing = False
            sent = await task
        await nc.flush()
        await sub.unsubscribe()
        await nc.close()
    print(f"published {sent} messages meanwhile; the loop's longest stall: {meter.worst * 1000:.1f} ms")
    assert sent > 0
    assert len(received) > 0
    assert meter.worst < 0.5, f"the loop stalled for {meter.worst:.3f} s"


async def test_three_nodes_stopped_concurrently_take_about_as_long_as_one() -> None:
    config = 'lame_duck_grace_period: "20s"'
    async with AsyncCluster(nodes=4, config=config, keep="never") as cluster:
        clients = []
        for i, url in enumerate(cluster.client_urls):
            told = asyncio.Event()

            async def on_lame_duck(told: asyncio.Event = told) -> None:
                told.set()

            nc = await nats.connect(url, lame_duck_mode_cb=on_lame_duck, allow_reconnect=False)
            await cluster.lame_duck_node(i)
            await asyncio.wait_for(told.wait(), 5)
            clients.append(nc)
        started = time.monotonic()
        await cluster.stop_node(0, timeout=0.3)
        one = time.monotonic() - started
        started = time.monotonic()
        await asyncio.gather(*(cluster.nodes[i].stop(timeout=0.3) for i in (1, 2, 3)))
        three = time.monotonic() - started
        print(f"one lame-duck node stopped in {one * 1000:.0f} ms; three at once in {three * 1000:.0f} ms")
        assert three < 2 * one
        assert not any(node.is_running() for node in cluster.nodes)
        for nc in clients:
            await nc.close()


async def test_async_fixture_and_spawn(nats_async_server: AsyncServer) -> None:
    nc = await nats.connect(nats_async_server.url)
    await nc.flush()
    await nc.close()
    spawned = await AsyncServer.spawn(keep="never")
    await spawned.wait_ready()
    assert spawned.host == "127.0.0.1"
    varz = await spawned.monitor("varz")
    assert varz["port"] == spawned.client_port
    await spawned.close()
