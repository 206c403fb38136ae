//go:build cgo && nats_server_external

package natsserver

// Tag nats_server_external: no flags here; the environment gives them, e.g.
//
//	CGO_CFLAGS="-I/opt/nats-server/include" \
//	CGO_LDFLAGS="/opt/nats-server/lib/libnats_server.a -lpthread -ldl -lm" \
//	go test -tags nats_server_external ./...

import "C"

// LinkMode names how the C library was linked (see the default build's documentation).
const LinkMode = "external"
