//go:build cgo

package natsserver

import (
	"os"
	"strings"
	"testing"
)

// LogTailLines is how many log lines RunT and RunClusterT show when a test fails.
const LogTailLines = 50

// RunT starts a server for a test or benchmark. When the server cannot start it fails the test at once with
// t.Fatalf and the server's own words. It registers a t.Cleanup that closes the server; when the test failed, the
// cleanup first keeps the server's directory (unless the keep policy is never) and logs its path and the tail of
// the log with t.Log. Safe for parallel tests: every server has its own ports and directory.
func RunT(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Run(opts)
	if err != nil {
		t.Fatalf("natsserver.RunT: %v", err)
		return nil // for a testing.TB whose Fatalf returns
	}
	t.Cleanup(func() { closeAfterTest(t, s, opts.Keep) })
	return s
}

// RunClusterT starts a cluster for a test or benchmark, like RunT: t.Fatalf with the cause when it cannot start,
// a t.Cleanup that closes it, and on a failed test every node's directory kept and its log tail logged.
func RunClusterT(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	c, err := RunCluster(opts)
	if err != nil {
		t.Fatalf("natsserver.RunClusterT: %v", err)
		return nil
	}
	t.Cleanup(func() { closeClusterAfterTest(t, c, opts.Server.Keep) })
	return c
}

func closeAfterTest(t testing.TB, s *Server, keep Keep) {
	if t.Failed() {
		reportFailure(t, s, keep)
	}
	if err := s.Close(); err != nil {
		t.Errorf("natsserver: closing %v: %v", s, err)
	}
}

func closeClusterAfterTest(t testing.TB, c *Cluster, keep Keep) {
	if t.Failed() {
		for _, node := range c.nodes {
			reportFailure(t, node, keep)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("natsserver: closing %v: %v", c, err)
	}
}

// reportFailure keeps the server's directory (unless the policy is never) and logs where it is and its log tail.
func reportFailure(t testing.TB, s *Server, keep Keep) {
	kept := "removed (keep policy never)"
	if keepOnFailure(keep) {
		if err := s.SetKeep(KeepAlways); err != nil {
			kept = "not kept: " + err.Error()
		} else {
			kept = "kept"
		}
	}
	tail, err := s.LogTail(LogTailLines)
	if err != nil {
		tail = "(no log: " + err.Error() + ")"
	}
	t.Logf("test failed: %v\ndirectory %s %s; log %s; last %d lines:\n%s", s, s.Dir(), kept, s.LogPath(), LogTailLines, tail)
}

// keepOnFailure applies the keep policy to a failed test: the option, else $NATS_SERVER_KEEP, else on-failure.
func keepOnFailure(k Keep) bool {
	if k == KeepDefault {
		switch strings.ToLower(strings.TrimSpace(os.Getenv("NATS_SERVER_KEEP"))) {
		case "never", "no", "0", "false":
			return false
		}
		return true
	}
	return k != KeepNever
}
