//go:build cgo && nats_server_release

package natsserver

// Tag nats_server_release: the static library of this repository's release build (`cargo build --lib --release`).

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libnats_server.a -lpthread -ldl -lm
import "C"

// LinkMode names how the C library was linked (see the default build's documentation).
const LinkMode = "release"
