//go:build cgo

package natsserver

// #include <stdlib.h>
// #include "nats_server.h"
import "C"

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"time"
)

// Server is a running (or stopped) nats-server process and its private directory, started by Run, RunJSON or
// RunT, or a view of a cluster's node (Cluster.Node).
//
// All methods are safe to call from many goroutines. Calls on one server are serialized by the library (a Restart
// makes a concurrent PID wait); Close waits for running calls, and every call after Close fails with ErrClosed.
//
// The addresses and paths that never change for a server's life (ClientURL, URL, ClientPort, Dir, StoreDir,
// LogPath; they survive Stop, Restart and Kill) are read once when it starts and returned without an error.
type Server struct {
	g       *guard
	h       *C.nats_server_t
	cluster *Cluster // the owner of a node view; nil for an owned server
	// The owner of a supercluster's node view; nil otherwise.
	supercluster *Supercluster
	index        int // the node index of a view

	clientURL, url, dir, storeDir, logPath string
	clientPort                             int

	cleanup runtime.Cleanup
}

// Run starts a server with opts and returns once it accepts clients. On failure nothing is left running and the
// error (an *Error, see the Err... sentinels) carries the server's own words. Close the server when done.
func Run(opts Options) (*Server, error) {
	doc, err := opts.JSON()
	if err != nil {
		return nil, err
	}
	return RunJSON(doc)
}

// Spawn starts a server with opts and returns at once, without waiting for it to be ready: start several at
// once, or one expected to fail, then call WaitReady (the startup timeout counts from Spawn). Until WaitReady
// returns, the addresses and ports (ClientURL, ClientPort, ...) are unknown; call it before sharing the server
// between goroutines.
func Spawn(opts Options) (*Server, error) {
	doc, err := opts.JSON()
	if err != nil {
		return nil, err
	}
	return SpawnJSON(doc)
}

// SpawnJSON is Spawn with options as a JSON document of the shared schema (see RunJSON).
func SpawnJSON(options string) (*Server, error) {
	return runWith(options, false)
}

// WaitReady waits until a server made by Spawn is ready, with the errors Run would have returned (the process is
// then gone; Close the server as usual). It returns nil at once when there is nothing to wait for.
func (s *Server) WaitReady() error {
	if err := s.call("WaitReady", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_wait_ready(h, e)
	}); err != nil {
		return err
	}
	return s.readFacts()
}

// RunJSON starts a server from options given as a JSON document of the shared schema, e.g.
// `{"jetstream": true}`: the same text works with the C, Rust, Python and command-line front ends. An unknown
// or ill-typed field fails with ErrInvalidOptions, naming it. "" means the defaults.
func RunJSON(options string) (*Server, error) {
	return runWith(options, true)
}

func runWith(options string, wait bool) (*Server, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	var copts *C.char
	if options != "" {
		var err error
		if copts, err = cString(options, "the options JSON"); err != nil {
			return nil, err
		}
		defer freeC(copts)
	}
	var h *C.nats_server_t
	var msg *C.char
	var status C.nats_server_status
	if wait {
		status = C.nats_server_run(copts, &h, &msg)
	} else {
		status = C.nats_server_spawn(copts, &h, &msg)
	}
	if err := check(status, msg); err != nil {
		return nil, err
	}
	s := &Server{g: &guard{}, h: h, index: -1}
	if wait {
		if err := s.readFacts(); err != nil {
			C.nats_server_free(h)
			return nil, err
		}
	}
	s.cleanup = runtime.AddCleanup(s, freeLeakedServer, leaked[*C.nats_server_t]{g: s.g, h: h, what: s.clientURL})
	return s, nil
}

// leaked is what a cleanup needs to free a handle whose Go owner became unreachable without Close.
type leaked[H any] struct {
	g    *guard
	h    H
	what string
}

func freeLeakedServer(l leaked[*C.nats_server_t]) {
	l.g.mu.Lock()
	defer l.g.mu.Unlock()
	if l.g.closed {
		return
	}
	l.g.closed = true
	fmt.Fprintf(os.Stderr, "natsserver: a Server (%s) was garbage-collected without Close; stopping it now\n", l.what)
	C.nats_server_free(l.h)
}

// newNode makes the view of a cluster's node.
func newNode(c *Cluster, h *C.nats_server_t, i int) (*Server, error) {
	s := &Server{g: c.g, h: h, cluster: c, index: i}
	return s, s.readFacts()
}

