"""Clusters: formation ready for an R3 stream at once, node views, faults by index, rolling restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import nats
import nats.js.api
import nats.js.errors
import pytest

import nats_server_harness as h
from nats_server_harness import Cluster
from nats_server_harness.pytest_plugin import ClusterFactory

from conftest import JETSTREAM_NOT_YET, eventually, pid_alive, run


@pytest.fixture(scope="module")
def shared_cluster(nats_cluster_session_factory: ClusterFactory) -> Iterator[Cluster]:
    """One JetStream cluster for the read-only tests of this module (the session factory, closed early)."""
    cluster = nats_cluster_session_factory(nodes=3, jetstream=True)
    yield cluster
    cluster.close()


async def stream_messages(url: str | list[str], stream: str, timeout: float = 10) -> int:
    nc = await nats.connect(url)
    js = nc.jetstream()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            try:
                return (await js.stream_info(stream)).state.messages
            except JETSTREAM_NOT_YET:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.05)
    finally:
        await nc.close()


def test_r3_stream_on_the_first_try(nats_cluster: Cluster) -> None:
    async def main() -> None:
        nc = await nats.connect(servers=nats_cluster.client_urls)
        js = nc.jetstream()
        # No retry: the cluster is returned only once a meta leader is known everywhere.
        info = await js.add_stream(name="R3", subjects=["r3.>"], num_replicas=3)
        assert info.config.num_replicas == 3
        ack = await js.publish("r3.a", b"one")
        assert ack.seq == 1
        info = await js.stream_info("R3")
        assert info.cluster is not None
        assert info.cluster.leader
        assert len(info.cluster.replicas or []) == 2
        await nc.close()

    run(main())


def test_cluster_queries(shared_cluster: Cluster) -> None:
    c = shared_cluster
    assert len(c) == 3
    assert c.jetstream
    assert c.name
    urls = c.client_urls
    assert urls == [node.client_url for node in c]
    assert len(set(urls)) == 3
    assert c.meta_leader() in (0, 1, 2)
    assert c.wait_for_leader(5) == c.meta_leader()
    c.wait_ready(5)
    assert repr(c) == f"<Cluster {c.name} nodes=3>"
    ids = set()
    for i, node in enumerate(c):
        assert node.index == i
        assert node.cluster is c
        assert node is c.node(i) is node
        assert node.is_running()
        assert node.cluster_url is not None
        assert node.cluster_port is not None
        assert node.monitor("varz")["cluster"]["name"] == c.name
        ids.add(node.server_id)
    assert len(ids) == 3
    assert c[-1] is c.node(2)
    assert c.client_url == c.client_urls[0] == c.node(0).client_url
    assert c.client_urls_joined == ",".join(c.client_urls)
    assert c.nodes == list(c)


def test_node_index_errors(shared_cluster: Cluster) -> None:
    with pytest.raises(IndexError, match="out of range"):
        _ = shared_cluster[3]
    # A bad index is InvalidArgument with the library's message, as in C, C++ and Go.
    with pytest.raises(h.InvalidArgument, match="invalid argument: node index 7 is out of range: the cluster has 3"):
        shared_cluster.node(7)
    with pytest.raises(h.InvalidArgument, match="out of range"):
        shared_cluster.kill_node(3)
    with pytest.raises(h.InvalidArgument, match="node index -4 is out of range"):
        shared_cluster.node(-4)
    with pytest.raises(TypeError, match="not str"):
        shared_cluster.node("1")  # type: ignore[arg-type]


def test_closing_a_node_view_does_nothing(shared_cluster: Cluster) -> None:
    node = shared_cluster.node(0)
    node.close()
    with node:
        pass
    assert not node.closed
    assert node.is_running()


def test_kill_node_and_rejoin(nats_cluster: Cluster) -> None:
    async def create() -> None:
        nc = await nats.connect(servers=nats_cluster.client_urls)
        js = nc.jetstream()
        await js.add_stream(name="KR", subjects=["kr.>"], num_replicas=3)
        await js.publish("kr.1", b"before")
        await nc.close()

    run(create())
    victim = 1
    pid = nats_cluster[victim].pid()
    assert pid is not None
    nats_cluster.kill_node(victim)
    assert not nats_cluster[victim].is_running()
    assert not pid_alive(pid)

    survivors = [url for i, url in enumerate(nats_cluster.client_urls) if i != victim]

    async def publish_while_down() -> None:
        nc = await nats.connect(servers=survivors)
        js = nc.jetstream()
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            try:
                await js.publish("kr.2", b"while down", timeout=1)
                break
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.js.errors.NoStreamResponseError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.05)
        await nc.close()

    run(publish_while_down())
    nats_cluster.start_node(victim)  # returns once the cluster is ready again
    assert nats_cluster[victim].is_running()
    # Asked through the rejoined node, the stream has caught up.
    eventually(
        lambda: run(stream_messages(nats_cluster[victim].client_url, "KR")) == 2, what="the stream on the rejoined node"
    )


def test_kill_the_meta_leader(nats_cluster: Cluster) -> None:
    leader = nats_cluster.meta_leader()
    assert leader is not None
    nats_cluster.kill_node(leader)
    new_leader = nats_cluster.wait_for_leader(20)
    assert new_leader != leader
    nats_cluster.start_node(leader)
    nats_cluster.wait_ready(20)
    assert nats_cluster.meta_leader() is not None


def test_pause_resume_stop_restart_and_lame_duck_nodes(nats_cluster: Cluster) -> None:
    nats_cluster.pause_node(2)
    assert nats_cluster[2].is_paused()
    nats_cluster.wait_ready(20)  # readiness leaves paused nodes out
    nats_cluster.resume_node(2)
    assert not nats_cluster[2].is_paused()

    nats_cluster.stop_node(0)
    assert not nats_cluster[0].is_running()
    nats_cluster.stop_node(0)  # a no-op
    nats_cluster.start_node(0)
    assert nats_cluster[0].is_running()

    port = nats_cluster[1].client_port
    pid = nats_cluster[1].pid()
    nats_cluster.restart_node(1)
    assert nats_cluster[1].client_port == port
    assert nats_cluster[1].pid() != pid

    nats_cluster.lame_duck_node(2)
    assert nats_cluster[2].wait_exit(10) == 0
    nats_cluster.start_node(2)
    nats_cluster.wait_ready(20)


def test_rolling_restart_keeps_ports_and_data(nats_cluster: Cluster) -> None:
    async def create() -> None:
        nc = await nats.connect(servers=nats_cluster.client_urls)
        js = nc.jetstream()
        await js.add_stream(name="RR", subjects=["rr"], num_replicas=3)
        await js.publish("rr", b"x")
        await nc.close()

    run(create())
    urls = nats_cluster.client_urls
    pids = [node.pid() for node in nats_cluster]
    nats_cluster.rolling_restart()
    assert nats_cluster.client_urls == urls
    assert all(node.pid() not in pids for node in nats_cluster)
    assert run(stream_messages(urls, "RR")) == 1


def test_plain_cluster_and_keywords_in_the_template() -> None:
    with Cluster(nodes=2, debug=True, node_names=["a", "b"]) as c:
        assert len(c) == 2
        assert not c.jetstream
        assert c.meta_leader() is None
        assert [n.monitor("varz")["server_name"] for n in c] == ["a", "b"]

        async def main() -> bytes:
            # A message crosses the route from node 0 to a subscriber on node 1.
            sub_conn = await nats.connect(c[1].client_url)
            sub = await sub_conn.subscribe("x")
            await sub_conn.flush()
            pub_conn = await nats.connect(c[0].client_url)
            deadline = asyncio.get_running_loop().time() + 5
            while True:
                await pub_conn.publish("x", b"across")
                try:
                    data = (await sub.next_msg(timeout=0.2)).data
                    break
                except nats.errors.TimeoutError:
                    if asyncio.get_running_loop().time() > deadline:
                        raise
            await pub_conn.close()
            await sub_conn.close()
            return data

        assert run(main()) == b"across"
        with pytest.raises(h.TimeoutError):
            c.wait_for_leader(0.2)


def test_cluster_close_invalidates_its_nodes() -> None:
    c = Cluster(nodes=1)
    node = c[0]
    directory, pid = node.dir, node.pid()
    assert pid is not None
    c.close()
    c.close()
    assert c.closed
    assert node.closed
    assert not directory.exists()
    assert not pid_alive(pid)
    with pytest.raises(h.ClosedError, match="its cluster was closed"):
        _ = node.client_url
    with pytest.raises(h.ClosedError, match="cluster is closed"):
        len(c)
    with pytest.raises(h.ClosedError):
        c.node(0)
    assert repr(c) == "<Cluster (closed)>"
