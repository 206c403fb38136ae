package natsserver_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// publishUntilReceived publishes on pub until sub gets the message: interest crosses gateways and leaf
// connections asynchronously.
func publishUntilReceived(t *testing.T, pub *nats.Conn, sub *nats.Subscription, subject string) {
	t.Helper()
	for range 200 {
		if err := pub.Publish(subject, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if err := pub.Flush(); err != nil {
			t.Fatal(err)
		}
		if msg, err := sub.NextMsg(100 * time.Millisecond); err == nil {
			if string(msg.Data) != "hello" {
				t.Fatalf("got %q", msg.Data)
			}
			return
		}
	}
	t.Fatalf("nothing arrived on %s", subject)
}

// A subscriber in cluster A receives a message published in cluster B; a restarted node is back in the
// supercluster when RestartNode returns.
func TestSuperclusterMessageCrossesTheGateway(t *testing.T) {
	t.Parallel()
	sc := natsserver.RunSuperclusterT(t, natsserver.SuperclusterOptions{Clusters: 2, Nodes: 2, Names: []string{"east", "west"}})
	if sc.Len() != 2 || strings.Join(sc.Names(), ",") != "east,west" || len(sc.ClientURLs()[1]) != 2 {
		t.Fatalf("len %d, names %v, urls %v", sc.Len(), sc.Names(), sc.ClientURLs())
	}
	gw, err := sc.Node(1, 0).GatewayURL()
	if err != nil || !strings.HasPrefix(gw, "nats://127.0.0.1:") {
		t.Fatalf("gateway URL %q, %v", gw, err)
	}
	if err := sc.RestartNode(1, 0); err != nil {
		t.Fatal(err)
	}
	if err := sc.KillNode(0, 7); !errors.Is(err, natsserver.ErrInvalidArgument) {
		t.Fatalf("a node index out of range: %v", err)
	}
	a := connect(t, sc.Node(0, 1).ClientURL())
	b := connect(t, sc.Node(1, 0).ClientURL())
	sub, err := a.SubscribeSync("across")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	publishUntilReceived(t, b, sub, "across")
}

// A message published on a leaf reaches a subscriber on the hub and back; after the hub restarts the leaf
// reconnects and messages flow again.
func TestLeafRoundTripAndHubRestart(t *testing.T) {
	t.Parallel()
	hub := natsserver.RunT(t, natsserver.Options{LeafNodes: true})
	leaf := natsserver.RunLeafOfT(t, hub, natsserver.Options{})
	if n, err := hub.LeafConnections(); err != nil || n != 1 {
		t.Fatalf("hub leaf connections %d, %v", n, err)
	}
	onHub := connect(t, hub.ClientURL())
	onLeaf := connect(t, leaf.ClientURL())
	up, _ := onHub.SubscribeSync("up")
	_ = onHub.Flush()
	publishUntilReceived(t, onLeaf, up, "up")
	down, _ := onLeaf.SubscribeSync("down")
	_ = onLeaf.Flush()
	publishUntilReceived(t, onHub, down, "down")

	if err := hub.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := hub.WaitForLeafConnections(1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	again := connect(t, hub.ClientURL())
	sub, _ := again.SubscribeSync("again")
	_ = again.Flush()
	publishUntilReceived(t, onLeaf, sub, "again")
}

// Bad shapes fail by name, with nothing left running.
func TestBadTopologiesFailByName(t *testing.T) {
	t.Parallel()
	_, err := natsserver.RunSuperclusterJSON(`{"clusters": 0}`)
	if !errors.Is(err, natsserver.ErrInvalidOptions) || !strings.Contains(err.Error(), "`clusters` must be at least 1") {
		t.Fatalf("0 clusters: %v", err)
	}
	_, err = natsserver.RunSupercluster(natsserver.SuperclusterOptions{Server: natsserver.Options{Config: "gateway {\n name: x\n}\n"}})
	if !errors.Is(err, natsserver.ErrInvalidOptions) || !strings.Contains(err.Error(), "sets a `gateway` block") {
		t.Fatalf("conflicting gateway block: %v", err)
	}
	hub := natsserver.RunT(t, natsserver.Options{LeafNodes: true})
	url, err := hub.LeafNodeURL()
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Stop(); err != nil {
		t.Fatal(err)
	}
	_, err = natsserver.Run(natsserver.Options{LeafRemotes: []natsserver.LeafRemote{{URLs: []string{url}}}})
	if !errors.Is(err, natsserver.ErrConfig) || !strings.Contains(err.Error(), "cannot reach its hub") {
		t.Fatalf("a leaf whose hub is gone: %v", err)
	}
}
