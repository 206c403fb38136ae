package natsserver_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// lameDuckClient connects to url and reports on told once the server says it entered lame duck mode.
func lameDuckClient(t *testing.T, url string) (*nats.Conn, chan struct{}) {
	told := make(chan struct{}, 1)
	nc := connect(t, url, nats.NoReconnect(), nats.LameDuckModeHandler(func(*nats.Conn) {
		select {
		case told <- struct{}{}:
		default:
		}
	}))
	return nc, told
}

func TestStopTimeoutBoundsALameDuckServerWithAClient(t *testing.T) {
	s := natsserver.RunT(t, natsserver.Options{Config: `lame_duck_grace_period: "20s"`})
	_, told := lameDuckClient(t, s.ClientURL())
	if err := s.LameDuck(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-told:
	case <-time.After(5 * time.Second):
		t.Fatal("the client was never told about lame duck mode")
	}
	started := time.Now()
	if err := s.StopTimeout(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	took := time.Since(started)
	t.Logf("StopTimeout(500ms) on a lame-duck server with a client took %v", took)
	if took > 3*time.Second {
		t.Fatalf("took %v", took)
	}
	if s.IsRunning() {
		t.Fatal("IsRunning() after StopTimeout")
	}
	pid, err := s.LastPID()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Fatalf("pid %d is still there", pid)
	}
}

func TestClusterNodesStopInParallel(t *testing.T) {
	c := natsserver.RunClusterT(t, natsserver.ClusterOptions{
		Nodes:  4,
		Server: natsserver.Options{Config: `lame_duck_grace_period: "20s"`},
	})
	for i, url := range c.ClientURLs() {
		_, told := lameDuckClient(t, url)
		if err := c.LameDuckNode(i); err != nil {
			t.Fatal(err)
		}
		<-told
	}
	started := time.Now()
	if err := c.StopNodeTimeout(0, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	one := time.Since(started)
	started = time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := 1; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = c.StopNodeTimeout(i, 300*time.Millisecond)
		}(i)
	}
	wg.Wait()
	three := time.Since(started)
	t.Logf("one lame-duck node stopped in %v; three from three goroutines in %v", one, three)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if three >= 2*one {
		t.Fatalf("one %v, three at once %v", one, three)
	}
}

func TestSpawnThenWaitReadyBehavesLikeRun(t *testing.T) {
	var servers []*natsserver.Server
	for i := 0; i < 3; i++ {
		s, err := natsserver.Spawn(natsserver.Options{Keep: natsserver.KeepNever})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		servers = append(servers, s)
	}
	for _, s := range servers {
		if err := s.WaitReady(); err != nil {
			t.Fatal(err)
		}
		pubSub(t, s.ClientURL())
		host, err := s.Host()
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("Host() = %q, %v", host, err)
		}
	}
	bad, err := natsserver.Spawn(natsserver.Options{Config: "no_such_field: 1"})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	wantErr(t, bad.WaitReady(), natsserver.ErrConfig, "no_such_field")
}

func TestConfigFileChoosesPortsAndArgsThatFightAreRefused(t *testing.T) {
	free := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	port := free()
	conf := filepath.Join(t.TempDir(), "port.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port: %d\n", port)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := natsserver.RunT(t, natsserver.Options{ConfigFile: conf})
	if s.ClientPort() != port {
		t.Fatalf("client port %d, the config file says %d", s.ClientPort(), port)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	pubSub(t, s.ClientURL())
	_, err := natsserver.Run(natsserver.Options{Args: []string{"-c", conf}})
	wantErr(t, err, natsserver.ErrInvalidOptions, "config_file")
	if !strings.Contains(err.Error(), `"-c"`) {
		t.Fatalf("the error does not name the argument: %v", err)
	}
}
