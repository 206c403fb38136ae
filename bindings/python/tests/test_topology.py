"""Superclusters, leaf nodes and MQTT with the real nats-py client: a message crosses a gateway, a queue group
spread over two clusters gets each message once, a stream placed in cluster B from cluster A survives a node kill,
a leaf and its hub exchange messages both ways (also after the hub restarts), a leaf's JetStream domain answers
through the hub, a raw MQTT client reaches a NATS subscriber, and bad shapes fail by name."""

from __future__ import annotations

import asyncio
import builtins

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import Placement, StreamConfig

from nats_server_harness import (
    ConfigError,
    InvalidArgument,
    InvalidOptions,
    Server,
    Supercluster,
)
from nats_server_harness.pytest_plugin import LeafPair, ServerFactory, SuperclusterFactory

from conftest import run


async def publish_until_received(publisher: Client, subscriber: Client, subject: str) -> bytes:
    """Publishes until the subscriber gets it (interest crosses gateways and leaf connections asynchronously)."""
    sub = await subscriber.subscribe(subject)
    await subscriber.flush()
    for _ in range(200):
        await publisher.publish(subject, b"hello")
        await publisher.flush()
        try:
            msg = await sub.next_msg(timeout=0.1)
        except nats.errors.TimeoutError:
            continue
        return msg.data
    raise AssertionError(f"nothing arrived on {subject}")


def test_a_subscriber_in_cluster_a_receives_a_message_published_in_cluster_b(
    nats_supercluster: Supercluster,
) -> None:
    sc = nats_supercluster
    assert len(sc) == 2
    assert [len(urls) for urls in sc.client_urls] == [3, 3]
    assert all(node.gateway_url for nodes in sc.clusters for node in nodes)
    names = sc.names
    assert len(set(names)) == 2

    async def scenario() -> bytes:
        a = await nats.connect(sc.node(0, 1).client_url)
        b = await nats.connect(sc.node(1, 2).client_url)
        try:
            return await publish_until_received(b, a, "across")
        finally:
            await a.close()
            await b.close()

    assert run(scenario()) == b"hello"


def test_a_queue_group_spread_over_two_clusters_gets_each_message_once(
    nats_supercluster_factory: SuperclusterFactory,
) -> None:
    sc = nats_supercluster_factory(clusters=2, nodes=2)

    async def scenario() -> tuple[dict[int, int], int, int]:
        a = await nats.connect(sc.node(0, 0).client_url)
        b = await nats.connect(sc.node(1, 1).client_url)
        try:
            qa = await a.subscribe("work", queue="workers")
            qb = await b.subscribe("work", queue="workers")
            await a.flush()
            await b.flush()
            # Publishing while a cluster learns of the other's members can deliver a message in both (nats-server).
            await asyncio.to_thread(sc.wait_for_queue_interest, "work", "workers")
            with pytest.raises(builtins.TimeoutError, match='"nobody"'):
                await asyncio.to_thread(sc.wait_for_queue_interest, "work", "nobody", 0.2)
            total = 200
            for i in range(total):
                await (a if i % 2 == 0 else b).publish("work", str(i).encode())
            await a.flush()
            await b.flush()
            seen: dict[int, int] = {}
            got = {"a": 0, "b": 0}
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while sum(got.values()) < total:
                assert loop.time() < deadline, f"only {sum(got.values())} of {total} messages arrived"
                for side, sub in (("a", qa), ("b", qb)):
                    try:
                        msg = await sub.next_msg(timeout=0.05)
                    except nats.errors.TimeoutError:
                        continue
                    seen[int(msg.data)] = seen.get(int(msg.data), 0) + 1
                    got[side] += 1
            # Nothing more arrives: no message was delivered twice.
            for sub in (qa, qb):
                try:
                    extra = await sub.next_msg(timeout=0.3)
                except nats.errors.TimeoutError:
                    continue
                raise AssertionError(f"a message was delivered twice: {extra.data!r}")
            return seen, got["a"], got["b"]
        finally:
            await a.close()
            await b.close()

    seen, from_a, from_b = run(scenario())
    assert sorted(seen) == list(range(200))
    assert set(seen.values()) == {1}
    assert from_a > 0, "cluster A's member got messages"
    assert from_b > 0, "cluster B's member got messages"


