package natsserver_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

func TestPublishSubscribe(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{})
	if !strings.HasPrefix(s.ClientURL(), "nats://localhost:") || s.ClientPort() == 0 {
		t.Fatalf("client URL %q, port %d", s.ClientURL(), s.ClientPort())
	}
	pubSub(t, s.ClientURL())
	pubSub(t, s.URL())

	// Request and reply through a second connection.
	a, b := connect(t, s.ClientURL()), connect(t, s.ClientURL())
	if _, err := a.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(append([]byte("re: "), m.Data...)) }); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	reply, err := b.Request("echo", []byte("ping"), 5*time.Second)
	if err != nil || string(reply.Data) != "re: ping" {
		t.Fatalf("reply %v, %v", reply, err)
	}
}

func TestJetStreamSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{JetStream: true})
	reconnected := make(chan struct{}, 1)
	nc := connect(t, s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectHandler(func(*nats.Conn) {
			select {
			case reconnected <- struct{}{}:
			default:
			}
		}))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := timeout(t, 20*time.Second)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	publishN(t, js, "orders.new", 3)

	port, dir, store := s.ClientPort(), s.Dir(), s.StoreDir()
	pid, _ := s.PID()
	id, _ := s.ServerID()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	pid2, err := s.PID()
	if err != nil || pid2 == pid {
		t.Fatalf("pid %d before, %d (%v) after the restart", pid, pid2, err)
	}
	if id2, _ := s.ServerID(); id2 == id {
		t.Fatalf("the server id %s did not change with the restart", id)
	}
	if s.ClientPort() != port || s.Dir() != dir || s.StoreDir() != store {
		t.Fatalf("port/dir/store changed: %d %s %s", s.ClientPort(), s.Dir(), s.StoreDir())
	}
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatalf("the client did not reconnect to %s", s.ClientURL())
	}

	stream, err := js.Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	if n := stream.CachedInfo().State.Msgs; n != 3 {
		t.Fatalf("%d messages after the restart, want 3", n)
	}
	msg, err := stream.GetMsg(ctx, 1)
	if err != nil || msg.Subject != "orders.new" {
		t.Fatalf("message 1: %v, %v", msg, err)
	}
	ack, err := js.Publish(ctx, "orders.new", []byte("after"))
	if err != nil || ack.Sequence != 4 {
		t.Fatalf("publish after the restart: %v, %v", ack, err)
	}
}

func TestStopStartKill(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{})
	port := s.ClientPort()

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if s.IsRunning() {
		t.Fatal("running after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
	_, err := s.PID()
	wantErr(t, err, natsserver.ErrNotRunning)
	wantErr(t, s.Pause(), natsserver.ErrNotRunning)
	if s.ClientURL() == "" || s.ClientPort() != port {
		t.Fatal("the client URL is known while stopped")
	}

	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if !s.IsRunning() || s.ClientPort() != port {
		t.Fatalf("running %v on port %d after Start", s.IsRunning(), s.ClientPort())
	}
	pubSub(t, s.ClientURL())

	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if s.IsRunning() {
		t.Fatal("running after Kill")
	}
	_, err = s.WaitExit(time.Second)
	wantErr(t, err, natsserver.ErrNotRunning)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	pubSub(t, s.ClientURL())
}

func TestPauseResume(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{})
	nc := connect(t, s.ClientURL())

	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	if !s.IsPaused() || !s.IsRunning() {
		t.Fatalf("paused %v, running %v", s.IsPaused(), s.IsRunning())
	}
	assertStopped(t, s)
	if err := nc.FlushTimeout(200 * time.Millisecond); err == nil {
		t.Fatal("a paused server answered a PING")
	}
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	if s.IsPaused() {
		t.Fatal("still paused after Resume")
	}
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		t.Fatalf("no PONG after Resume: %v", err)
	}
	pubSub(t, s.ClientURL())
}

