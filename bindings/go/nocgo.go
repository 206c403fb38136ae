//go:build !cgo

package natsserver

// This package calls the harness's C library through cgo. Build with CGO_ENABLED=1 and a C compiler.
var _ = natsserver_needs_cgo__set_CGO_ENABLED_1_and_install_a_C_compiler
