package natsserver_test

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

func tlsRoundTrip(t *testing.T, nc *nats.Conn) {
	t.Helper()
	sub, err := nc.SubscribeSync("tls.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("tls.go", []byte("secure")); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(5 * time.Second); err != nil || string(msg.Data) != "secure" {
		t.Fatalf("message %v, %v", msg, err)
	}
}

func TestTLSVerifiesAgainstTheGeneratedCA(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{TLS: &natsserver.TLSOptions{}})
	if !strings.HasPrefix(s.ClientURL(), "tls://localhost:") {
		t.Fatalf("client URL %q", s.ClientURL())
	}
	ca, err := s.CAFile()
	if err != nil || !strings.HasPrefix(ca, s.Dir()) {
		t.Fatalf("CA file %q, %v", ca, err)
	}
	cfg, err := s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	tlsRoundTrip(t, connect(t, s.ClientURL(), nats.Secure(cfg)))
	tlsRoundTrip(t, connect(t, s.URL(), nats.Secure(cfg))) // 127.0.0.1 is on the certificate too
	// The system roots do not know the private CA.
	if nc, err := nats.Connect(s.ClientURL(), nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12})); err == nil {
		nc.Close()
		t.Fatal("connected without trusting the CA")
	}
}

func TestMTLSWithAndWithoutAClientCertificate(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{TLS: &natsserver.TLSOptions{Verify: true}})
	key, err := s.ClientKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(key); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("client key %s: %v, %v", key, info.Mode(), err)
	}
	cfg, err := s.TLSConfig()
	if err != nil || len(cfg.Certificates) != 1 {
		t.Fatalf("TLS config %v, %v", cfg, err)
	}
	tlsRoundTrip(t, connect(t, s.ClientURL(), nats.Secure(cfg)))
	without := cfg.Clone()
	without.Certificates = nil
	nc, err := nats.Connect(s.ClientURL(), nats.Secure(without), nats.NoReconnect())
	if err == nil {
		// TLS 1.3: the server's refusal may arrive after the handshake; the first round trip then fails.
		err = nc.FlushTimeout(5 * time.Second)
		nc.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate was let in")
	}
}

func TestTLSHandshakeFirst(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{TLS: &natsserver.TLSOptions{HandshakeFirst: true}})
	cfg, err := s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	tlsRoundTrip(t, connect(t, s.ClientURL(), nats.Secure(cfg), nats.TLSHandshakeFirst()))
}

func TestWebsocketOverTLS(t *testing.T) {
	t.Parallel()
	s := natsserver.RunT(t, natsserver.Options{Websocket: true, TLS: &natsserver.TLSOptions{Websocket: true}})
	url, err := s.WebsocketURL()
	if err != nil || !strings.HasPrefix(url, "wss://") {
		t.Fatalf("websocket URL %q, %v", url, err)
	}
	cfg, err := s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	tlsRoundTrip(t, connect(t, url, nats.Secure(cfg)))
}

func TestTLSClusterFailover(t *testing.T) {
	t.Parallel()
	c := natsserver.RunClusterT(t, natsserver.ClusterOptions{
		Nodes:  3,
		Server: natsserver.Options{TLS: &natsserver.TLSOptions{Routes: true}},
	})
	cfg, err := c.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	reconnected := make(chan struct{}, 1)
	nc := connect(t, c.ClientURL(), nats.Secure(cfg), nats.MaxReconnects(-1),
		nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectHandler(func(*nats.Conn) {
			select {
			case reconnected <- struct{}{}:
			default:
			}
		}))
	tlsRoundTrip(t, nc)
	before := nc.ConnectedUrl()
	victim := -1
	for i, node := range c.Nodes() {
		if node.ClientURL() == before {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("connected to %s, not a node of %v", before, c.ClientURLs())
	}
	if err := c.KillNode(victim); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reconnected:
	case <-time.After(15 * time.Second):
		t.Fatal("no reconnection within 15 s")
	}
	if nc.ConnectedUrl() == before {
		t.Fatalf("still connected to the killed node %s", before)
	}
	tlsRoundTrip(t, nc)
}

func TestBadTLSOptions(t *testing.T) {
	t.Parallel()
	_, err := natsserver.Run(natsserver.Options{TLS: &natsserver.TLSOptions{
		CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"}})
	if !errors.Is(err, natsserver.ErrConfig) || !strings.Contains(err.Error(), "/nonexistent/cert.pem") ||
		!strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
	_, err = natsserver.Run(natsserver.Options{TLS: &natsserver.TLSOptions{Websocket: true}})
	if !errors.Is(err, natsserver.ErrInvalidOptions) || !strings.Contains(err.Error(), "websocket: true") {
		t.Fatalf("websocket TLS without websocket: %v", err)
	}
	donor := natsserver.RunT(t, natsserver.Options{TLS: &natsserver.TLSOptions{}})
	key, err := donor.ClientKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	_, err = natsserver.Run(natsserver.Options{TLS: &natsserver.TLSOptions{
		CertFile: filepath.Join(donor.Dir(), "tls", "server-cert.pem"), KeyFile: key}})
	if !errors.Is(err, natsserver.ErrConfig) || !strings.Contains(err.Error(), "private key does not match public key") {
		t.Fatalf("mismatched key: %v", err)
	}
	plain := natsserver.RunT(t, natsserver.Options{})
	if _, err := plain.CAFile(); !errors.Is(err, natsserver.ErrUnavailable) {
		t.Fatalf("CA file of a plain server: %v", err)
	}
	if _, err := plain.TLSConfig(); !errors.Is(err, natsserver.ErrUnavailable) {
		t.Fatalf("TLS config of a plain server: %v", err)
	}
}

// A message crosses a TLS gateway: every node of both clusters trusts the process's CA (options alone).
func TestTLSSuperclusterGateways(t *testing.T) {
	t.Parallel()
	sc := natsserver.RunSuperclusterT(t, natsserver.SuperclusterOptions{Clusters: 2, Nodes: 1, Server: natsserver.Options{
		TLS: &natsserver.TLSOptions{Gateways: true},
	}})
	a, b := sc.Node(0, 0), sc.Node(1, 0)
	varz, err := b.Monitor("varz")
	if err != nil {
		t.Fatal(err)
	}
	if gw, _ := varz["gateway"].(map[string]any); gw["tls_required"] != true {
		t.Fatalf("gateway TLS not in /varz: %v", varz["gateway"])
	}
	cfgA, err := a.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfgB, err := b.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	sub := connect(t, a.ClientURL(), nats.Secure(cfgA))
	pub := connect(t, b.ClientURL(), nats.Secure(cfgB))
	s, err := sub.SubscribeSync("across.tls.gateway")
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	// Interest crosses the gateway asynchronously: publish until it arrives.
	for i := 0; ; i++ {
		if err := pub.Publish("across.tls.gateway", []byte("over tls")); err != nil {
			t.Fatal(err)
		}
		if msg, err := s.NextMsg(100 * time.Millisecond); err == nil {
			if string(msg.Data) != "over tls" {
				t.Fatalf("got %q", msg.Data)
			}
			return
		}
		if i == 200 {
			t.Fatal("nothing crossed the TLS gateway")
		}
	}
}
