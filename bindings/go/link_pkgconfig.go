//go:build cgo && nats_server_pkgconfig

package natsserver

// Tag nats_server_pkgconfig: compile and link flags from `pkg-config nats_server` (a nats_server.pc on
// PKG_CONFIG_PATH whose Cflags point at nats_server.h and whose Libs link libnats_server.a or .so).

// #cgo pkg-config: nats_server
import "C"

// LinkMode names how the C library was linked (see the default build's documentation).
const LinkMode = "pkg-config"