func TestLameDuck(t *testing.T) {
	t.Parallel()
	t.Run("with a client", func(t *testing.T) {
		t.Parallel()
		// The grace period delays closing the clients; 10 s by default.
		s := natsserver.RunT(t, natsserver.Options{Config: "lame_duck_grace_period: 100ms"})
		notified := make(chan struct{}, 1)
		nc := connect(t, s.ClientURL(), nats.NoReconnect(), nats.LameDuckModeHandler(func(*nats.Conn) {
			notified <- struct{}{}
		}))
		if err := s.LameDuck(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-notified:
		case <-time.After(10 * time.Second):
			t.Fatal("the client was not told about lame duck mode")
		}
		if _, err := nats.Connect(s.ClientURL(), nats.Timeout(time.Second)); err == nil {
			t.Fatal("a server in lame duck mode accepted a new client")
		}
		nc.Close()
		code, err := s.WaitExit(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if s.IsRunning() {
			t.Fatalf("running after exiting with %d", code)
		}
		if err := s.Start(); err != nil {
			t.Fatalf("starting again after lame duck: %v", err)
		}
		pubSub(t, s.ClientURL())
	})
	t.Run("without clients", func(t *testing.T) {
		t.Parallel()
		s := natsserver.RunT(t, natsserver.Options{})
		if err := s.LameDuck(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WaitExit(5 * time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReload(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "server.conf")
	write := func(text string) {
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	maxPayload := func(s *natsserver.Server) float64 {
		varz, err := s.Monitor("varz")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := varz["max_payload"].(float64)
		return n
	}
	write("max_payload: 4096\n")
	s := natsserver.RunT(t, natsserver.Options{ConfigFile: conf})
	if n := maxPayload(s); n != 4096 {
		t.Fatalf("max_payload %v", n)
	}
	write("max_payload: 8192\n")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "max_payload is not 8192 after the reload", func() bool { return maxPayload(s) == 8192 })
}

func TestQueriesAndListeners(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{
		Name:      "q1",
		User:      "alice",
		Password:  "p@ss word",
		Websocket: true,
		Cluster:   &natsserver.ClusterListener{Name: "solo"},
	})
	for name, get := range map[string]func() (string, error){
		"monitoring": s.MonitoringURL, "websocket": s.WebsocketURL, "cluster": s.ClusterURL,
	} {
		url, err := get()
		if err != nil || !strings.Contains(url, "127.0.0.1:") {
			t.Fatalf("%s URL %q, %v", name, url, err)
		}
	}
	for name, get := range map[string]func() (int, error){
		"monitoring": s.MonitoringPort, "websocket": s.WebsocketPort, "cluster": s.ClusterPort,
	} {
		if port, err := get(); err != nil || port <= 0 || port == s.ClientPort() {
			t.Fatalf("%s port %d, %v", name, port, err)
		}
	}
	if bin, err := s.Binary(); err != nil || !strings.Contains(filepath.Base(bin), "nats-server") {
		t.Fatalf("binary %q, %v", bin, err)
	}
	if opts, err := s.OptionsJSON(); err != nil || !strings.Contains(opts, `"name":"q1"`) || !strings.Contains(opts, `"monitoring":true`) {
		t.Fatalf("options %s, %v", opts, err)
	}
	if tls, err := s.TLSRequired(); err != nil || tls {
		t.Fatalf("tls required %v, %v", tls, err)
	}
	pid, _ := s.PID()
	if last, err := s.LastPID(); err != nil || last != pid || pid == 0 {
		t.Fatalf("last pid %d (pid %d), %v", last, pid, err)
	}
	url, err := s.ClientURLWith("alice", "p@ss word")
	if err != nil {
		t.Fatal(err)
	}
	pubSub(t, url)
	if _, err := nats.Connect(s.ClientURL(), nats.Timeout(2*time.Second)); err == nil {
		t.Fatal("connected without credentials")
	}

	varz, err := s.Monitor("varz")
	if err != nil || varz["server_name"] != "q1" {
		t.Fatalf("varz server_name %v, %v", varz["server_name"], err)
	}
	code, body, err := s.MonitorStatus("/healthz")
	if err != nil || code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("healthz %d %q %v", code, body, err)
	}
	code, _, err = s.MonitorStatus("no-such-endpoint")
	if err != nil || code != 404 {
		t.Fatalf("unknown endpoint: %d, %v", code, err)
	}
	_, err = s.Monitor("no-such-endpoint")
	wantErr(t, err, natsserver.ErrMonitoring)

	info, err := s.Info()
	id, _ := s.ServerID()
	if err != nil || info["server_id"] != id || info["server_name"] != "q1" {
		t.Fatalf("info %v, %v", info, err)
	}
	version, err := s.Version()
	if err != nil || version == "" || info["version"] != version {
		t.Fatalf("version %q, %v", version, err)
	}
	if pid, err := s.PID(); err != nil || pid <= 0 {
		t.Fatalf("pid %d, %v", pid, err)
	}
	if tail, err := s.LogTail(20); err != nil || !strings.Contains(tail, "Server is ready") {
		t.Fatalf("log tail %q, %v", tail, err)
	}
	for _, p := range []string{s.Dir(), s.LogPath()} {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(s.StoreDir(), s.Dir()) {
		t.Fatalf("store %s is not in %s", s.StoreDir(), s.Dir())
	}

	tok := natsserver.RunT(t, natsserver.Options{Token: "s3cr3t/+", Monitoring: natsserver.Bool(false)})
	url, err = tok.ClientURLWithToken("s3cr3t/+")
	if err != nil {
		t.Fatal(err)
	}
	pubSub(t, url)
	_, err = tok.MonitoringURL()
	wantErr(t, err, natsserver.ErrUnavailable)
	_, err = tok.MonitoringPort()
	wantErr(t, err, natsserver.ErrUnavailable)
	_, err = tok.WebsocketURL()
	wantErr(t, err, natsserver.ErrUnavailable)
	_, err = tok.ClusterPort()
	wantErr(t, err, natsserver.ErrUnavailable)
	_, err = tok.Monitor("varz")
	wantErr(t, err, natsserver.ErrMonitoring, "monitoring")
}

func TestCloseIsIdempotentAndFinal(t *testing.T) {
	t.Parallel()
	s, err := natsserver.Run(natsserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.Dir()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the directory %s is still there: %v", dir, err)
	}
	wantErr(t, s.Restart(), natsserver.ErrClosed, "Restart")
	_, err = s.PID()
	wantErr(t, err, natsserver.ErrClosed)
	_, err = s.Monitor("varz")
	wantErr(t, err, natsserver.ErrClosed)
	if s.IsRunning() || s.IsPaused() {
		t.Fatal("a closed server runs")
	}
	var e *natsserver.Error
	if errors.As(s.Stop(), &e) {
		t.Fatalf("ErrClosed is not a library *Error: %v", e)
	}
}

// Many goroutines query and control one server while it restarts and then closes: every call answers either
// normally, ErrNotRunning (caught between stop and start) or ErrClosed; the race detector watches.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s, err := natsserver.Run(natsserver.Options{JetStream: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch (g + i) % 5 {
				case 0:
					_, err = s.PID()
				case 1:
					_, err = s.ServerID()
				case 2:
					_, err = s.LogTail(5)
				case 3:
					_, err = s.MonitoringURL()
				case 4:
					_ = s.IsRunning()
					_ = s.ClientURL()
				}
				if err != nil && !errors.Is(err, natsserver.ErrNotRunning) && !errors.Is(err, natsserver.ErrClosed) {
					errs <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		}(g)
	}
	for i := 0; i < 2; i++ {
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	pubSub(t, s.ClientURL())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // some calls meet the closed server
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected error from a concurrent call: %v", err)
	}
}

// The helpers used from parallel subtests: every server gets its own ports and directory.
func TestParallelSubtests(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ports := map[int]string{}
	for i := 0; i < 6; i++ {
		t.Run("server", func(t *testing.T) {
			t.Parallel()
			s := natsserver.RunT(t, natsserver.Options{JetStream: i%2 == 0})
			mu.Lock()
			if other, dup := ports[s.ClientPort()]; dup {
				mu.Unlock()
				t.Fatalf("port %d is used by %s too", s.ClientPort(), other)
			}
			ports[s.ClientPort()] = t.Name()
			mu.Unlock()
			pubSub(t, s.ClientURL())
		})
	}
}
