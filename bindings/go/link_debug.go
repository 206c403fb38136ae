//go:build cgo && nats_server_debug

package natsserver

// Tag nats_server_debug: the static library of this repository's debug build (`cargo build --lib` at the
// repository root); the development flow inside the repository (bindings/go/test.sh uses it).

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/debug/libnats_server.a -lpthread -ldl -lm
import "C"

// LinkMode names how the C library was linked (see the default build's documentation).
const LinkMode = "debug"
