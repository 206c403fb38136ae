package natsserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// connect opens a nats.go connection closed at the end of the test.
func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{nats.Timeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// context with a deadline, cancelled at the end of the test.
func timeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 20 ms until it is true or d is over.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pubSub checks a round trip through the server at url.
func pubSub(t testing.TB, url string) {
	t.Helper()
	nc := connect(t, url)
	sub, err := nc.SubscribeSync("greet.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("greet.joe", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no message from %s: %v", url, err)
	}
	if string(msg.Data) != "hello" || msg.Subject != "greet.joe" {
		t.Fatalf("got %q on %q", msg.Data, msg.Subject)
	}
}

// wantErr checks that err matches the sentinel and that its message holds every fragment.
func wantErr(t testing.TB, err, sentinel error, fragments ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("want %v, got %v", sentinel, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("the error does not mention %q: %v", f, err)
		}
	}
}

// streamMessages is the message count of a stream as the server at s sees it in /jsz (its own replica).
func streamMessages(s *natsserver.Server, stream string) uint64 {
	var jsz struct {
		AccountDetails []struct {
			Streams []struct {
				Name  string `json:"name"`
				State struct {
					Msgs uint64 `json:"messages"`
				} `json:"state"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	text, err := s.MonitorJSON("jsz?accounts=true&streams=true")
	if err != nil {
		return 0
	}
	if err := json.Unmarshal([]byte(text), &jsz); err != nil {
		return 0
	}
	for _, a := range jsz.AccountDetails {
		for _, st := range a.Streams {
			if st.Name == stream {
				return st.State.Msgs
			}
		}
	}
	return 0
}

// publishN publishes n messages to subject through JetStream, as a careful producer does across node faults:
// each message carries a message id (the stream drops a duplicate), and an attempt that gets no acknowledgement
// within a second is sent again. A message written to a connection whose server was just killed is lost before
// the client notices; only the acknowledgement proves it was stored.
func publishN(t testing.TB, js jetstream.JetStream, subject string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%d", subject, i)
		for attempt := 1; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := js.Publish(ctx, subject, []byte("m"), jetstream.WithMsgID(id))
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("publish %d to %s, attempt %d: %v", i, subject, attempt, err)
			}
			t.Logf("publish %d to %s, attempt %d: %v; sending again", i, subject, attempt, err)
		}
	}
}

// assertStopped checks, right away, that every thread of the server's process is stopped: Pause returns only
// once the kernel has stopped them all (signals land asynchronously; without that wait a paused server could
// still answer a PING some 100 µs after Pause).
func assertStopped(t testing.TB, s *natsserver.Server) {
	t.Helper()
	pid, err := s.PID()
	if err != nil {
		t.Fatal(err)
	}
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if len(stats) == 0 {
		t.Fatalf("no threads found for pid %d", pid)
	}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread is gone
		}
		// The state follows the parenthesised command name: "pid (comm) S ...".
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
			t.Fatalf("Pause returned while a thread of pid %d still runs: %s", pid, b)
		}
	}
}

// mustNode is c.Node(i) for a test: a bad index fails the test at once.
func mustNode(t testing.TB, c *natsserver.Cluster, i int) *natsserver.Server {
	t.Helper()
	n, err := c.Node(i)
	if err != nil {
		t.Fatalf("Node(%d): %v", i, err)
	}
	return n
}
