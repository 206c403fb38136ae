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
	"strings"
	"time"
)

// Cluster is a cluster of nats-server processes, started by RunCluster, RunClusterJSON or RunClusterT: a full
// mesh on dynamic ports and, with JetStream, a meta leader every node agrees on.
//
// All methods are safe to call from many goroutines; calls on the cluster and its nodes are serialized by the
// library (a node fault by index waits for the cluster to be ready again while holding the lock). Close waits for
// running calls; every call after it, on the cluster or a node view, fails with ErrClosed.
type Cluster struct {
	g     *guard
	h     *C.nats_cluster_t
	nodes []*Server

	name      string
	urls      []string
	jetstream bool

	cleanup runtime.Cleanup
}

// RunCluster starts a cluster with opts and returns once it is ready: every node routes to every other and, with
// JetStream, they agree on a meta leader and are healthy, so an R3 stream can be created at once. On failure
// nothing is left running. Close the cluster when done.
func RunCluster(opts ClusterOptions) (*Cluster, error) {
	doc, err := opts.JSON()
	if err != nil {
		return nil, err
	}
	return RunClusterJSON(doc)
}

// RunClusterJSON starts a cluster from options given as a JSON document of the shared schema, e.g.
// `{"nodes": 3, "server": {"jetstream": true}}`. "" means the defaults (three nodes without JetStream).
func RunClusterJSON(options string) (*Cluster, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	var copts *C.char
	if options != "" {
		var err error
		if copts, err = cString(options, "the cluster options JSON"); err != nil {
			return nil, err
		}
		defer freeC(copts)
	}
	var h *C.nats_cluster_t
	var msg *C.char
	if err := check(C.nats_cluster_run(copts, &h, &msg), msg); err != nil {
		return nil, err
	}
	c := &Cluster{g: &guard{}, h: h}
	if err := c.readFacts(); err != nil {
		C.nats_cluster_free(h)
		return nil, err
	}
	c.cleanup = runtime.AddCleanup(c, freeLeakedCluster, leaked[*C.nats_cluster_t]{g: c.g, h: h, what: strings.Join(c.urls, ",")})
	return c, nil
}

func freeLeakedCluster(l leaked[*C.nats_cluster_t]) {
	l.g.mu.Lock()
	defer l.g.mu.Unlock()
	if l.g.closed {
		return
	}
	l.g.closed = true
	fmt.Fprintf(os.Stderr, "natsserver: a Cluster (%s) was garbage-collected without Close; stopping it now\n", l.what)
	C.nats_cluster_free(l.h)
}

func (c *Cluster) readFacts() error {
	var n C.size_t
	var msg *C.char
	if err := check(C.nats_cluster_len(c.h, &n, &msg), msg); err != nil {
		return err
	}
	for i := 0; i < int(n); i++ {
		var node *C.nats_server_t
		if err := check(C.nats_cluster_node(c.h, C.size_t(i), &node, &msg), msg); err != nil {
			return err
		}
		s, err := newNode(c, node, i)
		if err != nil {
			return err
		}
		c.nodes = append(c.nodes, s)
	}
	var out *C.char
	err := check(C.nats_cluster_name(c.h, &out, &msg), msg)
	c.name = takeString(out)
	if err != nil {
		return err
	}
	err = check(C.nats_cluster_client_urls_json(c.h, &out, &msg), msg)
	urls := takeString(out)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(urls), &c.urls); err != nil {
		return &Error{Status: StatusInternal, Message: fmt.Sprintf("natsserver: the cluster's client URLs are not a JSON array: %v: %s", err, urls)}
	}
	var js C.bool
	err = check(C.nats_cluster_jetstream(c.h, &js, &msg), msg)
	c.jetstream = bool(js)
	return err
}

// call runs one C call with the cluster handle, unless the cluster is closed.
func (c *Cluster) call(op string, f func(h *C.nats_cluster_t, msg **C.char) C.nats_server_status) error {
	c.g.mu.RLock()
	defer c.g.mu.RUnlock()
	if c.g.closed {
		return closedError(op)
	}
	var msg *C.char
	status := f(c.h, &msg)
	runtime.KeepAlive(c)
	return check(status, msg)
}

// Close kills and reaps every node and removes their directories (unless kept). It waits for calls running on
// other goroutines, is idempotent, and makes every later call on the cluster and its node views fail with
// ErrClosed.
func (c *Cluster) Close() error {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	if c.g.closed {
		return nil
	}
	c.g.closed = true
	c.cleanup.Stop()
	status := C.nats_cluster_free(c.h)
	c.h = nil
	return check(status, nil)
}

// Len is the number of nodes (running or not).
func (c *Cluster) Len() int { return len(c.nodes) }

// Node is a view of node i (0-based): every Server method works on it, and its Close does nothing (the cluster
// owns its nodes). An index out of range is ErrInvalidArgument, as for KillNode and every other node operation:
// an error rather than a panic, because indexes often come from the library (MetaLeader, WaitForLeader) or from
// a test's arithmetic, and one rule for every node operation is easier to remember. Nodes() gives all of them.
func (c *Cluster) Node(i int) (*Server, error) {
	if i >= 0 && i < len(c.nodes) {
		return c.nodes[i], nil
	}
	// Ask the library, so that the message (and the check) is the same as in every other binding.
	var out *C.nats_server_t
	err := c.call("Node", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_node(h, index(i), &out, e)
	})
	if err == nil {
		err = &Error{Status: StatusInternal, Message: fmt.Sprintf("natsserver: node %d of %d exists in the library only", i, len(c.nodes))}
	}
	return nil, err
}

