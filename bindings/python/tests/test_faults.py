"""The fault proxy from Python, with the real nats-py client: reset_peer, latency, bandwidth, blackhole,
partitions and bad input."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from nats_server_harness import Cluster, InvalidArgument, InvalidOptions, Server, Supercluster

from conftest import eventually, run


def both(fault: dict[str, object]) -> list[dict[str, object]]:
    return [{**fault, "stream": stream} for stream in ("upstream", "downstream")]


def test_a_client_reconnects_after_reset_peer_and_its_subscription_still_receives() -> None:
    with Server(client_proxy=True, keep="never") as server:
        assert server.proxied_url != server.client_url

        async def main() -> bytes:
            disconnected, reconnected = asyncio.Event(), asyncio.Event()

            async def on_disconnect() -> None:
                disconnected.set()

            async def on_reconnect() -> None:
                reconnected.set()

            nc = await nats.connect(
                server.proxied_url,
                reconnect_time_wait=0.02,
                max_reconnect_attempts=-1,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            )
            sub = await nc.subscribe("after.reset")
            await nc.flush()
            server.add_fault({"type": "reset_peer", "attributes": {"timeout": 0}})
            await asyncio.wait_for(disconnected.wait(), 10)
            server.remove_fault()
            await asyncio.wait_for(reconnected.wait(), 10)
            publisher = await nats.connect(server.client_url)
            while True:  # the resubscription may still be on its way
                await publisher.publish("after.reset", b"again")
                await publisher.flush()
                try:
                    msg = await sub.next_msg(timeout=0.1)
                    break
                except nats.errors.TimeoutError:
                    continue
            await publisher.close()
            await nc.close()
            return msg.data

        assert run(main()) == b"again"


def test_a_request_under_latency_takes_at_least_the_added_time() -> None:
    with Server(client_proxy=True, keep="never") as server:

        async def main() -> float:
            responder = await nats.connect(server.client_url)

            async def echo(msg: Msg) -> None:
                await msg.respond(msg.data)

            await responder.subscribe("echo", cb=echo)
            await responder.flush()
            nc = await nats.connect(server.proxied_url)
            for fault in both({"type": "latency", "attributes": {"latency": 50}}):
                server.add_fault(fault)
            started = time.monotonic()
            await nc.request("echo", b"slow", timeout=5)
            took = time.monotonic() - started
            await nc.close()
            await responder.close()
            return took

        took = run(main())
        print(f"request with 50 ms latency each way took {took * 1000:.1f} ms")
        assert took >= 0.1


def test_a_slow_consumer_under_a_bandwidth_limit_is_reported_by_the_server() -> None:
    config = 'max_payload: 64KB\nmax_pending: 256KB\nwrite_deadline: "500ms"'
    with Server(client_proxy=True, config=config, keep="never") as server:

        async def main() -> int:
            consumer = await nats.connect(server.proxied_url, max_reconnect_attempts=0)
            await consumer.subscribe("flood")
            await consumer.flush()
            server.add_fault({"type": "bandwidth", "stream": "downstream", "attributes": {"rate": 10}})
            publisher = await nats.connect(server.client_url)
            payload = b"x" * 32 * 1024
            while True:
                for _ in range(64):
                    await publisher.publish("flood", payload)
                await publisher.flush()
                count = int(server.monitor("varz")["slow_consumers"])
                if count > 0:
                    await publisher.close()
                    await consumer.close()
                    return count

        assert run(main(), timeout=60) >= 1


def test_a_blackhole_is_detected_by_the_clients_ping_interval() -> None:
    with Server(client_proxy=True, keep="never") as server:

        async def main() -> None:
            disconnected = asyncio.Event()

            async def on_disconnect() -> None:
                disconnected.set()

            nc = await nats.connect(
                server.proxied_url,
                ping_interval=0.2,
                max_outstanding_pings=2,
                reconnect_time_wait=0.02,
                disconnected_cb=on_disconnect,
            )
            for fault in both({"type": "timeout", "attributes": {"timeout": 0}}):
                server.add_fault(fault)
            await asyncio.wait_for(disconnected.wait(), 10)
            server.remove_fault()
            await nc.close()

        run(main())


def test_bad_faults_and_partitions_are_clear_errors() -> None:
    with Server(client_proxy=True, keep="never") as server:
        with pytest.raises(InvalidOptions, match="cannot be negative"):
            server.add_fault({"type": "latency", "attributes": {"latency": -5}})
        with pytest.raises(InvalidOptions, match="absurd"):
            server.add_fault({"type": "slow_close", "attributes": {"delay": 10**9}})
        with pytest.raises(InvalidOptions, match="no fault named"):
            server.remove_fault("nope")
        server.set_link_up(False)
        server.set_link_up(True)
    with Server(keep="never") as plain, pytest.raises(InvalidOptions, match="client_proxy"):
        plain.add_fault({"type": "latency", "attributes": {"latency": 1}})
    with Cluster(nodes=3, route_proxies=True, keep="never") as cluster:
        with pytest.raises(InvalidArgument, match="node index 4"):
            cluster.partition([[0], [4]])
        with pytest.raises(InvalidArgument, match="more than once"):
            cluster.partition([[0, 1], [1, 2]])
        cluster.partition([[0], [1, 2]])
        eventually(lambda: not cluster[0].monitor("routez")["routes"], what="node 0 loses its routes")
        cluster.heal()
        cluster.wait_ready(30)
        cluster.add_route_fault(0, 1, {"type": "latency", "attributes": {"latency": 1}})
        cluster.remove_route_fault(0, 1)
        with pytest.raises(InvalidArgument, match="out of range"):
            cluster.add_route_fault(0, 3, {"type": "latency", "attributes": {"latency": 1}})


async def publish_until_received(publisher: Client, sub: Subscription, payload: bytes) -> Msg:
    """Publishes on "across" until ``sub`` receives a message (interest crosses gateways asynchronously)."""
    while True:
        await publisher.publish("across", payload)
        await publisher.flush()
        try:
            msg: Msg = await sub.next_msg(timeout=0.1)
        except nats.errors.TimeoutError:
            continue
        return msg


def test_a_partition_of_clusters_stops_gateway_traffic_until_heal() -> None:
    with Supercluster(clusters=2, nodes=1, gateway_proxies=True, keep="never") as sc:

        async def main() -> bytes:
            west = await nats.connect(sc.node(0, 0).client_url)
            east = await nats.connect(sc.node(1, 0).client_url)
            sub = await west.subscribe("across")
            await west.flush()
            assert (await publish_until_received(east, sub, b"before")).data == b"before"
            while True:  # drain the extra copies published while interest crossed
                try:
                    await sub.next_msg(timeout=0.05)
                except nats.errors.TimeoutError:
                    break
            sc.partition([[0], [1]])
            eventually(
                lambda: (
                    not sc.node(0, 0).monitor("gatewayz")["outbound_gateways"]
                    and not sc.node(1, 0).monitor("gatewayz")["outbound_gateways"]
                ),
                what="the gateways to drop",
            )
            await east.publish("across", b"during")
            await east.flush()
            sc.heal()
            sc.wait_ready(30)
            first = await publish_until_received(east, sub, b"after")
            await west.close()
            await east.close()
            return first.data

        assert run(main()) == b"after", "a message published during the partition crossed it"
        with pytest.raises(InvalidArgument, match="cluster index 3"):
            sc.partition([[0], [3]])
        with pytest.raises(InvalidArgument, match="both nodes are in cluster 1"):
            sc.add_gateway_fault((1, 0), (1, 0), {"type": "latency", "attributes": {"latency": 1}})
        sc.add_gateway_fault((0, 0), (1, 0), {"type": "latency", "attributes": {"latency": 1}})
        sc.remove_gateway_fault((0, 0), (1, 0))
    with (
        Supercluster(clusters=2, nodes=1, keep="never") as plain,
        pytest.raises(InvalidOptions, match="gateway_proxies"),
    ):
        plain.heal()


def meta_leader_seen_by(cluster: Cluster, k: int) -> str:
    """The JetStream meta leader node ``k`` names ("" for none, or when it does not answer while electing)."""
    try:
        return str(cluster[k].monitor("jsz")["meta_cluster"].get("leader", ""))
    except Exception:  # noqa: BLE001 - a node busy electing may not answer: no leader seen
        return ""


def stream_messages(cluster: Cluster, k: int, name: str) -> int | None:
    """The message count node ``k`` holds for stream ``name`` (None when it does not answer or has no such stream)."""
    try:
        jsz = cluster[k].monitor("jsz?accounts=true&streams=true")
    except Exception:  # noqa: BLE001
        return None
    for account in jsz.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            if stream["name"] == name:
                return int(stream["state"]["messages"])
    return None


async def until(check: Callable[[], str | None], within: float) -> None:
    """Polls ``check`` (blocking monitor calls, run in a thread) until it returns None; fails with its last reason."""
    deadline = time.monotonic() + within
    while (reason := await asyncio.to_thread(check)) is not None:
        assert time.monotonic() < deadline, reason
        await asyncio.sleep(0.02)


class IdPublisher:
    """Publishes orders.N with message id order-N, retrying each until acknowledged; ``acked`` counts them."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.acked = 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            msg_id = f"order-{self.acked}"
            try:
                await self.js.publish(f"orders.{self.acked}", msg_id.encode(), headers={"Nats-Msg-Id": msg_id})
            except (
                nats.errors.TimeoutError,
                nats.errors.NoRespondersError,
                nats.js.errors.APIError,
                nats.js.errors.NoStreamResponseError,
            ):
                await asyncio.sleep(0.02)
                continue
            self.acked += 1

    async def acked_at_least(self, k: int, within: float) -> None:
        deadline = time.monotonic() + within
        while self.acked < k:
            assert time.monotonic() < deadline, f"fewer than {k} messages acknowledged in {within} s"
            await asyncio.sleep(0.01)


