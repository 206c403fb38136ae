package natsserver_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

func proxiedServer(t *testing.T, config string) (*natsserver.Server, string) {
	t.Helper()
	s := natsserver.RunT(t, natsserver.Options{ClientProxy: true, Config: config})
	url, err := s.ProxiedURL()
	if err != nil {
		t.Fatal(err)
	}
	if url == s.ClientURL() {
		t.Fatalf("the proxied URL is the direct one: %s", url)
	}
	return s, url
}

func latency(stream string, ms int) natsserver.Fault {
	return natsserver.Fault{Type: "latency", Stream: stream, Attributes: map[string]any{"latency": ms}}
}

func TestReconnectAfterResetPeerKeepsTheSubscription(t *testing.T) {
	t.Parallel()
	s, url := proxiedServer(t, "")
	disconnected, reconnected := make(chan struct{}, 16), make(chan struct{}, 16)
	nc := connect(t, url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { disconnected <- struct{}{} }),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	sub, err := nc.SubscribeSync("after.reset")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFault(natsserver.Fault{Type: "reset_peer", Attributes: map[string]any{"timeout": 0}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-disconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no disconnect after reset_peer")
	}
	if err := s.RemoveFault(""); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no reconnect once the fault was removed")
	}
	publisher := connect(t, s.ClientURL())
	for i := 0; ; i++ { // the resubscription may still be on its way
		if err := publisher.Publish("after.reset", []byte("again")); err != nil {
			t.Fatal(err)
		}
		_ = publisher.Flush()
		if msg, err := sub.NextMsg(100 * time.Millisecond); err == nil {
			if string(msg.Data) != "again" {
				t.Fatalf("got %q", msg.Data)
			}
			return
		}
		if i > 100 {
			t.Fatal("the subscription receives nothing after the reconnect")
		}
	}
}

func TestRequestUnderLatencyTakesTheAddedTime(t *testing.T) {
	t.Parallel()
	s, url := proxiedServer(t, "")
	responder := connect(t, s.ClientURL())
	if _, err := responder.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		t.Fatal(err)
	}
	if err := responder.Flush(); err != nil {
		t.Fatal(err)
	}
	nc := connect(t, url)
	for _, stream := range []string{"upstream", "downstream"} {
		if err := s.AddFault(latency(stream, 50)); err != nil {
			t.Fatal(err)
		}
	}
	started := time.Now()
	if _, err := nc.Request("echo", []byte("slow"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(started)
	t.Logf("request with 50 ms latency each way took %v", took)
	if took < 100*time.Millisecond {
		t.Fatalf("took only %v", took)
	}
}

func TestSlowConsumerUnderBandwidthLimitIsReportedByTheServer(t *testing.T) {
	t.Parallel()
	s, url := proxiedServer(t, "max_payload: 64KB\nmax_pending: 256KB\nwrite_deadline: \"500ms\"")
	consumer := connect(t, url, nats.MaxReconnects(0))
	if _, err := consumer.Subscribe("flood", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := consumer.Flush(); err != nil {
		t.Fatal(err)
	}
	bw := natsserver.Fault{Type: "bandwidth", Stream: "downstream", Attributes: map[string]any{"rate": 10}}
	if err := s.AddFault(bw); err != nil {
		t.Fatal(err)
	}
	publisher := connect(t, s.ClientURL())
	payload := make([]byte, 32*1024)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for i := 0; i < 64; i++ {
			_ = publisher.Publish("flood", payload)
		}
		_ = publisher.Flush()
		varz, err := s.Monitor("varz")
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := varz["slow_consumers"].(float64); n > 0 {
			return
		}
	}
	t.Fatal("the server reported no slow consumer")
}

func TestBlackholeIsDetectedByThePingInterval(t *testing.T) {
	t.Parallel()
	s, url := proxiedServer(t, "")
	disconnected := make(chan struct{}, 16)
	connect(t, url, nats.PingInterval(200*time.Millisecond), nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { disconnected <- struct{}{} }))
	for _, stream := range []string{"upstream", "downstream"} {
		f := natsserver.Fault{Type: "timeout", Stream: stream, Attributes: map[string]any{"timeout": 0}}
		if err := s.AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-disconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not notice the blackhole")
	}
}

