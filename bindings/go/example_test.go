package natsserver_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// Start a server, connect with nats.go, publish and receive.
func ExampleRun() {
	s, err := natsserver.Run(natsserver.Options{})
	if err != nil {
		log.Fatal(err) // the message quotes the server, e.g. a config error
	}
	defer s.Close()

	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	sub, _ := nc.SubscribeSync("greet")
	_ = nc.Publish("greet", []byte("hello"))
	msg, err := sub.NextMsg(time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(msg.Data))
	// Output: hello
}

// In a test, RunT fails the test when the server cannot start and closes it when the test ends; a failed test
// keeps the server's directory and logs its log tail. (The body of TestOrders is the example; it is not run here.)
func ExampleRunT() {
	TestOrders := func(t *testing.T) {
		t.Parallel() // every server has its own ports and directory
		s := natsserver.RunT(t, natsserver.Options{JetStream: true})
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		// ... the code under test talks to nc; s.Restart(), s.Kill(), s.Pause() inject faults ...
	}
	_ = TestOrders
}

// JetStream data survives a restart: the server comes back on the same port with the same store, and the client
// reconnects by itself.
func ExampleServer_Restart() {
	s, err := natsserver.Run(natsserver.Options{JetStream: true})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		log.Fatal(err)
	}
	if _, err := js.Publish(ctx, "orders.new", []byte("one")); err != nil {
		log.Fatal(err)
	}

	if err := s.Restart(); err != nil {
		log.Fatal(err)
	}

	stream, err := js.Stream(ctx, "ORDERS") // waits for the reconnect
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("messages after the restart:", stream.CachedInfo().State.Msgs)
	// Output: messages after the restart: 1
}

// A JetStream cluster is ready when RunCluster returns: an R3 stream is created on the first try.
func ExampleRunCluster() {
	c, err := natsserver.RunCluster(natsserver.ClusterOptions{Nodes: 3, Server: natsserver.Options{JetStream: true}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	nc, err := nats.Connect(strings.Join(c.ClientURLs(), ",")) // every node's URL, for failover
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Replicas: 3})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replicas:", stream.CachedInfo().Config.Replicas)

	// Faults by node index: a crash, then the node rejoins (StartNode waits for the cluster to be ready).
	if err := c.KillNode(2); err != nil {
		log.Fatal(err)
	}
	fmt.Println("node 2 running:", c.Nodes()[2].IsRunning())
	if err := c.StartNode(2); err != nil {
		log.Fatal(err)
	}
	fmt.Println("node 2 running:", c.Nodes()[2].IsRunning())
	// Output:
	// replicas: 3
	// node 2 running: false
	// node 2 running: true
}

// Errors match sentinels with errors.Is, and their message says what went wrong in the server's words.
func ExampleError() {
	_, err := natsserver.Run(natsserver.Options{Config: "max_payload: [\n"})
	fmt.Println(errors.Is(err, natsserver.ErrConfig))

	_, err = natsserver.Run(natsserver.Options{Binary: "/no/such/nats-server"})
	fmt.Println(errors.Is(err, natsserver.ErrBinaryNotFound))

	_, err = natsserver.RunJSON(`{"jetstreem": true}`) // the message names the unknown field
	var e *natsserver.Error
	fmt.Println(errors.Is(err, natsserver.ErrInvalidOptions), errors.As(err, &e), e.Status)
	// Output:
	// true
	// true
	// true true NATS_SERVER_INVALID_OPTIONS
}

// Monitoring endpoints, decoded.
func ExampleServer_Monitor() {
	s, err := natsserver.Run(natsserver.Options{Name: "example"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	varz, err := s.Monitor("varz")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(varz["server_name"])
	// Output: example
}

// Faults: a hung server (paused), then a lame duck that closes its clients and leaves.
func ExampleServer_Pause() {
	// In lame duck mode the server waits lame_duck_grace_period (default 10 s) before closing its clients.
	s, err := natsserver.Run(natsserver.Options{Config: "lame_duck_grace_period: 100ms"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	nc, _ := nats.Connect(s.ClientURL())
	defer nc.Close()

	_ = s.Pause() // SIGSTOP: the sockets stay open, nothing answers
	fmt.Println("paused:", s.IsPaused(), "running:", s.IsRunning())
	_ = s.Resume()
	fmt.Println("answers after resume:", nc.FlushTimeout(time.Second) == nil)

	_ = s.LameDuck()
	_, err = s.WaitExit(5 * time.Second)
	fmt.Println("exited:", err == nil, "running:", s.IsRunning())
	// Output:
	// paused: true running: true
	// answers after resume: true
	// exited: true running: false
}

// The same options as JSON, as every front end of the harness takes them.
func ExampleRunJSON() {
	s, err := natsserver.RunJSON(`{"jetstream": true, "name": "from-json"}`)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	info, _ := s.Info()
	fmt.Println(info["server_name"], info["jetstream"])
	// Output: from-json true
}
