#!/usr/bin/env bash
# Tests the Go binding: gofmt, go vet, then go test -race against real nats-server processes.
#
#   bindings/go/test.sh     # from anywhere; CI runs it from the repository root
#
# Needs Go with cgo (a C compiler) and the module proxy (nats.go, test-only), the Rust static library already
# built (`cargo build --lib`), and a nats-server: $NATS_SERVER_BIN, else nats-server on PATH.
# It links the repository's target/debug (build tag nats_server_debug); NATS_SERVER_LIB_DIR=/abs/dir links
# dir/libnats_server.a instead (through the nats_server_external build tag). Extra arguments go to `go test`,
# e.g. -run Cluster. (Without a tag the package links the installed library through pkg-config, as a project
# that requires the module does: scripts/install_check.sh tests that.)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

lib_dir="${NATS_SERVER_LIB_DIR:-$root/target/debug}"
if [[ ! -f "$lib_dir/libnats_server.a" ]]; then
    echo "test.sh: $lib_dir/libnats_server.a is missing: run \`cargo build --lib\` at $root first" >&2
    exit 1
fi
tags=(-tags nats_server_debug)
if [[ "$(cd "$lib_dir" && pwd -P)" != "$(cd "$root/target/debug" 2>/dev/null && pwd -P || true)" ]]; then
    tags=(-tags nats_server_external)
    export CGO_CFLAGS="-I$root/include ${CGO_CFLAGS:-}"
    export CGO_LDFLAGS="$lib_dir/libnats_server.a -lpthread -ldl -lm ${CGO_LDFLAGS:-}"
fi
echo "go binding: $(go version), library $lib_dir, nats-server ${NATS_SERVER_BIN:-from PATH}"

unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
    echo "test.sh: gofmt would change these files (run gofmt -w bindings/go):" >&2
    echo "$unformatted" >&2
    exit 1
fi
go vet "${tags[@]}" ./...
go build "${tags[@]}" -o /dev/null ./bench

# The package's tests and examples; go test's closing `ok` / `FAIL` line comes last.
exec go test "${tags[@]}" -race -count=1 -timeout 5m -v "$@" .
