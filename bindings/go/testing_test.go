package natsserver_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// fakeTB records what RunT does to a test, so a failing test can be observed without failing the real one.
// Methods RunT does not use are left to the embedded nil testing.TB (they would panic).
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	helpers  int
	fatals   []string
	errors   []string
	logs     []string
	cleanups []func()
	failed   bool
}

func (f *fakeTB) Helper() { f.mu.Lock(); f.helpers++; f.mu.Unlock() }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	f.failed = true
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
	f.failed = true
}
func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Cleanup(fn func()) { f.mu.Lock(); f.cleanups = append(f.cleanups, fn); f.mu.Unlock() }
func (f *fakeTB) Fail()             { f.mu.Lock(); f.failed = true; f.mu.Unlock() }
func (f *fakeTB) Failed() bool      { f.mu.Lock(); defer f.mu.Unlock(); return f.failed }
func (f *fakeTB) Name() string      { return "TestFake" }

// runCleanups runs the registered cleanups last-in first-out, like the testing package.
func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

func TestRunTFailsTheTestWithTheServersWords(t *testing.T) {
	t.Parallel()
	fake := &fakeTB{}
	if s := natsserver.RunT(fake, natsserver.Options{Config: "max_payload: [\n"}); s != nil {
		t.Fatal("RunT returned a server it could not start")
	}
	if fake.helpers == 0 {
		t.Error("RunT did not call t.Helper()")
	}
	if len(fake.fatals) != 1 || !strings.Contains(fake.fatals[0], "Parse error") ||
		!strings.Contains(fake.fatals[0], "configuration rejected") {
		t.Fatalf("Fatalf calls: %q", fake.fatals)
	}
	if len(fake.cleanups) != 0 {
		t.Fatal("a cleanup was registered for a server that did not start")
	}

	fake = &fakeTB{}
	natsserver.RunT(fake, natsserver.Options{Binary: "/no/such/nats-server"})
	if len(fake.fatals) != 1 || !strings.Contains(fake.fatals[0], "/no/such/nats-server") {
		t.Fatalf("Fatalf calls: %q", fake.fatals)
	}

	fake = &fakeTB{}
	if c := natsserver.RunClusterT(fake, natsserver.ClusterOptions{Nodes: 2, NodeNames: []string{"x"}}); c != nil {
		t.Fatal("RunClusterT returned a cluster it could not start")
	}
	if len(fake.fatals) != 1 || !strings.Contains(fake.fatals[0], "node_names") || fake.helpers == 0 {
		t.Fatalf("Fatalf calls: %q, helpers %d", fake.fatals, fake.helpers)
	}
}

func TestRunTCleanup(t *testing.T) {
	t.Parallel()
	t.Run("passed: removed", func(t *testing.T) {
		t.Parallel()
		fake := &fakeTB{}
		s := natsserver.RunT(fake, natsserver.Options{})
		dir := s.Dir()
		fake.runCleanups()
		if s.IsRunning() || exists(dir) || len(fake.logs) != 0 || len(fake.errors) != 0 {
			t.Fatalf("running %v, dir left %v, logs %q, errors %q", s.IsRunning(), exists(dir), fake.logs, fake.errors)
		}
	})
	t.Run("failed: kept and logged", func(t *testing.T) {
		t.Parallel()
		fake := &fakeTB{}
		s := natsserver.RunT(fake, natsserver.Options{})
		dir, logPath := s.Dir(), s.LogPath()
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		fake.Fail()
		fake.runCleanups()
		if s.IsRunning() {
			t.Fatal("the server runs after the cleanup")
		}
		if !exists(dir) || !exists(logPath) {
			t.Fatalf("the directory %s of a failed test was not kept", dir)
		}
		if len(fake.logs) != 1 {
			t.Fatalf("logs %q", fake.logs)
		}
		for _, want := range []string{dir, logPath, "kept", "Server is ready"} {
			if !strings.Contains(fake.logs[0], want) {
				t.Fatalf("the log does not mention %q: %s", want, fake.logs[0])
			}
		}
	})
	t.Run("failed with keep never: removed, still logged", func(t *testing.T) {
		t.Parallel()
		fake := &fakeTB{}
		s := natsserver.RunT(fake, natsserver.Options{Keep: natsserver.KeepNever})
		dir := s.Dir()
		fake.Fail()
		fake.runCleanups()
		if exists(dir) {
			_ = os.RemoveAll(dir)
			t.Fatal("kept despite keep never")
		}
		if len(fake.logs) != 1 || !strings.Contains(fake.logs[0], "Server is ready") {
			t.Fatalf("logs %q", fake.logs)
		}
	})
	t.Run("failed cluster: every node kept", func(t *testing.T) {
		t.Parallel()
		fake := &fakeTB{}
		c := natsserver.RunClusterT(fake, natsserver.ClusterOptions{Nodes: 2})
		var dirs []string
		for _, n := range c.Nodes() {
			dirs = append(dirs, n.Dir())
		}
		t.Cleanup(func() {
			for _, d := range dirs {
				_ = os.RemoveAll(d)
			}
		})
		fake.Fail()
		fake.runCleanups()
		if len(fake.logs) != 2 {
			t.Fatalf("logs %q", fake.logs)
		}
		for _, d := range dirs {
			if !exists(d) {
				t.Fatalf("node directory %s was not kept", d)
			}
		}
		if _, err := c.MetaLeader(); err == nil {
			t.Fatal("the cluster is not closed")
		}
	})
}

// Keep values are parsed by the library's one parser (Rust Keep::parse), so every spelling NATS_SERVER_KEEP accepts
// means the same in Options.Keep and SetKeep as in Rust, C and Python.
func TestKeepSpellingsAreTheLibrarys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		keep      natsserver.Keep
		canonical string
		kept      bool // after a failed test (MarkFailed)
	}{
		{"on_failure", "on-failure", true},
		{"1", "always", true},
		{"TRUE", "always", true},
		{"0", "never", false},
	} {
		t.Run(string(tc.keep), func(t *testing.T) {
			t.Parallel()
			fake := &fakeTB{}
			s := natsserver.RunT(fake, natsserver.Options{Keep: tc.keep})
			dir := s.Dir()
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			opts, err := s.OptionsJSON()
			if err != nil || !strings.Contains(opts, `"keep":"`+tc.canonical+`"`) {
				t.Fatalf("options %s (%v), want keep %s", opts, err, tc.canonical)
			}
			if err := s.SetKeep(tc.keep); err != nil { // the other entry point takes the same spellings
				t.Fatal(err)
			}
			fake.Fail()
			fake.runCleanups()
			if exists(dir) != tc.kept {
				t.Fatalf("keep %q: directory kept %v, want %v", tc.keep, exists(dir), tc.kept)
			}
		})
	}
	_, err := natsserver.Run(natsserver.Options{Keep: "sometimes"})
	wantErr(t, err, natsserver.ErrInvalidOptions, `keep policy "sometimes" is not one of never, on-failure, always`)
	s := natsserver.RunT(t, natsserver.Options{})
	wantErr(t, s.SetKeep("sometimes"), natsserver.ErrInvalidArgument, `keep policy "sometimes"`)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