// readFacts reads what never changes for the server's life.
func (s *Server) readFacts() error {
	var err error
	str := func(f func(*C.nats_server_t, **C.char, **C.char) C.nats_server_status) string {
		var out, msg *C.char
		if err == nil {
			err = check(f(s.h, &out, &msg), msg)
		}
		return takeString(out)
	}
	s.clientURL = str(func(h *C.nats_server_t, o, e **C.char) C.nats_server_status { return C.nats_server_client_url(h, o, e) })
	s.url = str(func(h *C.nats_server_t, o, e **C.char) C.nats_server_status { return C.nats_server_url(h, o, e) })
	s.dir = str(func(h *C.nats_server_t, o, e **C.char) C.nats_server_status { return C.nats_server_dir(h, o, e) })
	s.storeDir = str(func(h *C.nats_server_t, o, e **C.char) C.nats_server_status { return C.nats_server_store_dir(h, o, e) })
	s.logPath = str(func(h *C.nats_server_t, o, e **C.char) C.nats_server_status { return C.nats_server_log_path(h, o, e) })
	var port C.uint16_t
	var msg *C.char
	if err == nil {
		err = check(C.nats_server_client_port(s.h, &port, &msg), msg)
	}
	s.clientPort = int(port)
	return err
}

// call runs one C call with the handle, unless the server (or its cluster) is closed.
func (s *Server) call(op string, f func(h *C.nats_server_t, msg **C.char) C.nats_server_status) error {
	s.g.mu.RLock()
	defer s.g.mu.RUnlock()
	if s.g.closed {
		return closedError(op)
	}
	var msg *C.char
	status := f(s.h, &msg)
	runtime.KeepAlive(s)
	return check(status, msg)
}

// str runs a C query that answers a string.
func (s *Server) str(op string, f func(h *C.nats_server_t, out, msg **C.char) C.nats_server_status) (string, error) {
	var out *C.char
	err := s.call(op, func(h *C.nats_server_t, msg **C.char) C.nats_server_status { return f(h, &out, msg) })
	text := takeString(out)
	if err != nil {
		return "", err
	}
	return text, nil
}

// port runs a C query that answers a port.
func (s *Server) port(op string, f func(h *C.nats_server_t, out *C.uint16_t, msg **C.char) C.nats_server_status) (int, error) {
	var out C.uint16_t
	err := s.call(op, func(h *C.nats_server_t, msg **C.char) C.nats_server_status { return f(h, &out, msg) })
	return int(out), err
}

// Close kills the server, reaps it and removes its directory (unless its keep policy says to keep it). It waits
// for calls running on other goroutines, is idempotent, and makes every later call fail with ErrClosed. On a
// node view (Cluster.Node) it does nothing: the cluster owns its nodes; close the cluster.
func (s *Server) Close() error {
	if s.cluster != nil || s.supercluster != nil {
		return nil
	}
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	if s.g.closed {
		return nil
	}
	s.g.closed = true
	s.cleanup.Stop()
	status := C.nats_server_free(s.h)
	s.h = nil
	if status != C.NATS_SERVER_OK {
		return &Error{Status: Status(status), Message: "natsserver: freeing the server: " + statusName(Status(status))}
	}
	return nil
}

// Stop stops the server gracefully (SIGTERM, SIGKILL after 10 s) and reaps it; a stopped server is left as it
// is. The ports and the JetStream store stay reserved for Start.
func (s *Server) Stop() error {
	return s.call("Stop", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_stop(h, e) })
}

// StopTimeout stops the server with SIGTERM, and SIGKILL once timeout has passed (a lame-duck server with clients
// attached would otherwise wait out its grace period), and reaps it: it returns within about timeout. Stops of
// different cluster nodes from several goroutines run in parallel.
func (s *Server) StopTimeout(timeout time.Duration) error {
	return s.call("StopTimeout", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_stop_timeout(h, millis(timeout), e)
	})
}

// Start starts a stopped (or killed) server again on the same ports with the same JetStream store and returns
// once it accepts clients; a running server is left as it is. For a cluster's node prefer Cluster.StartNode,
// which also waits for the node to rejoin.
func (s *Server) Start() error {
	return s.call("Start", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_start(h, e) })
}

// Restart stops the server gracefully and starts it again on the same ports with the same JetStream store:
// clients reconnect to the same URL and find their streams.
func (s *Server) Restart() error {
	return s.call("Restart", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_restart(h, e) })
}

// Kill kills the server at once (SIGKILL, like a crash) and reaps it; a stopped server is left as it is.
func (s *Server) Kill() error {
	return s.call("Kill", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_kill(h, e) })
}

// Pause freezes the process (SIGSTOP): it keeps its sockets but answers nothing, like a hung server.
// ErrNotRunning when it is stopped.
func (s *Server) Pause() error {
	return s.call("Pause", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_pause(h, e) })
}

