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

// Supercluster is clusters of nats-server processes joined by gateways, started by RunSupercluster,
// RunSuperclusterJSON or RunSuperclusterT: every cluster meshed, every gateway connected and, with JetStream,
// one meta leader every node agrees on.
//
// All methods are safe to call from many goroutines; calls are serialized by the library. Close waits for
// running calls; every call after it, on the supercluster or a node view, fails with ErrClosed.
type Supercluster struct {
	g     *guard
	h     *C.nats_supercluster_t
	nodes [][]*Server
	names []string
	urls  [][]string

	cleanup runtime.Cleanup
}

// RunSupercluster starts a supercluster with opts (zero values: 2 clusters of 3 nodes) and returns once it is
// ready. On failure nothing is left running. Close it when done.
func RunSupercluster(opts SuperclusterOptions) (*Supercluster, error) {
	doc, err := opts.JSON()
	if err != nil {
		return nil, err
	}
	return RunSuperclusterJSON(doc)
}

// RunSuperclusterJSON starts a supercluster from options given as a JSON document of the shared schema, e.g.
// `{"clusters": 2, "nodes": 3, "server": {"jetstream": true}}`. "" means the defaults.
func RunSuperclusterJSON(options string) (*Supercluster, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	var copts *C.char
	if options != "" {
		var err error
		if copts, err = cString(options, "the supercluster options JSON"); err != nil {
			return nil, err
		}
		defer freeC(copts)
	}
	var h *C.nats_supercluster_t
	var msg *C.char
	if err := check(C.nats_supercluster_run(copts, &h, &msg), msg); err != nil {
		return nil, err
	}
	sc := &Supercluster{g: &guard{}, h: h}
	if err := sc.readFacts(); err != nil {
		C.nats_supercluster_free(h)
		return nil, err
	}
	sc.cleanup = runtime.AddCleanup(sc, freeLeakedSupercluster,
		leaked[*C.nats_supercluster_t]{g: sc.g, h: h, what: strings.Join(sc.names, ",")})
	return sc, nil
}

func freeLeakedSupercluster(l leaked[*C.nats_supercluster_t]) {
	l.g.mu.Lock()
	defer l.g.mu.Unlock()
	if l.g.closed {
		return
	}
	l.g.closed = true
	fmt.Fprintf(os.Stderr, "natsserver: a Supercluster (%s) was garbage-collected without Close; stopping it now\n", l.what)
	C.nats_supercluster_free(l.h)
}

func (sc *Supercluster) readFacts() error {
	var n C.size_t
	var msg *C.char
	if err := check(C.nats_supercluster_len(sc.h, &n, &msg), msg); err != nil {
		return err
	}
	for c := 0; c < int(n); c++ {
		var size C.size_t
		if err := check(C.nats_supercluster_cluster_len(sc.h, C.size_t(c), &size, &msg), msg); err != nil {
			return err
		}
		var out *C.char
		err := check(C.nats_supercluster_cluster_name(sc.h, C.size_t(c), &out, &msg), msg)
		sc.names = append(sc.names, takeString(out))
		if err != nil {
			return err
		}
		var nodes []*Server
		for i := 0; i < int(size); i++ {
			var node *C.nats_server_t
			if err := check(C.nats_supercluster_node(sc.h, C.size_t(c), C.size_t(i), &node, &msg), msg); err != nil {
				return err
			}
			s := &Server{g: sc.g, h: node, supercluster: sc, index: i}
			if err := s.readFacts(); err != nil {
				return err
			}
			nodes = append(nodes, s)
		}
		sc.nodes = append(sc.nodes, nodes)
	}
	var out *C.char
	err := check(C.nats_supercluster_client_urls_json(sc.h, &out, &msg), msg)
	urls := takeString(out)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(urls), &sc.urls); err != nil {
		return &Error{Status: StatusInternal, Message: fmt.Sprintf("natsserver: the supercluster's client URLs are not JSON arrays: %v: %s", err, urls)}
	}
	return nil
}

