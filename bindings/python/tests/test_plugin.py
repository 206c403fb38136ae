"""The pytest plugin, run on test files of its own through ``pytester``: fixtures, settings (command line, ini,
environment), the log attached to a failing test's report, the keep policy, cleanup, and pytest-xdist."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import HARNESS_ROOT, pid_alive

RECORD = """
import json, os

def record(server):
    with open(os.path.join(os.path.dirname(__file__), "record.jsonl"), "a") as f:
        f.write(json.dumps({"pid": server.pid(), "dir": str(server.dir), "port": server.client_port,
                            "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "runner": os.getpid()}) + "\\n")
"""


def records(pytester: pytest.Pytester) -> list[dict[str, object]]:
    path = pytester.path / "record.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def no_nats_server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No $NATS_SERVER_BIN and no nats-server on PATH: only the plugin's settings can find the binary."""
    monkeypatch.delenv("NATS_SERVER_BIN", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent-dir")


def kept_dir(section: str) -> Path:
    match = re.search(r"^directory kept: (.+)$", section, re.MULTILINE)
    assert match, section
    return Path(match.group(1))


def failure_sections(reprec: pytest.HookRecorder) -> list[tuple[str, str]]:
    failures = reprec.getfailures()
    assert failures
    return [s for report in failures for s in report.sections if s[0].startswith("nats-server log")]


def test_fixtures_and_factories(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORD)
    pytester.makepyfile(
        """
        import pytest
        import nats_server_harness as h
        from conftest import record

        @pytest.fixture(scope="module")
        def module_server(nats_server_session_factory):
            server = nats_server_session_factory(jetstream=True)
            record(server)
            yield server
            server.close()

        def test_plain(nats_server):
            assert isinstance(nats_server, h.Server) and nats_server.is_running()
            assert not nats_server.info.get("jetstream")
            record(nats_server)

        def test_jetstream(nats_jetstream_server):
            assert nats_jetstream_server.info["jetstream"] is True
            record(nats_jetstream_server)

        def test_cluster(nats_cluster):
            assert len(nats_cluster) == 3 and nats_cluster.jetstream
            assert nats_cluster.meta_leader() is not None
            for node in nats_cluster:
                record(node)

        def test_factories(nats_server_factory, nats_cluster_factory):
            a = nats_server_factory(websocket=True)
            b = nats_server_factory(jetstream=True)
            assert a.websocket_url and a.client_port != b.client_port
            assert nats_server_factory.servers == [a, b]
            c = nats_cluster_factory(nodes=2)
            assert len(c) == 2 and nats_cluster_factory.clusters == [c]
            for s in (a, b, *c):
                record(s)

        def test_module_scope_1(module_server):
            assert module_server.is_running()

        def test_module_scope_2(module_server, nats_server_session_factory):
            assert nats_server_session_factory.servers == [module_server]

        def test_session_cluster(nats_cluster_session_factory):
            c = nats_cluster_session_factory(nodes=1)
            record(c[0])

        def test_settings(nats_server_settings):
            assert nats_server_settings.keep == "on-failure"
            assert nats_server_settings.binary is None
            assert nats_server_settings.log_lines == 100
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=8)
    seen = records(pytester)
    assert len(seen) == 2 + 3 + 4 + 1 + 1
    # Nothing is left once the session is over: every process reaped, every directory removed.
    for entry in seen:
        assert not pid_alive(int(str(entry["pid"]))), entry
        assert not Path(str(entry["dir"])).exists(), entry


def test_nats_server_bin_option(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, nats_bin: str) -> None:
    pytester.makepyfile(
        """
        def test_it(nats_server, nats_server_settings):
            assert nats_server.is_running()
        """
    )
    missing = pytester.runpytest("--nats-server-bin=/nonexistent/nats-server")
    missing.assert_outcomes(errors=1)
    missing.stdout.fnmatch_lines(["*BinaryNotFound*/nonexistent/nats-server*does not exist*"])

    no_nats_server_env(monkeypatch)
    nowhere = pytester.runpytest()
    nowhere.assert_outcomes(errors=1)
    nowhere.stdout.fnmatch_lines(
        ["*no `nats-server` binary on PATH and neither NATS_SERVER_BIN nor NATS_SERVER_VERSION is set*"]
    )

    pytester.runpytest(f"--nats-server-bin={nats_bin}").assert_outcomes(passed=1)


def test_nats_server_bin_ini_key(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, nats_bin: str) -> None:
    # A path relative to the ini file.
    (pytester.path / "bin").mkdir()
    (pytester.path / "bin" / "nats-server").symlink_to(nats_bin)
    pytester.makeini("[pytest]\nnats_server_bin = bin/nats-server\n")
    pytester.makepyfile(
        f"""
        def test_it(nats_server, nats_server_settings):
            assert nats_server_settings.binary == {str(pytester.path / "bin" / "nats-server")!r}
            assert nats_server.is_running()
        """
    )
    no_nats_server_env(monkeypatch)
    pytester.runpytest().assert_outcomes(passed=1)

    # A wrong ini value is reported, and the command line overrides it.
    pytester.makeini("[pytest]\nnats_server_bin = /nonexistent/from-ini\n")
    pytester.runpytest().stdout.fnmatch_lines(["*/nonexistent/from-ini*does not exist*"])
    pytester.makepyfile("def test_it(nats_server):\n    assert nats_server.is_running()\n")
    pytester.runpytest(f"--nats-server-bin={nats_bin}").assert_outcomes(passed=1)


def test_log_attached_and_directory_kept_on_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(nats_server):
            assert nats_server.client_port == 0
        """
    )
    reprec = pytester.inline_run()
    reprec.assertoutcome(failed=1)
    sections = failure_sections(reprec)
    assert len(sections) == 1
    title, content = sections[0]
    assert re.fullmatch(r"nats-server log: server nats://localhost:\d+", title), title
    assert "Server is ready" in content  # the server's own log
    directory = kept_dir(content)
    try:
        assert (directory / "nats-server.log").is_file()
        assert (directory / "kept").exists()
    finally:
        shutil.rmtree(directory)

    # The same, as a person sees it in the terminal.
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*- nats-server log: server nats://localhost:* -*",
            "*Server is ready*",
            "directory kept: *",
            "*nats-server: directories kept for failed tests*",
        ]
    )
    for line in result.outlines:
        if line.startswith("directory kept: "):
            shutil.rmtree(line.removeprefix("directory kept: "))


def test_keep_never_removes_and_log_lines_are_honoured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(nats_jetstream_server):
            assert False, "boom"
        """
    )
    reprec = pytester.inline_run("--nats-server-keep=never", "--nats-server-log-lines=2")
    reprec.assertoutcome(failed=1)
    [(_, content)] = failure_sections(reprec)
    assert "Server is ready" in content
    assert "Starting nats-server" not in content  # only the last 2 lines of the log
    assert "directory kept" not in content
    match = re.search(r"^log file: (.+)/nats-server.log$", content, re.MULTILINE)
    assert match, content
    assert not Path(match.group(1)).exists()


def test_keep_always_from_option_ini_and_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(RECORD)
    pytester.makepyfile(
        """
        from conftest import record

        def test_passes(nats_server):
            record(nats_server)
        """
    )
    pytester.runpytest("--nats-server-keep=always").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nnats_server_keep = always\n")
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makeini("[pytest]\n")
    monkeypatch.setenv("NATS_SERVER_KEEP", "always")
    pytester.runpytest().assert_outcomes(passed=1)
    monkeypatch.setenv("NATS_SERVER_KEEP", "never")
    pytester.runpytest("--nats-server-keep=on-failure").assert_outcomes(passed=1)  # the option wins
    kept = [Path(str(r["dir"])) for r in records(pytester)]
    assert len(kept) == 4
    assert not kept.pop().exists()
    assert len(kept) == 3
    try:
        assert all((d / "nats-server.log").is_file() for d in kept)
    finally:
        for d in kept:
            shutil.rmtree(d, ignore_errors=True)


def test_passing_test_leaves_nothing_with_on_failure(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORD)
    pytester.makepyfile(
        """
        from conftest import record

        def test_passes(nats_server):
            record(nats_server)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    [entry] = records(pytester)
    assert not Path(str(entry["dir"])).exists()


def test_explicit_keep_option_is_not_overridden(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(nats_server_factory):
            nats_server_factory(keep="never")
            assert False
        """
    )
    reprec = pytester.inline_run()
    [(_, content)] = failure_sections(reprec)
    assert "directory kept" not in content


def test_cluster_failure_attaches_every_node(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fails(nats_cluster_factory):
            nats_cluster_factory(nodes=2)
            assert False
        """
    )
    reprec = pytester.inline_run()
    sections = failure_sections(reprec)
    assert [re.sub(r"cluster \w+ ", "cluster C ", t.split(" nats://")[0]) for t, _ in sections] == [
        "nats-server log: cluster C node 0",
        "nats-server log: cluster C node 1",
    ]
    for _, content in sections:
        shutil.rmtree(kept_dir(content))


def test_wider_scoped_server_is_attached_to_the_failing_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="module")
        def shared(nats_server_session_factory):
            return nats_server_session_factory()

        def test_first(shared):
            pass

        def test_second_fails(shared):
            assert False
        """
    )
    reprec = pytester.inline_run()
    reprec.assertoutcome(passed=1, failed=1)
    [(_, content)] = failure_sections(reprec)
    shutil.rmtree(kept_dir(content))


def test_bad_keep_setting_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nnats_server_keep = sometimes\n")
    pytester.makepyfile("def test_it():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            '*nats_server_keep: nats-server harness: invalid argument: keep policy "sometimes" is not one of never, '
            "on-failure, always*"
        ]
    )


@pytest.mark.parametrize("spelling", ["1", "true", "ALWAYS"])
def test_keep_env_spellings_mean_what_they_mean_in_rust(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    # NATS_SERVER_KEEP=1 keeps every directory in Rust (Keep::parse); the plugin asks the same parser.
    pytester.makeconftest(RECORD)
    pytester.makepyfile(
        """
        from conftest import record

        def test_passes(nats_server, nats_server_settings):
            assert nats_server_settings.keep == "always"
            record(nats_server)
        """
    )
    monkeypatch.setenv("NATS_SERVER_KEEP", spelling)
    pytester.runpytest().assert_outcomes(passed=1)
    [entry] = records(pytester)
    directory = Path(str(entry["dir"]))
    try:
        assert (directory / "nats-server.log").is_file()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_explicit_on_failure_spelling_is_marked_failed_too(pytester: pytest.Pytester) -> None:
    # keep="on_failure" given to a factory, and --nats-server-keep=on_failure: the plugin marks the failed test's
    # servers failed (mark_failed), so the library keeps both directories.
    pytester.makepyfile(
        """
        from nats_server_harness import Server

        def test_fails(nats_server_factory):
            nats_server_factory(keep="on_failure")
            assert False
        """
    )
    reprec = pytester.inline_run("--nats-server-keep=on_failure")
    [(_, content)] = failure_sections(reprec)
    directory = kept_dir(content)
    try:
        assert (directory / "nats-server.log").is_file()
    finally:
        shutil.rmtree(directory)


def test_xdist_workers_never_collide(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        RECORD
        + """
import pytest

@pytest.fixture(scope="session", autouse=True)
def per_worker(nats_server_session_factory):
    server = nats_server_session_factory(jetstream=True)
    record(server)
    return server
"""
    )
    pytester.makepyfile(
        "from conftest import record\n\n"
        + "\n".join(
            f"def test_{i}(nats_jetstream_server, per_worker):\n"
            f"    assert nats_jetstream_server.client_port != per_worker.client_port\n"
            f"    record(nats_jetstream_server)\n"
            for i in range(12)
        )
    )
    result = pytester.runpytest_subprocess("-n", "3", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=12)
    seen = records(pytester)
    workers = {str(r["worker"]) for r in seen}
    assert workers == {"gw0", "gw1", "gw2"}, workers  # every worker started servers
    runners = {str(r["runner"]) for r in seen}
    assert len(runners) == 3
    # The three per-worker servers ran at the same time: all on different ports, in different directories.
    first: dict[object, dict[str, object]] = {}
    for r in seen:
        first.setdefault(r["worker"], r)  # each worker's session server is its first record
    assert len({r["port"] for r in first.values()}) == 3
    assert len({r["dir"] for r in seen}) == len(seen) == 15
    for entry in seen:
        assert not Path(str(entry["dir"])).exists(), entry
    for runner in runners:
        assert not list(HARNESS_ROOT.glob(f"ns-{runner}-*")), f"worker {runner} left directories"


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(nats_server):\n    pass\n")
    result = pytester.runpytest("-p", "no:nats_server")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'nats_server' not found*"])
    assert os.environ.get("NATS_SERVER_BIN")
