package natsserver_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"github.com/nats-io/nats.go"
)

// harnessBinary is the nats-harness CLI: $NATS_HARNESS_BIN, else the repository's debug build.
func harnessBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("NATS_HARNESS_BIN"); bin != "" {
		return bin
	}
	bin, _ := filepath.Abs("../../target/debug/nats-harness")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no nats-harness binary (%v): run cargo build --bin nats-harness or set NATS_HARNESS_BIN", err)
	}
	return bin
}

// The CLI's proxy API, driven by toxiproxy's own Go client: list, add and remove toxics, disable and reset.
func TestTheToxiproxyClientDrivesTheCLIProxyAPI(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(harnessBinary(t), "run", "--json", "--client-proxy", "--proxy-api", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NATS_SERVER_KEEP=never")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	var report struct {
		ProxiedURLs []string `json:"proxied_urls"`
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(line), &report); err != nil || len(report.ProxiedURLs) != 1 {
		t.Fatalf("report %q: %v", line, err)
	}
	// The API's address is on stderr once it serves.
	var api string
	lines := bufio.NewScanner(stderr)
	for api == "" && lines.Scan() {
		if _, after, ok := strings.Cut(lines.Text(), "proxy API on http://"); ok {
			api = after
		}
	}
	if api == "" {
		t.Fatal("nats-harness never said where the proxy API is")
	}
	go func() { // keep draining stderr so the harness never blocks on it
		for lines.Scan() {
		}
	}()

	client := toxiproxy.NewClient(api)
	proxies, err := client.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	proxy := proxies["client"]
	if proxy == nil || !proxy.Enabled || !strings.HasSuffix(report.ProxiedURLs[0], proxy.Listen) {
		t.Fatalf("proxies %v, report %v", proxies, report)
	}
	if _, err := proxy.AddToxic("slow", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 200}); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	nc, err := nats.Connect(report.ProxiedURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if took := time.Since(started); took < 200*time.Millisecond {
		t.Fatalf("connecting through 200 ms of downstream latency took %v", took)
	}
	if _, err := proxy.AddToxic("slow", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 1}); err == nil {
		t.Fatal("a second toxic with the same name was accepted")
	}
	toxics, err := proxy.Toxics()
	if err != nil || len(toxics) != 1 || toxics[0].Name != "slow" {
		t.Fatalf("toxics %v: %v", toxics, err)
	}
	if err := proxy.RemoveToxic("slow"); err != nil {
		t.Fatal(err)
	}
	if err := proxy.Disable(); err != nil {
		t.Fatal(err)
	}
	if proxy.Enabled {
		t.Fatal("the proxy says it is still enabled")
	}
	if _, err := nats.Connect(report.ProxiedURLs[0], nats.Timeout(time.Second), nats.MaxReconnects(0)); err == nil {
		t.Fatal("a client connected through a disabled proxy")
	}
	if err := client.ResetState(); err != nil {
		t.Fatal(err)
	}
	again, err := client.Proxy("client")
	if err != nil || !again.Enabled || len(again.ActiveToxics) != 0 {
		t.Fatalf("after reset: %+v %v", again, err)
	}
	if _, err := client.Proxy("nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("an unknown proxy: %v", err)
	}
}