// Resume lets a paused process run again (SIGCONT). ErrNotRunning when it is stopped.
func (s *Server) Resume() error {
	return s.call("Resume", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_resume(h, e) })
}

// LameDuck puts the server into lame duck mode (SIGUSR2): it stops accepting clients, tells the connected ones,
// and exits once they are gone or its grace period (lame_duck_grace_period, default 10 s) is over. Follow with
// WaitExit.
func (s *Server) LameDuck() error {
	return s.call("LameDuck", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_lame_duck(h, e) })
}

// Reload makes the server reload its configuration (SIGHUP): edits to Options.ConfigFile are picked up. The
// server applies it asynchronously.
func (s *Server) Reload() error {
	return s.call("Reload", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_reload(h, e) })
}

// WaitExit waits up to timeout for the process to exit on its own (after LameDuck, say) and reaps it. The exit
// code is minus the signal number when a signal ended it. ErrTimeout when it still runs, ErrNotRunning when it
// was not running.
func (s *Server) WaitExit(timeout time.Duration) (exitCode int, err error) {
	var code C.int32_t
	err = s.call("WaitExit", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_wait_exit(h, millis(timeout), &code, e)
	})
	return int(code), err
}

// SetKeep sets what to keep of the server's directory when it is closed (to keep a failed test's directory,
// MarkFailed is enough under the default on-failure policy; RunT calls it). On a node view it sets the node's policy.
func (s *Server) SetKeep(k Keep) error {
	code, err := keepCode(k)
	if err != nil {
		return err
	}
	return s.call("SetKeep", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_set_keep(h, code, e)
	})
}

// MarkFailed records that the test using the server failed: under the on-failure keep policy (the default, or
// $NATS_SERVER_KEEP=on-failure) its directory is kept when it is closed. RunT calls it for a failed test.
func (s *Server) MarkFailed() error {
	return s.call("MarkFailed", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_mark_failed(h, e)
	})
}

// IsRunning reports whether the process is alive (a paused one is); false after Close.
func (s *Server) IsRunning() bool {
	var out C.bool
	err := s.call("IsRunning", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_is_running(h, &out, e) })
	return err == nil && bool(out)
}

// IsPaused reports whether the process is paused by Pause; false after Close.
func (s *Server) IsPaused() bool {
	var out C.bool
	err := s.call("IsPaused", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_is_paused(h, &out, e) })
	return err == nil && bool(out)
}

// PID is the process id. ErrNotRunning when the server is stopped.
func (s *Server) PID() (int, error) {
	var out C.uint32_t
	err := s.call("PID", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_pid(h, &out, e) })
	return int(out), err
}

// LastPID is the process id of the latest start, also after Stop or Kill (to find its traces).
func (s *Server) LastPID() (int, error) {
	var out C.uint32_t
	err := s.call("LastPID", func(h *C.nats_server_t, e **C.char) C.nats_server_status { return C.nats_server_last_pid(h, &out, e) })
	return int(out), err
}

// TLSRequired reports whether clients must use TLS.
func (s *Server) TLSRequired() (bool, error) {
	var out C.bool
	err := s.call("TLSRequired", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_tls_required(h, &out, e)
	})
	return bool(out), err
}

// Binary is the nats-server binary the server runs (after the lookup: option, $NATS_SERVER_BIN, PATH).
func (s *Server) Binary() (string, error) {
	return s.str("Binary", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status { return C.nats_server_binary(h, o, e) })
}

// OptionsJSON is the options the server was started with, defaults filled in, as one JSON document of the
// shared schema.
func (s *Server) OptionsJSON() (string, error) {
	return s.str("OptionsJSON", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_options_json(h, o, e)
	})
}

// ClientURL is the URL clients connect to, "nats://localhost:PORT" ("tls://" when the server requires TLS).
// It does not change across Stop, Restart and Kill.
func (s *Server) ClientURL() string { return s.clientURL }

// URL is the client URL on the server's real listen address, e.g. "nats://127.0.0.1:PORT".
func (s *Server) URL() string { return s.url }

// ClientPort is the client port (kept across restarts).
func (s *Server) ClientPort() int { return s.clientPort }

// Dir is the server's private directory (generated config, log, captured output, default JetStream store).
func (s *Server) Dir() string { return s.dir }

// StoreDir is the JetStream store directory.
func (s *Server) StoreDir() string { return s.storeDir }

// LogPath is the server's log file.
func (s *Server) LogPath() string { return s.logPath }

