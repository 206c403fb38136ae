// Package natsserver runs real nats-server processes for integration tests: single servers and clusters on
// dynamic ports, ready in milliseconds, with the same options and behaviour as the harness's Rust, C, Python and
// command-line front ends.
//
// Unlike embedding the server in-process, this runs the nats-server binary of any version (found through
// Options.Binary, then $NATS_SERVER_BIN, then nats-server on PATH), so a test does not tie itself to the server's
// Go module. The package is a thin cgo layer over the harness's C library (libnats_server): every wait, port and
// cleanup decision is made there. Servers are killed when the test process dies, even by SIGKILL.
//
// # In a test
//
//	func TestOrders(t *testing.T) {
//		s := natsserver.RunT(t, natsserver.Options{JetStream: true}) // closed by t.Cleanup
//		nc, err := nats.Connect(s.ClientURL())
//		...
//		if err := s.Restart(); err != nil { // same port, same JetStream store
//			t.Fatal(err)
//		}
//	}
//
// RunT fails the test with the server's own words when it cannot start (a config error, a busy port) and, when the
// test failed, keeps the server's directory and logs its path and log tail. RunClusterT does the same for a
// cluster, which is ready when it returns: full mesh and, with JetStream, an agreed meta leader, so an R3 stream can
// be created on the first try. Run and RunCluster are the same without a testing.TB; Close them yourself.
//
// # Options
//
// Options and ClusterOptions are the harness's one JSON schema (the Rust ServerOptions and ClusterOptions); a zero
// field takes the library's default. RunJSON and RunClusterJSON take the JSON text directly, and Options.Extra
// passes fields this version of the struct does not know yet. An unknown field fails with ErrInvalidOptions and
// its name.
//
// # Errors
//
// Every failure is an *Error holding the C status code and a message that quotes the server when it complained.
// Match it with errors.Is against the sentinels: ErrBinaryNotFound, ErrInvalidOptions, ErrConfig, ErrPortInUse,
// ErrStartupTimeout, ErrServerExited, ErrNotRunning, ErrIO, ErrMonitoring, ErrTimeout, ErrUnavailable,
// ErrInternal, ... Calls on a closed Server or Cluster fail with ErrClosed.
//
// # Concurrency and lifetime
//
// A Server or Cluster may be used from many goroutines: the C handles are locked internally, so calls on one
// handle run one at a time. Close is explicit and idempotent; it waits for calls in progress. A runtime cleanup
// frees a Server or Cluster that became unreachable without Close, and says so on stderr, but it is only a safety
// net: close what you run. Cluster.Node returns a view of one node that the cluster owns; its Close does nothing.
//
// # Linking
//
// The package links the harness's C library with cgo (CGO_ENABLED=1 and a C compiler are needed). By default it
// takes the flags of `pkg-config nats_server`, the installed library, so no path into the harness's repository
// is needed and no build tag:
//
//	scripts/install.sh --prefix $HOME/.local   # at the harness's repository root: headers, libraries, nats_server.pc
//	export PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig LD_LIBRARY_PATH=$HOME/.local/lib
//	go test ./...
//
// Build tags choose another library:
//
//   - nats_server_debug: this repository's target/debug/libnats_server.a (cargo build --lib); bindings/go/test.sh.
//   - nats_server_release: target/release/libnats_server.a (cargo build --lib --release).
//   - nats_server_external: no flags in the source; give them in the environment, e.g.
//     CGO_CFLAGS=-I/opt/nats-server/include CGO_LDFLAGS="/opt/nats-server/lib/libnats_server.a -lpthread -ldl -lm".
//
// LinkMode tells which one a binary was built with. The library's C ABI version is checked on the first Run or
// RunCluster; a mismatch fails with ErrABIMismatch. go test does not notice a rebuilt library on its own: use
// -count=1 after rebuilding it, so no cached test result hides the change.
package natsserver
