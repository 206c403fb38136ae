//go:build cgo && !nats_server_release && !nats_server_pkgconfig && !nats_server_external

package natsserver

// The default: the static library of this repository's debug build (`cargo build --lib` at the repository root).

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/debug/libnats_server.a -lpthread -ldl -lm
import "C"

// LinkMode names how the C library was linked: "debug" (this repository's target/debug, the default),
// "release" (target/release, tag nats_server_release), "pkg-config" (tag nats_server_pkgconfig) or "external"
// (CGO_CFLAGS/CGO_LDFLAGS, tag nats_server_external). Two tags at once fail to compile: LinkMode is declared twice.
const LinkMode = "debug"