async def partition_while_publishing(cluster: Cluster, names: list[str]) -> tuple[int, int]:
    """Runs the scenario; returns (acknowledged in total, acknowledged before the partition)."""
    nc = await nats.connect(cluster[1].client_url)
    js = nc.jetstream()
    while True:  # the first API request may time out while a new cluster settles: retry (idempotent)
        try:
            await js.add_stream(name="ORDERS", subjects=["orders.>"], num_replicas=3)
            break
        except (nats.errors.TimeoutError, nats.js.errors.APIError):
            await asyncio.sleep(0.1)
    publisher = IdPublisher(js)
    task = asyncio.create_task(publisher.run())
    await publisher.acked_at_least(20, 20)
    await asyncio.to_thread(cluster.partition, [[0], [1, 2]])
    before = publisher.acked

    def minority_leaderless() -> str | None:
        minority = meta_leader_seen_by(cluster, 0)
        majority = [meta_leader_seen_by(cluster, 1), meta_leader_seen_by(cluster, 2)]
        if minority:
            return f"node 0 still names leader {minority!r}"
        if not majority[0] or majority[0] != majority[1] or majority[0] == names[0]:
            return f"the majority names {majority}"
        return None

    await until(minority_leaderless, 60)
    await publisher.acked_at_least(before + 20, 30)  # publishing continues on the majority side
    assert not await asyncio.to_thread(meta_leader_seen_by, cluster, 0), "the minority elected a leader"

    await asyncio.to_thread(cluster.heal)
    await publisher.acked_at_least(publisher.acked + 10, 30)
    publisher.stop.set()
    await task
    total = publisher.acked

    def every_node_holds_all() -> str | None:
        counts = [stream_messages(cluster, k, "ORDERS") for k in range(3)]
        return None if all(c == total for c in counts) else f"{total} acknowledged; nodes hold {counts}"

    await until(every_node_holds_all, 60)
    await nc.close()
    return total, before


