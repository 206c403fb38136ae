//go:build cgo && !nats_server_debug && !nats_server_release && !nats_server_external

package natsserver

// The default: compile and link flags from `pkg-config nats_server`, the installed C library
// (scripts/install.sh --prefix P writes P/lib/pkgconfig/nats_server.pc; put that directory on PKG_CONFIG_PATH
// when P is not a system prefix, and P/lib on LD_LIBRARY_PATH to run the tests).

// #cgo pkg-config: nats_server
import "C"

// LinkMode names how the C library was linked: "pkg-config" (the installed library, the default), "debug"
// (this repository's target/debug, tag nats_server_debug), "release" (target/release, tag nats_server_release)
// or "external" (CGO_CFLAGS/CGO_LDFLAGS, tag nats_server_external). Two tags at once fail to compile: LinkMode is
// declared twice.
const LinkMode = "pkg-config"