// call runs one C call with the supercluster handle, unless it is closed.
func (sc *Supercluster) call(op string, f func(h *C.nats_supercluster_t, msg **C.char) C.nats_server_status) error {
	sc.g.mu.RLock()
	defer sc.g.mu.RUnlock()
	if sc.g.closed {
		return closedError(op)
	}
	var msg *C.char
	status := f(sc.h, &msg)
	runtime.KeepAlive(sc)
	return check(status, msg)
}

// Close kills and reaps every node and removes their directories (unless kept). It waits for calls running on
// other goroutines, is idempotent, and makes every later call on the supercluster and its node views fail with
// ErrClosed.
func (sc *Supercluster) Close() error {
	sc.g.mu.Lock()
	defer sc.g.mu.Unlock()
	if sc.g.closed {
		return nil
	}
	sc.g.closed = true
	sc.cleanup.Stop()
	status := C.nats_supercluster_free(sc.h)
	sc.h = nil
	if status != C.NATS_SERVER_OK {
		return &Error{Status: Status(status), Message: "natsserver: freeing the supercluster: " + statusName(Status(status))}
	}
	return nil
}

// Len is the number of clusters.
func (sc *Supercluster) Len() int { return len(sc.nodes) }

// Names are the cluster names, in order (their gateway names, e.g. for JetStream placement).
func (sc *Supercluster) Names() []string { return append([]string(nil), sc.names...) }

// Node is a view of node i of cluster c (both 0-based): every Server method works on it, and its Close does
// nothing. It panics when an index is out of range, like a slice index.
func (sc *Supercluster) Node(c, i int) *Server {
	if c < 0 || c >= len(sc.nodes) || i < 0 || i >= len(sc.nodes[c]) {
		panic(fmt.Sprintf("natsserver: node (%d, %d) out of range for a supercluster of %d clusters", c, i, len(sc.nodes)))
	}
	return sc.nodes[c][i]
}

// Nodes are views of every node of cluster c, in order.
func (sc *Supercluster) Nodes(c int) []*Server { return append([]*Server(nil), sc.nodes[c]...) }

// ClientURLs are every node's client URL, by cluster.
func (sc *Supercluster) ClientURLs() [][]string {
	out := make([][]string, len(sc.urls))
	for c, urls := range sc.urls {
		out[c] = append([]string(nil), urls...)
	}
	return out
}

// ClientURL is the client URL of node 0 of cluster 0.
func (sc *Supercluster) ClientURL() string { return sc.urls[0][0] }

func (sc *Supercluster) fault(op string, c, i int, f func(*C.nats_supercluster_t, C.size_t, C.size_t, **C.char) C.nats_server_status) error {
	return sc.call(op, func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return f(h, index(c), index(i), e)
	})
}

// KillNode kills node i of cluster c (SIGKILL, like a crash).
func (sc *Supercluster) KillNode(c, i int) error {
	return sc.fault("KillNode", c, i, func(h *C.nats_supercluster_t, c, i C.size_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_kill_node(h, c, i, e)
	})
}

// StopNode stops node i of cluster c gracefully.
func (sc *Supercluster) StopNode(c, i int) error {
	return sc.fault("StopNode", c, i, func(h *C.nats_supercluster_t, c, i C.size_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_stop_node(h, c, i, e)
	})
}

// StartNode starts node i of cluster c again (same ports, same store) and waits until it is back in the
// supercluster.
func (sc *Supercluster) StartNode(c, i int) error {
	return sc.fault("StartNode", c, i, func(h *C.nats_supercluster_t, c, i C.size_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_start_node(h, c, i, e)
	})
}

// RestartNode restarts node i of cluster c and waits until it is back in the supercluster (routes, gateways,
// JetStream).
func (sc *Supercluster) RestartNode(c, i int) error {
	return sc.fault("RestartNode", c, i, func(h *C.nats_supercluster_t, c, i C.size_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_restart_node(h, c, i, e)
	})
}

// PauseNode freezes node i of cluster c (SIGSTOP).
func (sc *Supercluster) PauseNode(c, i int) error {
	return sc.fault("PauseNode", c, i, func(h *C.nats_supercluster_t, c, i C.size_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_pause_node(h, c, i, e)
	})
}

