package natsserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// A JetStream cluster is ready when RunClusterT returns: an R3 stream is created on the first try, without
// retries. Then a node that leads neither the meta group nor the stream is killed, the stream keeps taking
// messages, and the node rejoins and catches up.
func TestClusterR3StreamAndNodeRejoin(t *testing.T) {
	t.Parallel()
	c := natsserver.RunClusterT(t, natsserver.ClusterOptions{Nodes: 3, Server: natsserver.Options{JetStream: true}})
	if c.Len() != 3 || !c.JetStream() || c.Name() == "" || len(c.ClientURLs()) != 3 {
		t.Fatalf("len %d, jetstream %v, name %q, urls %v", c.Len(), c.JetStream(), c.Name(), c.ClientURLs())
	}
	if c.ClientURL() != c.ClientURLs()[0] || c.ClientURL() != mustNode(t, c, 0).ClientURL() {
		t.Fatalf("ClientURL %s is not node 0's (%v), as Rust's Cluster::client_url", c.ClientURL(), c.ClientURLs())
	}
	nc := connect(t, strings.Join(c.ClientURLs(), ","), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := timeout(t, 30*time.Second)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
	if err != nil {
		t.Fatalf("creating an R3 stream on a ready cluster: %v", err)
	}
	info := stream.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream cluster info %+v", info.Cluster)
	}
	publishN(t, js, "r3.a", 5)

	meta, err := c.MetaLeader()
	if err != nil || meta < 0 || meta >= c.Len() {
		t.Fatalf("meta leader %d, %v", meta, err)
	}
	if leader, err := c.WaitForLeader(5 * time.Second); err != nil || leader != meta {
		t.Fatalf("WaitForLeader %d, %v; MetaLeader %d", leader, err, meta)
	}
	// The victim leads neither the meta group nor the stream, so no election slows the test down.
	victim := -1
	for i := 0; i < c.Len(); i++ {
		info, err := mustNode(t, c, i).Info()
		if err != nil {
			t.Fatal(err)
		}
		if i != meta && info["server_name"] != stream.CachedInfo().Cluster.Leader {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("no node that leads nothing: meta %d, stream leader %s", meta, info.Cluster.Leader)
	}
	node := mustNode(t, c, victim)
	if err := c.KillNode(victim); err != nil {
		t.Fatal(err)
	}
	if node.IsRunning() {
		t.Fatal("the killed node runs")
	}
	publishN(t, js, "r3.b", 5) // two of three replicas still make a quorum

	if err := c.StartNode(victim); err != nil {
		t.Fatal(err)
	}
	if !node.IsRunning() {
		t.Fatal("the node does not run after StartNode")
	}
	eventually(t, 10*time.Second, "the restarted node did not catch up", func() bool {
		return streamMessages(node, "R3") == 10
	})
	if err := c.WaitReady(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// Node faults on a plain cluster (no JetStream elections, so it is fast): stop, restart, pause, lame duck,
// rolling restart, and the node views.
func TestClusterNodeFaults(t *testing.T) {
	t.Parallel()
	c := natsserver.RunClusterT(t, natsserver.ClusterOptions{
		Nodes:     3,
		NodeNames: []string{"a", "b", "c"},
		// Lame duck mode waits this long before closing clients (default 10 s).
		Server: natsserver.Options{Config: "lame_duck_grace_period: 100ms"},
	})
	for i, url := range c.ClientURLs() {
		if mustNode(t, c, i).ClientURL() != url {
			t.Fatalf("node %d URL %s, cluster says %s", i, mustNode(t, c, i).ClientURL(), url)
		}
		if _, err := mustNode(t, c, i).ClusterURL(); err != nil {
			t.Fatal(err)
		}
	}
	if varz, err := mustNode(t, c, 1).Monitor("varz"); err != nil || varz["server_name"] != "b" {
		t.Fatalf("node 1 varz name %v, %v", varz["server_name"], err)
	}
	_, err := c.MetaLeader()
	wantErr(t, err, natsserver.ErrUnavailable)

	// A message crosses the cluster: subscribe on node 0, publish on node 2.
	sub := connect(t, mustNode(t, c, 0).ClientURL())
	s, err := sub.SubscribeSync("x")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	pub := connect(t, mustNode(t, c, 2).ClientURL())
	eventually(t, 5*time.Second, "no message crossed the cluster", func() bool {
		_ = pub.Publish("x", []byte("hi"))
		_, err := s.NextMsg(50 * time.Millisecond)
		return err == nil
	})

	if err := c.StopNode(1); err != nil {
		t.Fatal(err)
	}
	if mustNode(t, c, 1).IsRunning() {
		t.Fatal("node 1 runs after StopNode")
	}
	if err := c.RestartNode(1); err != nil {
		t.Fatal(err)
	}
	if !mustNode(t, c, 1).IsRunning() {
		t.Fatal("node 1 does not run after RestartNode")
	}

	if err := c.PauseNode(2); err != nil {
		t.Fatal(err)
	}
	if !mustNode(t, c, 2).IsPaused() {
		t.Fatal("node 2 is not paused")
	}
	if err := c.WaitReady(5 * time.Second); err != nil {
		t.Fatalf("readiness leaves paused nodes out: %v", err)
	}
	if err := c.ResumeNode(2); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	if err := c.RollingRestart(); err != nil {
		t.Fatal(err)
	}
	pubSub(t, c.ClientURL())

	if err := c.LameDuckNode(0); err != nil {
		t.Fatal(err)
	}
	if _, err := mustNode(t, c, 0).WaitExit(5 * time.Second); err != nil {
		t.Fatalf("node 0 did not leave in lame duck mode: %v", err)
	}
	if err := c.StartNode(0); err != nil {
		t.Fatal(err)
	}

	// A bad node index is ErrInvalidArgument everywhere, with the library's message; Node never panics.
	wantErr(t, c.KillNode(7), natsserver.ErrInvalidArgument, "node index 7 is out of range")
	wantErr(t, c.KillNode(-1), natsserver.ErrInvalidArgument, "out of range")
	n, err := c.Node(3)
	wantErr(t, err, natsserver.ErrInvalidArgument, "node index 3 is out of range: the cluster has 3 nodes")
	if n != nil {
		t.Fatalf("Node(3) returned a server: %v", n)
	}
	_, err = c.Node(-1)
	wantErr(t, err, natsserver.ErrInvalidArgument, "out of range")

	// A node view is never freed by its Close; the cluster's Close ends every view.
	node := mustNode(t, c, 1)
	if err := node.Close(); err != nil || !node.IsRunning() {
		t.Fatalf("a node view's Close did something: %v, running %v", err, node.IsRunning())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
	wantErr(t, node.Kill(), natsserver.ErrClosed)
	wantErr(t, c.RollingRestart(), natsserver.ErrClosed)
	_, err = c.WaitForLeader(time.Millisecond)
	wantErr(t, err, natsserver.ErrClosed)
	if node.IsRunning() {
		t.Fatal("a node of a closed cluster runs")
	}
}

func TestClusterParallel(t *testing.T) {
	t.Parallel()
	for i := 0; i < 2; i++ {
		t.Run("cluster", func(t *testing.T) {
			t.Parallel()
			c := natsserver.RunClusterT(t, natsserver.ClusterOptions{Nodes: 2})
			pubSub(t, c.ClientURL())
		})
	}
}