def test_a_jetstream_cluster_keeps_every_acknowledged_message_across_a_partition() -> None:
    """Node 0 is cut off from nodes 1 and 2 while a publisher with message ids runs against node 1: publishing
    continues, the minority names no meta leader, and after heal every node holds exactly the acknowledged count."""
    with Cluster(nodes=3, jetstream=True, route_proxies=True, keep="never") as cluster:
        names = [str(cluster[k].monitor("varz")["server_name"]) for k in range(3)]
        total, before = run(partition_while_publishing(cluster, names), timeout=240)
        assert total > before >= 20


def test_a_leaf_link_cut_stops_hub_leaf_traffic_until_restored() -> None:
    with Server(leafnodes=True, leafnode_proxy=True, keep="never") as hub:
        assert hub.proxied_leafnode_url != hub.leafnode_url
        with Server(leaf_remotes=[{"urls": [hub.proxied_leafnode_url]}], keep="never") as leaf:

            async def main() -> list[bytes]:
                on_hub = await nats.connect(hub.client_url)
                on_leaf = await nats.connect(leaf.client_url)
                try:
                    sub = await on_hub.subscribe("across")
                    await on_hub.flush()
                    before = (await publish_until_received(on_leaf, sub, b"before")).data
                    while True:  # drain the repeats
                        try:
                            await sub.next_msg(timeout=0.05)
                        except nats.errors.TimeoutError:
                            break
                    hub.set_leafnode_link_up(False)
                    eventually(
                        lambda: hub.leaf_connections() == 0 and leaf.leaf_connections() == 0,
                        what="the leaf connection to drop",
                    )
                    await on_leaf.publish("across", b"during")
                    await on_leaf.flush()
                    hub.set_leafnode_link_up(True)
                    hub.wait_for_leaf_connections(1, timeout=30)
                    after = (await publish_until_received(on_leaf, sub, b"after")).data
                    return [before, after]
                finally:
                    await on_hub.close()
                    await on_leaf.close()

            # "during" was published while the link was cut: it never reached the hub.
            assert run(main(), timeout=60) == [b"before", b"after"]
            hub.add_leafnode_fault({"type": "latency", "attributes": {"latency": 1}})
            with pytest.raises(InvalidOptions, match="no fault named"):
                hub.remove_leafnode_fault("nope")
            hub.remove_leafnode_fault()
    with Server(keep="never") as plain, pytest.raises(InvalidOptions, match="leafnode_proxy"):
        plain.set_leafnode_link_up(False)