// ResumeNode lets node i of cluster c run again (SIGCONT).
func (sc *Supercluster) ResumeNode(c, i int) error {
	return sc.fault("ResumeNode", c, i, func(h *C.nats_supercluster_t, c, i C.size_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_resume_node(h, c, i, e)
	})
}

// LameDuckNode puts node i of cluster c into lame duck mode.
func (sc *Supercluster) LameDuckNode(c, i int) error {
	return sc.fault("LameDuckNode", c, i, func(h *C.nats_supercluster_t, c, i C.size_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_lame_duck_node(h, c, i, e)
	})
}

// SetKeep sets the keep policy of every node.
func (sc *Supercluster) SetKeep(k Keep) error {
	code, err := keepCode(k)
	if err != nil {
		return err
	}
	return sc.call("SetKeep", func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_set_keep(h, code, e)
	})
}

// MarkFailed records that the test using the supercluster failed, for every node (see Server.MarkFailed).
func (sc *Supercluster) MarkFailed() error {
	return sc.call("MarkFailed", func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_mark_failed(h, e)
	})
}

// WaitReady waits up to timeout until the supercluster is ready again (stopped and paused nodes left out).
func (sc *Supercluster) WaitReady(timeout time.Duration) error {
	return sc.call("WaitReady", func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_wait_ready(h, millis(timeout), e)
	})
}

// WaitForLeader waits up to timeout for a JetStream meta leader and returns its cluster and node indices.
func (sc *Supercluster) WaitForLeader(timeout time.Duration) (cluster, node int, err error) {
	var c, i C.size_t
	err = sc.call("WaitForLeader", func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_wait_for_leader(h, millis(timeout), &c, &i, e)
	})
	if err != nil {
		return -1, -1, err
	}
	return int(c), int(i), nil
}

// WaitForQueueInterest waits up to timeout until the queue group queue on subject is known across the gateways:
// every node of every other cluster lists it for each cluster with a member. Call it after subscribing (and
// flushing), before publishing to the group: a message published while a cluster learns of another's members may
// be delivered in both. ErrTimeout otherwise (also when no cluster has a member).
func (sc *Supercluster) WaitForQueueInterest(subject, queue string, timeout time.Duration) error {
	csubject, err := cString(subject, "subject")
	if err != nil {
		return err
	}
	defer freeC(csubject)
	cqueue, err := cString(queue, "queue")
	if err != nil {
		return err
	}
	defer freeC(cqueue)
	return sc.call("WaitForQueueInterest", func(h *C.nats_supercluster_t, e **C.char) C.nats_server_status {
		return C.nats_supercluster_wait_for_queue_interest(h, csubject, cqueue, millis(timeout), e)
	})
}

// String describes the supercluster for logs: its cluster names.
func (sc *Supercluster) String() string {
	return fmt.Sprintf("nats-server supercluster %s", strings.Join(sc.names, ","))
}

// RunLeafOf starts a leaf of hub (started with Options.LeafNodes) with opts plus a remote to the hub's leaf node
// URL, and returns once the hub lists the leaf (with a JetStreamDomain: once the leaf's JetStream answers
// through the hub, see Server.WaitForLeaf). Close the leaf when done.
func RunLeafOf(hub *Server, opts Options) (*Server, error) {
	url, err := hub.LeafNodeURL()
	if err != nil {
		return nil, err
	}
	opts.LeafRemotes = append(append([]LeafRemote(nil), opts.LeafRemotes...), LeafRemote{URLs: []string{url}})
	leaf, err := Run(opts)
	if err != nil {
		return nil, err
	}
	timeout := 10 * time.Second
	if opts.StartupTimeoutMS > 0 {
		timeout = time.Duration(opts.StartupTimeoutMS) * time.Millisecond
	}
	if err := hub.WaitForLeaf(leaf, timeout); err != nil {
		leaf.Close()
		return nil, err
	}
	return leaf, nil
}