func TestBadFaultsAndPartitionsAreClearErrors(t *testing.T) {
	t.Parallel()
	s, _ := proxiedServer(t, "")
	wantErr(t, s.AddFault(latency("upstream", -5)), natsserver.ErrInvalidOptions, "cannot be negative")
	wantErr(t, s.AddFault(latency("sideways", 5)), natsserver.ErrInvalidOptions, "sideways")
	wantErr(t, s.RemoveFault("nope"), natsserver.ErrInvalidOptions, "no fault named")
	if err := s.SetLinkUp(false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLinkUp(true); err != nil {
		t.Fatal(err)
	}
	plain := natsserver.RunT(t, natsserver.Options{})
	wantErr(t, plain.AddFault(latency("upstream", 5)), natsserver.ErrInvalidOptions, "client_proxy")

	c := natsserver.RunClusterT(t, natsserver.ClusterOptions{Nodes: 3, RouteProxies: true})
	wantErr(t, c.Partition([]int{0}, []int{1, 9}), natsserver.ErrInvalidArgument, "node index 9")
	wantErr(t, c.Partition([]int{0, 1}, []int{1}), natsserver.ErrInvalidArgument, "more than once")
	wantErr(t, c.AddRouteFault(0, 3, latency("upstream", 1)), natsserver.ErrInvalidArgument, "out of range")
	if err := c.Partition([]int{0}, []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	node0 := mustNode(t, c, 0)
	eventually(t, 10*time.Second, "node 0 loses its routes", func() bool {
		routez, err := node0.Monitor("routez")
		routes, _ := routez["routes"].([]any)
		return err == nil && len(routes) == 0
	})
	if err := c.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.AddRouteFault(0, 1, latency("downstream", 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveRouteFaults(0, 1); err != nil {
		t.Fatal(err)
	}
}

// firstAcross publishes payload on "across" until sub receives a message (interest crosses gateways
// asynchronously) and returns the first one received.
func firstAcross(t *testing.T, pub *nats.Conn, sub *nats.Subscription, payload string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if err := pub.Publish("across", []byte(payload)); err != nil {
			t.Fatal(err)
		}
		if err := pub.Flush(); err != nil {
			t.Fatal(err)
		}
		if m, err := sub.NextMsg(100 * time.Millisecond); err == nil {
			return string(m.Data)
		}
	}
	t.Fatalf("no message crossed the gateways")
	return ""
}

func TestAPartitionOfClustersStopsGatewayTrafficUntilHeal(t *testing.T) {
	t.Parallel()
	sc := natsserver.RunSuperclusterT(t, natsserver.SuperclusterOptions{Clusters: 2, Nodes: 1, GatewayProxies: true})
	west, err := nats.Connect(sc.Node(0, 0).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer west.Close()
	east, err := nats.Connect(sc.Node(1, 0).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer east.Close()
	sub, err := west.SubscribeSync("across")
	if err != nil {
		t.Fatal(err)
	}
	if err := west.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := firstAcross(t, east, sub, "before"); got != "before" {
		t.Fatalf("got %q", got)
	}
	for {
		if _, err := sub.NextMsg(50 * time.Millisecond); err != nil {
			break // drained the copies published while interest crossed
		}
	}
	if err := sc.Partition([]int{0}, []int{1}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the gateways to drop", func() bool {
		for c := 0; c < 2; c++ {
			gatewayz, err := sc.Node(c, 0).Monitor("gatewayz")
			out, _ := gatewayz["outbound_gateways"].(map[string]any)
			if err != nil || len(out) != 0 {
				return false
			}
		}
		return true
	})
	if err := east.Publish("across", []byte("during")); err != nil {
		t.Fatal(err)
	}
	if err := east.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := sc.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := sc.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := firstAcross(t, east, sub, "after"); got != "after" {
		t.Fatalf("a message published during the partition crossed it: got %q first", got)
	}
	wantErr(t, sc.Partition([]int{0}, []int{2}), natsserver.ErrInvalidArgument, "cluster index 2")
	wantErr(t, sc.AddGatewayFault(0, 0, 0, 0, latency("upstream", 1)), natsserver.ErrInvalidArgument, "both nodes")
	if err := sc.AddGatewayFault(0, 0, 1, 0, latency("upstream", 1)); err != nil {
		t.Fatal(err)
	}
	if err := sc.RemoveGatewayFaults(0, 0, 1, 0); err != nil {
		t.Fatal(err)
	}
}

// firstReceived publishes payload on pub until sub gets a message, and returns that message's payload.
func firstReceived(t *testing.T, pub *nats.Conn, sub *nats.Subscription, payload string) string {
	t.Helper()
	for range 200 {
		if err := pub.Publish("across", []byte(payload)); err != nil {
			t.Fatal(err)
		}
		if err := pub.Flush(); err != nil {
			t.Fatal(err)
		}
		if msg, err := sub.NextMsg(100 * time.Millisecond); err == nil {
			return string(msg.Data)
		}
	}
	t.Fatal("nothing crossed the leaf link")
	return ""
}

// A hub's leaf node links through its fault proxy: a cut stops hub<->leaf traffic, restoring brings it back.
func TestLeafNodeLinkCutStopsTrafficUntilRestored(t *testing.T) {
	t.Parallel()
	hub := natsserver.RunT(t, natsserver.Options{LeafNodes: true, LeafNodeProxy: true})
	proxied, err := hub.ProxiedLeafNodeURL()
	if err != nil {
		t.Fatal(err)
	}
	if direct, _ := hub.LeafNodeURL(); direct == proxied {
		t.Fatalf("the proxied leaf node URL is the direct one: %s", proxied)
	}
	leaf := natsserver.RunT(t, natsserver.Options{LeafRemotes: []natsserver.LeafRemote{{URLs: []string{proxied}}}})
	onHub, onLeaf := connect(t, hub.ClientURL()), connect(t, leaf.ClientURL())
	sub, err := onHub.SubscribeSync("across")
	if err != nil {
		t.Fatal(err)
	}
	if err := onHub.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := firstReceived(t, onLeaf, sub, "before"); got != "before" {
		t.Fatalf("got %q", got)
	}
	for { // drain the repeats
		if _, err := sub.NextMsg(50 * time.Millisecond); err != nil {
			break
		}
	}

	if err := hub.SetLeafNodeLinkUp(false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the leaf connection drops", func() bool {
		onHubSide, err1 := hub.LeafConnections()
		onLeafSide, err2 := leaf.LeafConnections()
		return err1 == nil && err2 == nil && onHubSide == 0 && onLeafSide == 0
	})
	if err := onLeaf.Publish("across", []byte("during")); err != nil {
		t.Fatal(err)
	}
	if err := onLeaf.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := hub.SetLeafNodeLinkUp(true); err != nil {
		t.Fatal(err)
	}
	if err := hub.WaitForLeafConnections(1, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := firstReceived(t, onLeaf, sub, "after"); got != "after" {
		t.Fatalf("a message published during the cut crossed it: got %q", got)
	}

	if err := hub.AddLeafNodeFault(latency("upstream", 1)); err != nil {
		t.Fatal(err)
	}
	if err := hub.RemoveLeafNodeFault(""); err != nil {
		t.Fatal(err)
	}
	plain := natsserver.RunT(t, natsserver.Options{})
	if err := plain.SetLeafNodeLinkUp(false); !errors.Is(err, natsserver.ErrInvalidOptions) {
		t.Fatalf("want ErrInvalidOptions, got %v", err)
	}
}
