"""The authentication options, typed for Python: the Rust ``auth`` module's schema (src/auth.rs).

Types only, like :mod:`._options`: they describe the ``users``, ``accounts``, ``no_auth_user``, ``jetstream_limits``
and ``operator`` keywords of :class:`~nats_server_harness.Server`; the library validates them and names the field
at fault (an import from an account that does not exist, a ``no_auth_user`` that is not a user, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, TypedDict, Union


class Rule(TypedDict, total=False):
    """Subjects allowed and denied (wildcards allowed); an empty ``allow`` allows everything not denied."""

    allow: Sequence[str]
    deny: Sequence[str]


class Permissions(TypedDict, total=False):
    """What a user may publish and subscribe to."""

    publish: Rule
    subscribe: Rule


class User(TypedDict, total=False):
    """A user: ``{"user": "a", "password": "p"}`` or ``{"user": "a", "nkey": True}`` (a generated nkey). In
    operator mode every user is an nkey user with a creds file: give only ``user`` (and ``permissions``)."""

    user: str
    password: Optional[str]
    nkey: bool
    permissions: Optional[Permissions]


class AccountLimits(TypedDict, total=False):
    """One account's JetStream limits (bytes and counts; unset: unlimited)."""

    max_memory: Optional[int]
    max_file: Optional[int]
    max_streams: Optional[int]
    max_consumers: Optional[int]


class JetStreamLimits(TypedDict, total=False):
    """The server's JetStream limits in bytes (needs ``jetstream=True``)."""

    max_memory: Optional[int]
    max_file: Optional[int]


class Export(TypedDict, total=False):
    """``{"stream": "events.>"}`` or ``{"service": "requests.>"}``."""

    stream: str
    service: str


class Import(TypedDict, total=False):
    """``{"stream": "events.>", "account": "A", "to": "a.events.>"}`` (or ``service``)."""

    stream: str
    service: str
    account: str
    to: Optional[str]


class Account(TypedDict, total=False):
    """An account: its users, JetStream (``False``, ``True`` or limits), exports and imports."""

    users: Sequence[User]
    jetstream: Union[bool, AccountLimits]
    exports: Sequence[Export]
    imports: Sequence[Import]
