//go:build cgo

package natsserver

import (
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
	t.Cleanup(func() { closeAfterTest(t, s) })
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
	t.Cleanup(func() { closeClusterAfterTest(t, c) })
	return c
}

// RunSuperclusterT starts a supercluster for a test or benchmark, like RunT: t.Fatalf with the cause when it
// cannot start, a t.Cleanup that closes it, and on a failed test every node's directory kept and its log tail
// logged.
func RunSuperclusterT(t testing.TB, opts SuperclusterOptions) *Supercluster {
	t.Helper()
	sc, err := RunSupercluster(opts)
	if err != nil {
		t.Fatalf("natsserver.RunSuperclusterT: %v", err)
		return nil
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, nodes := range sc.nodes {
				for _, node := range nodes {
					reportFailure(t, node)
				}
			}
		}
		if err := sc.Close(); err != nil {
			t.Errorf("natsserver: closing %v: %v", sc, err)
		}
	})
	return sc
}

// RunLeafOfT starts a leaf of hub for a test, like RunT (see RunLeafOf).
func RunLeafOfT(t testing.TB, hub *Server, opts Options) *Server {
	t.Helper()
	leaf, err := RunLeafOf(hub, opts)
	if err != nil {
		t.Fatalf("natsserver.RunLeafOfT: %v", err)
		return nil
	}
	t.Cleanup(func() { closeAfterTest(t, leaf) })
	return leaf
}

func closeAfterTest(t testing.TB, s *Server) {
	if t.Failed() {
		reportFailure(t, s)
	}
	if err := s.Close(); err != nil {
		t.Errorf("natsserver: closing %v: %v", s, err)
	}
}

func closeClusterAfterTest(t testing.TB, c *Cluster) {
	if t.Failed() {
		for _, node := range c.nodes {
			reportFailure(t, node)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("natsserver: closing %v: %v", c, err)
	}
}

// reportFailure marks the server failed, so the library keeps its directory under the on-failure policy (the
// default; the options or $NATS_SERVER_KEEP may say otherwise), and logs where it is and the log's tail.
func reportFailure(t testing.TB, s *Server) {
	kept := "kept unless the keep policy is never"
	if err := s.MarkFailed(); err != nil {
		kept = "not marked failed: " + err.Error()
	}
	tail, err := s.LogTail(LogTailLines)
	if err != nil {
		tail = "(no log: " + err.Error() + ")"
	}
	t.Logf("test failed: %v\ndirectory %s (%s); log %s; last %d lines:\n%s", s, s.Dir(), kept, s.LogPath(), LogTailLines, tail)
}