// ClientURLWith is the client URL with a user and password in it (percent-encoded), e.g.
// "nats://u:p@localhost:PORT".
func (s *Server) ClientURLWith(user, password string) (string, error) {
	cu, err := cString(user, "user")
	if err != nil {
		return "", err
	}
	defer freeC(cu)
	cp, err := cString(password, "password")
	if err != nil {
		return "", err
	}
	defer freeC(cp)
	return s.str("ClientURLWith", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_client_url_with(h, cu, cp, o, e)
	})
}

// ClientURLWithToken is the client URL with a token in it (percent-encoded), e.g. "nats://TOKEN@localhost:PORT".
func (s *Server) ClientURLWithToken(token string) (string, error) {
	ct, err := cString(token, "token")
	if err != nil {
		return "", err
	}
	defer freeC(ct)
	return s.str("ClientURLWithToken", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_client_url_with_token(h, ct, o, e)
	})
}

// MonitoringPort is the HTTP monitoring port. ErrUnavailable when monitoring is off.
func (s *Server) MonitoringPort() (int, error) {
	return s.port("MonitoringPort", func(h *C.nats_server_t, o *C.uint16_t, e **C.char) C.nats_server_status {
		return C.nats_server_monitoring_port(h, o, e)
	})
}

// WebsocketPort is the websocket port. ErrUnavailable when websocket is off.
func (s *Server) WebsocketPort() (int, error) {
	return s.port("WebsocketPort", func(h *C.nats_server_t, o *C.uint16_t, e **C.char) C.nats_server_status {
		return C.nats_server_websocket_port(h, o, e)
	})
}

// ClusterPort is the cluster (route) port. ErrUnavailable without a cluster listener.
func (s *Server) ClusterPort() (int, error) {
	return s.port("ClusterPort", func(h *C.nats_server_t, o *C.uint16_t, e **C.char) C.nats_server_status {
		return C.nats_server_cluster_port(h, o, e)
	})
}

// Host is the host the server listens on: the Host option, else what its configuration chose, else 127.0.0.1.
func (s *Server) Host() (string, error) {
	return s.str("Host", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_host(h, o, e)
	})
}

// MonitoringURL is the monitoring base URL, e.g. "http://127.0.0.1:8222". ErrUnavailable when monitoring is off.
func (s *Server) MonitoringURL() (string, error) {
	return s.str("MonitoringURL", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_monitoring_url(h, o, e)
	})
}

// WebsocketURL is the websocket URL, e.g. "ws://127.0.0.1:8080". ErrUnavailable when websocket is off.
func (s *Server) WebsocketURL() (string, error) {
	return s.str("WebsocketURL", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_websocket_url(h, o, e)
	})
}

// ClusterURL is the route URL peers use to join this server, e.g. "nats://127.0.0.1:6222". ErrUnavailable
// without a cluster listener.
func (s *Server) ClusterURL() (string, error) {
	return s.str("ClusterURL", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_cluster_url(h, o, e)
	})
}

// GatewayURL is the gateway URL other clusters use to reach this server, e.g. "nats://127.0.0.1:7222".
// ErrUnavailable without a gateway listener.
func (s *Server) GatewayURL() (string, error) {
	return s.str("GatewayURL", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_gateway_url(h, o, e)
	})
}

// LeafNodeURL is the URL leaves connect to (a hub: Options.LeafNodes). ErrUnavailable otherwise.
func (s *Server) LeafNodeURL() (string, error) {
	return s.str("LeafNodeURL", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_leafnode_url(h, o, e)
	})
}

// MQTTURL is the MQTT URL, e.g. "mqtt://127.0.0.1:1883" (Options.MQTT). ErrUnavailable otherwise.
func (s *Server) MQTTURL() (string, error) {
	return s.str("MQTTURL", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_mqtt_url(h, o, e)
	})
}

// LeafConnections is the number of leaf node connections the server lists in /leafz now (a hub's leaves, a
// leaf's hubs).
func (s *Server) LeafConnections() (int, error) {
	var n C.size_t
	err := s.call("LeafConnections", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_leaf_connections(h, &n, e)
	})
	return int(n), err
}

// WaitForLeafConnections waits up to timeout until the server lists at least count leaf node connections (a
// hub: its leaves are connected again, e.g. after a restart). ErrTimeout otherwise.
func (s *Server) WaitForLeafConnections(count int, timeout time.Duration) error {
	if count < 0 {
		count = 0
	}
	return s.call("WaitForLeafConnections", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_wait_for_leaf_connections(h, C.size_t(count), millis(timeout), e)
	})
}

