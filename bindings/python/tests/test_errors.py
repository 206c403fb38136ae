"""Every bad input raises the exception of its status code, with the server's (or the library's) own words, and
leaves nothing running."""

from __future__ import annotations

import builtins
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import nats_server_harness as h
from nats_server_harness import Cluster, Server

from conftest import child_servers


@pytest.fixture(autouse=True)
def _nothing_left_running() -> Iterator[None]:
    before = set(child_servers())
    yield
    assert set(child_servers()) <= before, "a failed start left a server running"


def test_missing_binary() -> None:
    with pytest.raises(h.BinaryNotFound) as caught:
        Server(binary="/nonexistent/nats-server")
    e = caught.value
    assert "/nonexistent/nats-server" in str(e)
    assert "does not exist" in str(e)
    assert e.status == 1
    assert e.status_name == "NATS_SERVER_BINARY_NOT_FOUND"
    assert isinstance(e, h.NatsServerError)
    assert isinstance(e, FileNotFoundError)


def test_binary_that_is_not_executable(tmp_path: Path) -> None:
    fake = tmp_path / "nats-server"
    fake.write_text("not a program")
    fake.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with pytest.raises(h.BinaryNotFound, match="nats-server"):
        Server(binary=fake)


def test_bad_config_syntax_quotes_the_server() -> None:
    with pytest.raises(h.ConfigError) as caught:
        Server(config="listen: {{{")
    message = str(caught.value)
    assert "Parse error" in message  # the server's own words
    assert "command:" in message
    assert caught.value.status_name == "NATS_SERVER_CONFIG"


def test_unknown_config_field_quotes_the_server() -> None:
    with pytest.raises(h.ConfigError, match='unknown field "jetstreem"'):
        Server(config="jetstreem: true")


def test_missing_config_file() -> None:
    with pytest.raises(h.ConfigError, match=r"config file /nonexistent/x\.conf does not exist"):
        Server(config_file="/nonexistent/x.conf")


def test_unknown_option_keyword_names_the_field() -> None:
    with pytest.raises(h.InvalidOptions, match="unknown field `jetstreem`") as caught:
        Server(jetstreem=True)  # type: ignore[call-arg]
    assert isinstance(caught.value, ValueError)
    assert caught.value.status == 2


def test_ill_typed_option_names_the_field() -> None:
    with pytest.raises(h.InvalidOptions, match="field `port`: invalid type"):
        Server(port="abc")  # type: ignore[arg-type]
    with pytest.raises(h.InvalidOptions, match=r"field `cluster\.name`"):
        Server(cluster={"name": 5})  # type: ignore[arg-type]


def test_unknown_cluster_keywords_name_the_field() -> None:
    with pytest.raises(h.InvalidOptions, match=r"field `server\.jetstreem`"):
        Cluster(jetstreem=True)  # type: ignore[call-arg]
    with pytest.raises(h.InvalidOptions, match=r"field `server\.prot`"):
        Cluster(server={"prot": 1})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(h.InvalidOptions, match=r"leave `server\.port` and `server\.cluster` unset"):
        Cluster(port=4222)  # type: ignore[call-arg]
    with pytest.raises(h.InvalidOptions, match="`nodes` must be at least 1"):
        Cluster(nodes=0)
    with pytest.raises(h.InvalidOptions, match="`debug` given both as a keyword and in `server`"):
        Cluster(debug=True, server={"debug": False})


def test_contradictory_options() -> None:
    with pytest.raises(h.InvalidOptions, match="`password` is set but `user` is not"):
        Server(password="x")
    with pytest.raises(h.InvalidOptions, match="`startup_timeout_ms` must be greater than 0"):
        Server(startup_timeout_ms=0)


def test_values_that_are_not_json() -> None:
    with pytest.raises(h.InvalidOptions, match="not an option value"):
        Server(config=object())  # type: ignore[arg-type]


def test_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(h.PortInUse) as caught:
            Server(port=port)
    message = str(caught.value)
    assert "address already in use" in message  # the server's [FTL] line
    assert f"port {port} was requested" in message
    assert caught.value.status_name == "NATS_SERVER_PORT_IN_USE"


def test_unknown_command_line_argument() -> None:
    with pytest.raises(h.ConfigError, match="flag provided but not defined: -bogus-flag"):
        Server(args=["--bogus-flag"])


def test_startup_timeout() -> None:
    with pytest.raises(h.StartupTimeout, match="not ready within 1 ms") as caught:
        Server(startup_timeout_ms=1)
    assert isinstance(caught.value, builtins.TimeoutError)


def test_not_running() -> None:
    with Server() as s:
        s.stop()
        with pytest.raises(h.NotRunning, match="not running"):
            s.pause()
        with pytest.raises(h.NotRunning):
            s.resume()
        with pytest.raises(h.NotRunning):
            s.wait_exit(0.1)
        with pytest.raises(h.NotRunning):
            s.monitor("varz")
        assert s.pid() is None


def test_wait_exit_timeout() -> None:
    with Server() as s:
        with pytest.raises(h.TimeoutError, match="still runs") as caught:
            s.wait_exit(0.05)
        assert isinstance(caught.value, builtins.TimeoutError)
        with pytest.raises(h.InvalidArgument, match="negative"):
            s.wait_exit(-1)


def test_monitoring_errors() -> None:
    with Server() as s:
        with pytest.raises(h.MonitoringError, match="404"):
            s.monitor("no-such-endpoint")
        status, _ = s.monitor_status("healthz")
        assert status == 200
    with Server(monitoring=False) as s, pytest.raises(h.MonitoringError, match="monitoring is disabled"):
        s.monitor("varz")


def test_invalid_keep_policy() -> None:
    with Server() as s, pytest.raises(h.InvalidArgument, match='"sometimes" is not one of'):
        s.set_keep("sometimes")


def test_unknown_status_maps_to_the_base_class() -> None:
    from nats_server_harness._errors import error_for

    e = error_for(999, "from a newer library")
    assert type(e) is h.NatsServerError
    assert e.status == 999
    assert str(e) == "from a newer library"
    assert type(error_for(104, "x")) is h.Unavailable


def test_every_exception_is_a_nats_server_error() -> None:
    names = [n for n in h.__all__ if isinstance(getattr(h, n), type) and issubclass(getattr(h, n), BaseException)]
    assert len(names) >= 19
    for name in names:
        assert issubclass(getattr(h, name), h.NatsServerError), name
