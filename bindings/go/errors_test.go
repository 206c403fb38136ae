package natsserver_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// Bad inputs fail with the right sentinel, and the message says what is wrong, in the server's words when the
// server complained.
func TestBadInputs(t *testing.T) {
	t.Parallel()
	badConf := filepath.Join(t.TempDir(), "bad.conf")
	if err := os.WriteFile(badConf, []byte("listen: {{{\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() }) // after the parallel subtests, unlike a defer
	busyPort := busy.Addr().(*net.TCPAddr).Port

	cases := []struct {
		name      string
		opts      natsserver.Options
		sentinel  error
		fragments []string
	}{
		{"missing binary", natsserver.Options{Binary: "/no/such/nats-server"}, natsserver.ErrBinaryNotFound,
			[]string{"/no/such/nats-server"}},
		{"missing config file", natsserver.Options{ConfigFile: "/no/such/server.conf"}, natsserver.ErrConfig,
			[]string{"/no/such/server.conf", "does not exist"}},
		{"malformed config file", natsserver.Options{ConfigFile: badConf}, natsserver.ErrConfig,
			[]string{"Parse error", "bad.conf"}},
		{"malformed config text", natsserver.Options{Config: "max_payload: [\n"}, natsserver.ErrConfig,
			[]string{"Parse error"}},
		{"unknown option field", natsserver.Options{Extra: map[string]any{"jetstreem": true}},
			natsserver.ErrInvalidOptions, []string{"jetstreem"}},
		{"ill-typed option field", natsserver.Options{Extra: map[string]any{"port": "abc"}},
			natsserver.ErrInvalidOptions, []string{"port", "invalid type"}},
		{"password without user", natsserver.Options{Password: "x"}, natsserver.ErrInvalidOptions,
			[]string{"user"}},
		{"busy port", natsserver.Options{Port: busyPort}, natsserver.ErrPortInUse,
			[]string{"address already in use"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := natsserver.Run(tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("it started")
			}
			if s != nil {
				t.Fatal("a failed Run returned a server")
			}
			wantErr(t, err, tc.sentinel, tc.fragments...)
			var e *natsserver.Error
			if !errors.As(err, &e) || e.Message == "" || e.Error() != e.Message {
				t.Fatalf("not an *Error with a message: %#v", err)
			}
		})
	}
}

func TestBadJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ json, fragment string }{
		{`{"prot": 1}`, "prot"},
		{`{"port": "abc"}`, "port"},
		{`{not json`, "JSON"},
		{`{} {}`, "trailing"},
	} {
		_, err := natsserver.RunJSON(tc.json)
		wantErr(t, err, natsserver.ErrInvalidOptions, tc.fragment)
	}
	_, err := natsserver.RunClusterJSON(`{"server": {"prot": 1}}`)
	wantErr(t, err, natsserver.ErrInvalidOptions, "server.prot")
	_, err = natsserver.RunCluster(natsserver.ClusterOptions{Nodes: 2, NodeNames: []string{"only-one"}})
	wantErr(t, err, natsserver.ErrInvalidOptions, "node_names")
	_, err = natsserver.RunCluster(natsserver.ClusterOptions{Server: natsserver.Options{Port: 4999}})
	wantErr(t, err, natsserver.ErrInvalidOptions, "server.port")
	_, err = natsserver.RunJSON("{\"name\": \"a\x00b\"}")
	wantErr(t, err, natsserver.ErrInvalidArgument, "NUL")
	_, err = natsserver.Run(natsserver.Options{Extra: map[string]any{"bad": func() {}}})
	wantErr(t, err, natsserver.ErrInvalidOptions, "bad")
}

func TestBadArgumentsOnALiveServer(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{})
	_, err := s.WaitExit(50 * time.Millisecond)
	wantErr(t, err, natsserver.ErrTimeout)
	wantErr(t, s.SetKeep("sometimes"), natsserver.ErrInvalidArgument)
	_, err = s.ClientURLWith("a\x00", "b")
	wantErr(t, err, natsserver.ErrInvalidArgument, "user")
	_, err = s.Monitor("varz\x00")
	wantErr(t, err, natsserver.ErrInvalidArgument, "endpoint")
	if err := s.SetKeep(natsserver.KeepNever); err != nil {
		t.Fatal(err)
	}
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	e := &natsserver.Error{Status: natsserver.StatusConfig, Message: "nats-server harness: configuration rejected: x"}
	if !errors.Is(e, natsserver.ErrConfig) || errors.Is(e, natsserver.ErrPortInUse) {
		t.Fatal("Is does not follow the status")
	}
	if e.Status.String() != "NATS_SERVER_CONFIG" {
		t.Fatalf("status name %q", e.Status)
	}
	unknown := &natsserver.Error{Status: 999}
	for _, s := range []error{natsserver.ErrInternal, natsserver.ErrConfig, natsserver.ErrClosed} {
		if errors.Is(unknown, s) {
			t.Fatalf("an unknown status matches %v", s)
		}
	}
	if !strings.Contains(unknown.Error(), "NATS_SERVER_UNKNOWN_STATUS") {
		t.Fatalf("unknown status message %q", unknown.Error())
	}
	if natsserver.LibraryABIVersion() != natsserver.ABIVersion || natsserver.LibraryVersion() == "" {
		t.Fatalf("library %s ABI %d", natsserver.LibraryVersion(), natsserver.LibraryABIVersion())
	}
	t.Logf("linked libnats_server %s (C ABI %d, link mode %s)", natsserver.LibraryVersion(), natsserver.LibraryABIVersion(), natsserver.LinkMode)
}
