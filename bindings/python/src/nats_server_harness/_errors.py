"""The exception hierarchy: one class per status code of the C ABI (``nats_server_status`` in nats_server.h).

Every exception carries the library's message, which quotes the server's own words (its stderr, its ``[FTL]`` log
line, the command line it was given), plus the numeric ``status`` and its ``status_name``.
"""

from __future__ import annotations

import builtins

__all__ = [
    "AbiMismatch",
    "BinaryNotFound",
    "BorrowedHandle",
    "ClosedError",
    "ConfigError",
    "HarnessIOError",
    "InstallError",
    "InternalError",
    "InvalidArgument",
    "InvalidHandle",
    "InvalidOptions",
    "InvalidUtf8",
    "LibraryNotFound",
    "MonitoringError",
    "NatsServerError",
    "NotRunning",
    "NullArgument",
    "PortInUse",
    "ServerExited",
    "StartupTimeout",
    "TimeoutError",
    "Unavailable",
]


class NatsServerError(Exception):
    """Base class of every error of this package.

    ``status`` is the C ABI status code (``None`` for errors raised by the binding itself, such as use after
    ``close()``), ``status_name`` its name (e.g. ``"NATS_SERVER_PORT_IN_USE"``) and ``message`` the library's
    human-readable text.
    """

    #: The status code this class stands for (``None``: not a status of the C ABI).
    code: int | None = None

    def __init__(self, message: str, status: int | None = None, status_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else self.code
        self.status_name = status_name

    def __str__(self) -> str:
        return self.message


class BinaryNotFound(NatsServerError, FileNotFoundError):
    """The ``nats-server`` binary was not found or could not be executed (``binary`` option, then
    ``$NATS_SERVER_BIN``, then ``PATH``)."""

    code = 1


class InvalidOptions(NatsServerError, ValueError):
    """The options are invalid: an unknown keyword (named in the message), a wrong type, an impossible value, or
    a node index out of range."""

    code = 2


class ConfigError(NatsServerError):
    """The server rejected its configuration or its command-line arguments; the message quotes the server."""

    code = 3


class PortInUse(NatsServerError):
    """A listener could not bind because its port is in use."""

    code = 4


class StartupTimeout(NatsServerError, builtins.TimeoutError):
    """The server did not become ready within ``startup_timeout_ms``."""

    code = 5


class ServerExited(NatsServerError):
    """The server process exited when it should not have."""

    code = 6


class NotRunning(NatsServerError):
    """The operation needs a running server, and it is stopped."""

    code = 7


class HarnessIOError(NatsServerError):
    """A file-system or socket operation of the harness itself failed."""

    code = 8


class MonitoringError(NatsServerError):
    """A monitoring request failed (an HTTP status other than 200, or monitoring is disabled)."""

    code = 9


class TimeoutError(NatsServerError, builtins.TimeoutError):  # noqa: A001 - the C ABI's name, also a builtins one
    """A wait (process exit, cluster readiness, leader election) ran out of time."""

    code = 10


class InternalError(NatsServerError):
    """A bug in the harness (a panic caught at the C boundary). Please report it with the message."""

    code = 11


class InstallError(NatsServerError):
    """A requested nats-server ``version`` could not be resolved or installed (no such release, a checksum
    mismatch, no network). The message names the version, the sources tried and what each answered."""

    code = 12


class NullArgument(NatsServerError, ValueError):
    """A required argument was NULL at the C boundary (a bug of the binding)."""

    code = 100


class InvalidUtf8(NatsServerError, ValueError):
    """A string argument was not valid UTF-8."""

    code = 101


class InvalidHandle(NatsServerError):
    """The handle was not live (a bug of the binding)."""

    code = 102


class BorrowedHandle(NatsServerError):
    """A cluster node's handle was freed directly (a bug of the binding)."""

    code = 103


class Unavailable(NatsServerError):
    """What was asked for does not exist now: a listener that is off, or no meta leader agreed on."""

    code = 104


class InvalidArgument(NatsServerError, ValueError):
    """An argument has a value outside its range (e.g. an unknown keep policy)."""

    code = 105


class ClosedError(NatsServerError):
    """The server or cluster was closed (or the cluster a node belongs to was closed)."""


class LibraryNotFound(NatsServerError, ImportError):
    """The shared library could not be found or loaded."""


class AbiMismatch(NatsServerError, ImportError):
    """The shared library speaks another version of the C ABI than this package."""


_BY_CODE: dict[int, type[NatsServerError]] = {
    cls.code: cls
    for cls in (
        BinaryNotFound,
        InvalidOptions,
        ConfigError,
        PortInUse,
        StartupTimeout,
        ServerExited,
        NotRunning,
        HarnessIOError,
        MonitoringError,
        TimeoutError,
        InternalError,
        InstallError,
        NullArgument,
        InvalidUtf8,
        InvalidHandle,
        BorrowedHandle,
        Unavailable,
        InvalidArgument,
    )
    if cls.code is not None
}


def error_for(status: int, message: str, status_name: str | None = None) -> NatsServerError:
    """The exception for a status code; an unknown code (a newer library) gives the base class."""
    cls = _BY_CODE.get(status, NatsServerError)
    return cls(message, status, status_name)