def test_a_stream_placed_in_cluster_b_is_created_from_cluster_a_and_survives_a_node_kill(
    nats_supercluster_factory: SuperclusterFactory,
) -> None:
    sc = nats_supercluster_factory(clusters=2, nodes=3, jetstream=True)
    target = sc.names[1]

    async def create_and_fill() -> str | None:
        nc = await nats.connect(sc.node(0, 0).client_url)
        try:
            js = nc.jetstream()
            info = await js.add_stream(
                StreamConfig(name="PLACED", subjects=["placed.>"], num_replicas=3, placement=Placement(cluster=target))
            )
            for i in range(5):
                # The stream's interest reaches cluster A over the gateway asynchronously (no responders until
                # then): retry, the message id drops a repeat.
                for _ in range(300):
                    try:
                        await js.publish(f"placed.{i}", b"x", timeout=1, headers={"Nats-Msg-Id": f"before-{i}"})
                        break
                    except nats.errors.Error:
                        await asyncio.sleep(0.1)
                else:
                    raise AssertionError("the stream in cluster B takes no message from cluster A")
            return info.cluster.name if info.cluster else None
        finally:
            await nc.close()

    assert run(create_and_fill()) == target
    sc.kill_node(1, 0)

    async def after_the_kill() -> tuple[int, int]:
        nc = await nats.connect(sc.node(0, 1).client_url)
        try:
            js = nc.jetstream()
            # Two of three replicas remain: the stream takes a message (and answers) once its leader, and the meta
            # leader if that was the killed node, are elected again.
            for _ in range(400):
                try:
                    ack = await js.publish("placed.after", b"y", timeout=1, headers={"Nats-Msg-Id": "after-kill"})
                    info = await js.stream_info("PLACED")
                    break
                except nats.errors.Error:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the stream takes no message after the kill")
            return ack.seq, info.state.messages
        finally:
            await nc.close()

    assert run(after_the_kill()) == (6, 6)


def test_a_restarted_node_is_back_in_the_supercluster(nats_supercluster_factory: SuperclusterFactory) -> None:
    sc = nats_supercluster_factory(clusters=2, nodes=1, names=["east", "west"])
    assert sc.names == ["east", "west"]
    port_before = sc.node(1, 0).gateway_url
    sc.restart_node(1, 0)
    assert sc.node(1, 0).gateway_url == port_before
    with pytest.raises(InvalidArgument, match="out of range"):
        sc.node(0, 5)
    with pytest.raises(InvalidArgument):
        sc.kill_node(-1, 0)


def test_a_leaf_and_its_hub_exchange_messages_also_after_the_hub_restarts(nats_leaf_pair: LeafPair) -> None:
    hub, leaf = nats_leaf_pair.hub, nats_leaf_pair.leaf
    assert hub.leaf_connections() == 1
    assert leaf.leaf_connections() == 1
    assert hub.leafnode_url is not None
    assert leaf.leafnode_url is None

    async def round_trip() -> None:
        on_hub = await nats.connect(hub.client_url)
        on_leaf = await nats.connect(leaf.client_url)
        try:
            assert await publish_until_received(on_leaf, on_hub, "up") == b"hello"
            assert await publish_until_received(on_hub, on_leaf, "down") == b"hello"
        finally:
            await on_hub.close()
            await on_leaf.close()

    run(round_trip())
    hub.restart()
    hub.wait_for_leaf_connections(1, timeout=20)
    run(round_trip())


def test_a_leaf_jetstream_domain_is_reached_from_the_hub(nats_server_factory: ServerFactory) -> None:
    pair = LeafPair.start(
        nats_server_factory,
        hub={"jetstream": True, "jetstream_domain": "hub"},
        leaf={"jetstream": True, "jetstream_domain": "leafdom"},
    )

    async def scenario() -> str:
        nc = await nats.connect(pair.hub.client_url)
        try:
            reply = await nc.request("$JS.leafdom.API.INFO", b"", timeout=5)
            return reply.data.decode()
        finally:
            await nc.close()

    assert '"domain":"leafdom"' in run(scenario()).replace(" ", "")
    # After the hub restarts, wait_for_leaf returns once the domain answers through the hub again: one request,
    # no retry.
    pair.hub.restart()
    pair.hub.wait_for_leaf(pair.leaf, timeout=20)
    assert '"domain":"leafdom"' in run(scenario()).replace(" ", "")


def test_bad_topologies_fail_by_name(nats_server_factory: ServerFactory) -> None:
    with pytest.raises(InvalidOptions, match="`clusters` must be at least 1"):
        Supercluster(clusters=0)
    with pytest.raises(InvalidOptions, match="sets a `gateway` block"):
        Supercluster(config="gateway {\n  name: mine\n}\n")
    hub = nats_server_factory(leafnodes=True)
    url = hub.leafnode_url
    assert url is not None
    hub.stop()
    with pytest.raises(ConfigError, match="cannot reach its hub"):
        Server(leaf_remotes=[{"urls": [url]}], keep="never")


def test_an_mqtt_url_is_reported(nats_server_factory: ServerFactory) -> None:
    server = nats_server_factory(jetstream=True, mqtt=True)
    url = server.mqtt_url
    assert url is not None
    assert url.startswith("mqtt://127.0.0.1:")
    host, port = url.removeprefix("mqtt://").rsplit(":", 1)

    async def scenario() -> bytes:
        nc = await nats.connect(server.client_url)
        sub = await nc.subscribe("sensors.temp")
        await nc.flush()
        reader, writer = await asyncio.open_connection(host, int(port))
        client_id = b"py-test"
        connect = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big") + client_id
        writer.write(bytes([0x10, len(connect)]) + connect)
        assert await reader.readexactly(4) == b"\x20\x02\x00\x00"
        topic = b"sensors/temp"
        publish = len(topic).to_bytes(2, "big") + topic + b"21.5"
        writer.write(bytes([0x30, len(publish)]) + publish + b"\xe0\x00")
        await writer.drain()
        try:
            msg = await sub.next_msg(timeout=10)
            return msg.data
        finally:
            writer.close()
            await nc.close()

    assert run(scenario()) == b"21.5"
