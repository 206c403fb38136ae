package natsserver_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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

// A queue group spread over two clusters gets each message once, and members in both clusters get some.
func TestQueueGroupSpreadOverTwoClustersGetsEachMessageOnce(t *testing.T) {
	t.Parallel()
	sc := natsserver.RunSuperclusterT(t, natsserver.SuperclusterOptions{Clusters: 2, Nodes: 2})
	a := connect(t, sc.Node(0, 0).ClientURL())
	b := connect(t, sc.Node(1, 1).ClientURL())
	qa, err := a.QueueSubscribeSyncWithChan("work", "workers", make(chan *nats.Msg, 400))
	if err != nil {
		t.Fatal(err)
	}
	qb, err := b.QueueSubscribeSyncWithChan("work", "workers", make(chan *nats.Msg, 400))
	if err != nil {
		t.Fatal(err)
	}
	for _, nc := range []*nats.Conn{a, b} {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Publishing while a cluster learns of the other's members can deliver a message in both (nats-server).
	if err := sc.WaitForQueueInterest("work", "workers", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := sc.WaitForQueueInterest("work", "nobody", 200*time.Millisecond); !errors.Is(err, natsserver.ErrTimeout) ||
		!strings.Contains(err.Error(), `"nobody"`) {
		t.Fatalf("a group without members: %v, want a timeout naming it", err)
	}
	const total = 200
	for i := range total {
		nc := a
		if i%2 == 1 {
			nc = b
		}
		if err := nc.Publish("work", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	_ = a.Flush()
	_ = b.Flush()
	seen := make([]int, total)
	from := map[string]int{}
	deadline := time.Now().Add(20 * time.Second)
	for got := 0; got < total; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d messages arrived", got, total)
		}
		for side, sub := range map[string]*nats.Subscription{"a": qa, "b": qb} {
			msg, err := sub.NextMsg(50 * time.Millisecond)
			if err != nil {
				continue
			}
			i, _ := strconv.Atoi(string(msg.Data))
			seen[i]++
			from[side]++
			got++
		}
	}
	// Nothing more arrives: no message was delivered twice.
	for side, sub := range map[string]*nats.Subscription{"a": qa, "b": qb} {
		if msg, err := sub.NextMsg(300 * time.Millisecond); err == nil {
			t.Fatalf("a message was delivered twice: %q again in cluster %s", msg.Data, side)
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("message %d arrived %d times", i, n)
		}
	}
	if from["a"] == 0 || from["b"] == 0 {
		t.Fatalf("both clusters' members get messages: %v", from)
	}
}

// A JetStream stream placed in cluster B (by cluster name) is created from a client of cluster A, and survives
// the kill of one of its nodes.
func TestStreamPlacedInClusterBSurvivesANodeKill(t *testing.T) {
	t.Parallel()
	sc := natsserver.RunSuperclusterT(t, natsserver.SuperclusterOptions{Clusters: 2, Nodes: 3, Server: natsserver.Options{JetStream: true}})
	target := sc.Names()[1]
	js, err := jetstream.New(connect(t, sc.Node(0, 0).ClientURL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := timeout(t, 60*time.Second)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "PLACED", Subjects: []string{"placed.>"}, Replicas: 3, Placement: &jetstream.Placement{Cluster: target},
	})
	if err != nil {
		t.Fatal(err)
	}
	if info := stream.CachedInfo(); info.Cluster == nil || info.Cluster.Name != target {
		t.Fatalf("the stream is placed in %+v, not %s", info.Cluster, target)
	}
	for i := range 5 {
		// The stream's interest reaches cluster A over the gateway asynchronously (no responders until then):
		// retry, the message id drops a repeat.
		eventually(t, 30*time.Second, "the stream in cluster B takes a message from cluster A", func() bool {
			attempt, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := js.Publish(attempt, "placed."+strconv.Itoa(i), []byte("x"), jetstream.WithMsgID("before-"+strconv.Itoa(i)))
			return err == nil
		})
	}
	if err := sc.KillNode(1, 0); err != nil {
		t.Fatal(err)
	}
	// Two of three replicas remain: the stream takes a message (and answers) once its leader, and the meta
	// leader if that was the killed node, are elected again.
	var ack *jetstream.PubAck
	var info *jetstream.StreamInfo
	eventually(t, 30*time.Second, "the stream takes a message after the kill", func() bool {
		// Each attempt has its own deadline: the test's context may be spent on a slow start.
		attempt, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ack, err = js.Publish(attempt, "placed.after", []byte("y"), jetstream.WithMsgID("after-kill"))
		if err != nil {
			return false
		}
		info, err = stream.Info(attempt)
		return err == nil
	})
	if ack.Sequence != 6 || info.State.Msgs != 6 {
		t.Fatalf("sequence %d and %d messages after the kill, want 6 and 6", ack.Sequence, info.State.Msgs)
	}
}

// A JetStream domain on a leaf is reachable from the hub with the domain's API prefix, at once when RunLeafOf
// returns and again when WaitForLeaf returns after the hub restarted.
func TestLeafJetStreamDomainAnswersThroughTheHub(t *testing.T) {
	t.Parallel()
	hub := natsserver.RunT(t, natsserver.Options{LeafNodes: true, JetStream: true, JetStreamDomain: "hub"})
	leaf := natsserver.RunLeafOfT(t, hub, natsserver.Options{JetStream: true, JetStreamDomain: "leafdom"})
	domainOf := func() string {
		t.Helper()
		// One request, no retry: ready means the domain answers through the hub now.
		reply, err := connect(t, hub.ClientURL()).Request("$JS.leafdom.API.INFO", nil, 5*time.Second)
		if err != nil {
			t.Fatalf("the leaf's JetStream does not answer through the hub: %v", err)
		}
		var info struct {
			Domain string `json:"domain"`
		}
		if err := json.Unmarshal(reply.Data, &info); err != nil {
			t.Fatal(err)
		}
		return info.Domain
	}
	if d := domainOf(); d != "leafdom" {
		t.Fatalf("domain %q", d)
	}
	js, err := jetstream.NewWithDomain(connect(t, hub.ClientURL()), "leafdom")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(timeout(t, 20*time.Second), jetstream.StreamConfig{Name: "ONLEAF", Subjects: []string{"onleaf"}}); err != nil {
		t.Fatal(err)
	}
	if jsz, err := leaf.Monitor("jsz"); err != nil || jsz["streams"] != float64(1) {
		t.Fatalf("the leaf's /jsz: %v, %v", jsz, err)
	}
	if err := hub.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := hub.WaitForLeaf(leaf, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := domainOf(); d != "leafdom" {
		t.Fatalf("domain %q after the hub restarted", d)
	}
}

// WaitForLeaf refuses a nil leaf by name.
func TestWaitForLeafRefusesANilLeaf(t *testing.T) {
	t.Parallel()
	hub := natsserver.RunT(t, natsserver.Options{LeafNodes: true})
	if err := hub.WaitForLeaf(nil, time.Second); !errors.Is(err, natsserver.ErrInvalidArgument) || !strings.Contains(err.Error(), "the leaf is nil") {
		t.Fatalf("WaitForLeaf(nil): %v", err)
	}
}

// mqttPublish is a raw MQTT 3.1.1 client: CONNECT (clean session), wait for CONNACK, PUBLISH at QoS 0,
// DISCONNECT.
func mqttPublish(t *testing.T, addr, topic string, payload []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	str := func(s string) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...) }
	connect := append([]byte{0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c}, str("go-test")...)
	if _, err := conn.Write(append([]byte{0x10, byte(len(connect))}, connect...)); err != nil {
		t.Fatal(err)
	}
	connack := make([]byte, 4)
	if _, err := io.ReadFull(bufio.NewReader(conn), connack); err != nil || string(connack) != "\x20\x02\x00\x00" {
		t.Fatalf("CONNACK %x, %v", connack, err)
	}
	publish := append(str(topic), payload...)
	packet := append(append([]byte{0x30, byte(len(publish))}, publish...), 0xe0, 0x00)
	if _, err := conn.Write(packet); err != nil {
		t.Fatal(err)
	}
}

// An MQTT client publishes and a NATS subscriber receives it.
func TestMQTTClientReachesANATSSubscriber(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{JetStream: true, MQTT: true})
	url, err := s.MQTTURL()
	if err != nil || !strings.HasPrefix(url, "mqtt://127.0.0.1:") {
		t.Fatalf("MQTT URL %q, %v", url, err)
	}
	nc := connect(t, s.ClientURL())
	sub, err := nc.SubscribeSync("sensors.temp")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	mqttPublish(t, strings.TrimPrefix(url, "mqtt://"), "sensors/temp", []byte("21.5"))
	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil || string(msg.Data) != "21.5" {
		t.Fatalf("the NATS subscriber got %v, %v", msg, err)
	}
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