// Nodes are views of every node, in order.
func (c *Cluster) Nodes() []*Server { return append([]*Server(nil), c.nodes...) }

// Name is the cluster's name.
func (c *Cluster) Name() string { return c.name }

// JetStream reports whether the cluster runs JetStream.
func (c *Cluster) JetStream() bool { return c.jetstream }

// ClientURLs are every node's client URL, in node order.
func (c *Cluster) ClientURLs() []string { return append([]string(nil), c.urls...) }

// ClientURLsJoined is every node's client URL joined with commas (nats_cluster_client_urls): the one string
// nats.Connect takes to fail over between nodes.
func (c *Cluster) ClientURLsJoined() (string, error) {
	var out *C.char
	err := c.call("ClientURLsJoined", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_client_urls(h, &out, e)
	})
	return takeString(out), err
}

// ClientURL is node 0's client URL, as the Rust Cluster::client_url(). For a client that fails over between
// nodes, join ClientURLs with commas (the form nats.Connect accepts).
func (c *Cluster) ClientURL() string { return c.urls[0] }

// KillNode kills node i (SIGKILL, like a crash).
func (c *Cluster) KillNode(i int) error {
	return c.call("KillNode", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_kill_node(h, index(i), e)
	})
}

// StopNode stops node i gracefully; a stopped node is left as it is.
func (c *Cluster) StopNode(i int) error {
	return c.call("StopNode", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_stop_node(h, index(i), e)
	})
}

// StopNodeTimeout stops node i with SIGTERM, and SIGKILL once timeout has passed. Stops of different nodes from
// several goroutines run in parallel (three take about as long as one).
func (c *Cluster) StopNodeTimeout(i int, timeout time.Duration) error {
	return c.call("StopNodeTimeout", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_stop_node_timeout(h, index(i), millis(timeout), e)
	})
}

// StartNode starts node i again (same ports, same store) and waits until the cluster is ready again.
func (c *Cluster) StartNode(i int) error {
	return c.call("StartNode", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_start_node(h, index(i), e)
	})
}

// RestartNode restarts node i (same ports, same store) and waits until the cluster is ready again.
func (c *Cluster) RestartNode(i int) error {
	return c.call("RestartNode", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_restart_node(h, index(i), e)
	})
}

// PauseNode freezes node i (SIGSTOP). Readiness waits leave paused nodes out.
func (c *Cluster) PauseNode(i int) error {
	return c.call("PauseNode", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_pause_node(h, index(i), e)
	})
}

// ResumeNode lets node i run again (SIGCONT).
func (c *Cluster) ResumeNode(i int) error {
	return c.call("ResumeNode", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_resume_node(h, index(i), e)
	})
}

// LameDuckNode puts node i into lame duck mode.
func (c *Cluster) LameDuckNode(i int) error {
	return c.call("LameDuckNode", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_lame_duck_node(h, index(i), e)
	})
}

// RollingRestart restarts every node in turn, waiting for the cluster to be ready after each.
func (c *Cluster) RollingRestart() error {
	return c.call("RollingRestart", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_rolling_restart(h, e)
	})
}

// SetKeep sets the keep policy of every node.
func (c *Cluster) SetKeep(k Keep) error {
	code, err := keepCode(k)
	if err != nil {
		return err
	}
	return c.call("SetKeep", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_set_keep(h, code, e)
	})
}

// MarkFailed records that the test using the cluster failed, for every node (see Server.MarkFailed).
func (c *Cluster) MarkFailed() error {
	return c.call("MarkFailed", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_mark_failed(h, e)
	})
}

// WaitReady waits up to timeout until every running, unpaused node routes to every other one and, with
// JetStream, they agree on a meta leader that sees them all and every one is healthy. ErrTimeout otherwise.
func (c *Cluster) WaitReady(timeout time.Duration) error {
	return c.call("WaitReady", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_wait_ready(h, millis(timeout), e)
	})
}

// WaitForLeader waits up to timeout until the running nodes agree on a JetStream meta leader and returns its
// node index. ErrTimeout otherwise.
func (c *Cluster) WaitForLeader(timeout time.Duration) (int, error) {
	var leader C.size_t
	err := c.call("WaitForLeader", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_wait_for_leader(h, millis(timeout), &leader, e)
	})
	if err != nil {
		return -1, err
	}
	return int(leader), nil
}

// MetaLeader is the node index of the JetStream meta leader the running nodes agree on now. ErrUnavailable when
// they do not agree or there is none (see WaitForLeader).
func (c *Cluster) MetaLeader() (int, error) {
	var leader C.size_t
	err := c.call("MetaLeader", func(h *C.nats_cluster_t, e **C.char) C.nats_server_status {
		return C.nats_cluster_meta_leader(h, &leader, e)
	})
	if err != nil {
		return -1, err
	}
	return int(leader), nil
}

// String describes the cluster for logs: its name and client URLs.
func (c *Cluster) String() string {
	return fmt.Sprintf("nats-server cluster %s (%s)", c.name, strings.Join(c.urls, ","))
}