// WaitForLeaf waits up to timeout until this hub lists leaf and, when the leaf runs JetStream with a
// JetStreamDomain, until its JetStream answers through the hub (after a start, or after either restarted).
// ErrTimeout otherwise, naming what is missing.
func (s *Server) WaitForLeaf(leaf *Server, timeout time.Duration) error {
	if leaf == nil {
		return &Error{Status: StatusInvalidArgument, Message: "natsserver: invalid argument: WaitForLeaf: the leaf is nil"}
	}
	wait := func(h, l *C.nats_server_t, e **C.char) C.nats_server_status {
		return C.nats_server_wait_for_leaf(h, l, millis(timeout), e)
	}
	if leaf.g == s.g {
		// Nodes of one cluster share one lock: take it once.
		return s.call("WaitForLeaf", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
			return wait(h, leaf.h, e)
		})
	}
	var waitErr error
	err := leaf.call("WaitForLeaf", func(l *C.nats_server_t, _ **C.char) C.nats_server_status {
		waitErr = s.call("WaitForLeaf", func(h *C.nats_server_t, e **C.char) C.nats_server_status {
			return wait(h, l, e)
		})
		return C.NATS_SERVER_OK
	})
	if err != nil {
		return err
	}
	return waitErr
}

// LogTail is the last lines of the server's log, then anything it printed to stdout and stderr.
func (s *Server) LogTail(lines int) (string, error) {
	if lines < 0 {
		lines = 0
	}
	return s.str("LogTail", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_log_tail(h, C.size_t(lines), o, e)
	})
}

// ServerID is the server's id from its INFO, read on first use after each start (a restart makes a new one).
// ErrUnavailable when it cannot be read: the server is stopped or paused and was not asked earlier in this start.
func (s *Server) ServerID() (string, error) {
	return s.str("ServerID", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status { return C.nats_server_server_id(h, o, e) })
}

// Version is the running nats-server's own version, e.g. "2.15.1" (see LibraryVersion for this library's).
func (s *Server) Version() (string, error) {
	return s.str("Version", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_version(h, o, e)
	})
}

// InfoJSON is the server's INFO as JSON text, read on first use after each start and kept until the next one.
// ErrUnavailable when it cannot be read: the server is stopped or paused and was not asked earlier in this start.
func (s *Server) InfoJSON() (string, error) {
	return s.str("Info", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status { return C.nats_server_info(h, o, e) })
}

// Info is the server's INFO (see InfoJSON), decoded ("server_id", "version", "port", "jetstream", ...).
func (s *Server) Info() (map[string]any, error) {
	text, err := s.InfoJSON()
	if err != nil {
		return nil, err
	}
	return decode("Info", text)
}

// MonitorJSON GETs a monitoring endpoint ("varz", "/healthz", "jsz?accounts=true") and returns its JSON text.
// Any HTTP status but 200 is ErrMonitoring with the answer in the message; ErrMonitoring too when monitoring is
// off.
func (s *Server) MonitorJSON(endpoint string) (string, error) {
	ce, err := cString(endpoint, "endpoint")
	if err != nil {
		return "", err
	}
	defer freeC(ce)
	return s.str("Monitor", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_monitor(h, ce, o, e)
	})
}

// Monitor GETs a monitoring endpoint ("varz", "connz", "jsz", "healthz", ...) and decodes its JSON object.
// Any HTTP status but 200 is ErrMonitoring.
func (s *Server) Monitor(endpoint string) (map[string]any, error) {
	text, err := s.MonitorJSON(endpoint)
	if err != nil {
		return nil, err
	}
	return decode("Monitor "+endpoint, text)
}

// MonitorStatus GETs a monitoring endpoint and returns its HTTP status and body whatever the status (e.g.
// /healthz answering 503 while JetStream is not ready).
func (s *Server) MonitorStatus(endpoint string) (httpStatus int, body string, err error) {
	ce, err := cString(endpoint, "endpoint")
	if err != nil {
		return 0, "", err
	}
	defer freeC(ce)
	var code C.uint16_t
	body, err = s.str("MonitorStatus", func(h *C.nats_server_t, o, e **C.char) C.nats_server_status {
		return C.nats_server_monitor_status(h, ce, &code, o, e)
	})
	return int(code), body, err
}

// String describes the server for logs: its client URL and directory.
func (s *Server) String() string {
	if s.cluster != nil {
		return fmt.Sprintf("nats-server node %d %s (%s)", s.index, s.clientURL, s.dir)
	}
	return fmt.Sprintf("nats-server %s (%s)", s.clientURL, s.dir)
}

func decode(op, text string) (map[string]any, error) {
	var v map[string]any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, &Error{Status: StatusMonitoring, Message: fmt.Sprintf("natsserver: %s: the answer is not a JSON object: %v: %.200s", op, err, text)}
	}
	return v, nil
}
