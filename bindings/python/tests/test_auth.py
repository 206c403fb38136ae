"""Authentication options with the real client (nats-py with nkeys): nkey users, operator mode with creds files and
JetStream per account, a permissions violation, no_auth_user, an import/export, and bad names."""

from __future__ import annotations

import asyncio
import stat
from typing import Any

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from nats_server_harness import InvalidArgument, InvalidOptions, Server
from nats_server_harness.pytest_plugin import ServerFactory

from conftest import run


async def connect(server: Server, **kwargs: Any) -> Client:
    return await nats.connect(server.client_url, allow_reconnect=False, connect_timeout=2, **kwargs)


def test_nkey_user_connects(nats_server_factory: ServerFactory) -> None:
    server = nats_server_factory(users=[{"user": "alice", "nkey": True}])
    assert server.nkey_seed("alice").startswith("SU")
    assert server.nkey_public_key("alice").startswith("U")
    seed_file = server.seed_file("alice")
    assert stat.S_IMODE(seed_file.stat().st_mode) == 0o600

    async def main() -> None:
        nc = await connect(server, nkeys_seed=str(seed_file))
        await nc.flush()
        await nc.close()
        nc = await connect(server, nkeys_seed_str=server.nkey_seed("alice"))
        await nc.close()
        with pytest.raises(nats.errors.Error):
            await connect(server)

    run(main())


def test_operator_creds_user_has_its_own_stream(nats_operator_server: Server) -> None:
    server = nats_operator_server
    creds_a = server.creds("A", "a")
    assert stat.S_IMODE(creds_a.stat().st_mode) == 0o600
    assert server.auth["users"]["a"]["account"] == "A"

    async def main() -> None:
        a = await connect(server, user_credentials=str(creds_a))
        js_a = a.jetstream()
        await js_a.add_stream(name="ORDERS", subjects=["orders.>"])
        ack = await js_a.publish("orders.1", b"one")
        assert ack.stream == "ORDERS"
        b = await connect(server, user_credentials=str(server.creds("B", "b")))
        with pytest.raises(nats.js.errors.NotFoundError):
            await b.jetstream().stream_info("ORDERS")
        await a.close()
        await b.close()

    run(main())


def test_publishing_where_denied_is_a_permissions_violation(nats_server_factory: ServerFactory) -> None:
    server = nats_server_factory(
        users=[{"user": "u", "password": "p", "permissions": {"publish": {"deny": ["secret.>"]}}}]
    )

    async def main() -> None:
        errors: asyncio.Queue[Exception] = asyncio.Queue()

        async def on_error(e: Exception) -> None:
            await errors.put(e)

        nc = await connect(server, user="u", password="p", error_cb=on_error)
        await nc.publish("secret.x", b"no")
        await nc.flush()
        error = await asyncio.wait_for(errors.get(), 5)
        assert "permissions violation" in str(error).lower()
        assert "secret.x" in str(error)
        await nc.close()

    run(main())


def test_no_auth_user_and_an_import(nats_server_factory: ServerFactory) -> None:
    server = nats_server_factory(
        accounts={
            "A": {"users": [{"user": "guest", "password": "g"}], "exports": [{"service": "time"}]},
            "B": {
                "users": [{"user": "b", "password": "p"}],
                "imports": [{"service": "time", "account": "A", "to": "a.time"}],
            },
        },
        no_auth_user="guest",
    )

    async def main() -> None:
        anonymous = await connect(server)  # becomes "guest" of A

        async def answer(msg: Msg) -> None:
            await msg.respond(b"noon")

        await anonymous.subscribe("time", cb=answer)
        await anonymous.flush()
        b = await connect(server, user="b", password="p")
        reply = await b.request("a.time", b"", timeout=5)
        assert reply.data == b"noon"
        await anonymous.close()
        await b.close()

    run(main())


def test_bad_names_are_clear_errors() -> None:
    with pytest.raises(InvalidOptions, match=r"accounts\.B\.imports\[0\]\.account.*MISSING"):
        Server(accounts={"B": {"imports": [{"stream": "s", "account": "MISSING"}]}})
    with pytest.raises(InvalidOptions, match="no_auth_user"):
        Server(users=[{"user": "a", "password": "p"}], no_auth_user="nobody")
    with Server(operator=True, accounts={"A": {"users": [{"user": "a"}]}}) as server:
        with pytest.raises(InvalidArgument, match='"NOPE"'):
            server.creds("NOPE", "x")
        with pytest.raises(InvalidArgument, match='"nobody"'):
            server.creds("A", "nobody")
        with pytest.raises(InvalidArgument, match='"nobody"'):
            server.nkey_seed("nobody")
