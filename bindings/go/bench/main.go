// Command bench measures spawn-to-ready through the Go binding: Run (a plain server, a JetStream server) and
// Restart (JetStream, same port and store), each over -runs runs after one warm-up. It prints one JSON line per
// case, in the format of the Rust bench (benches/startup.rs), so the figures compare directly:
//
//	{"bench": "go", "case": "plain", "runs": 30, "ms": {"min": 8.1, "median": 9.0, "p90": 10.2, "max": 12.5}}
//
// Run it from bindings/go with NATS_SERVER_BIN set: go run ./bench -runs 30
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

func main() {
	runs := flag.Int("runs", 30, "timed runs per case")
	cases := flag.String("cases", "plain,jetstream,restart,cluster,20", "comma-separated cases to run")
	flag.Parse()
	if *runs < 1 {
		log.Fatal("-runs must be at least 1")
	}
	plain := natsserver.Options{Keep: natsserver.KeepNever}
	js := natsserver.Options{Keep: natsserver.KeepNever, JetStream: true}

	for _, c := range strings.Split(*cases, ",") {
		var ms []float64
		switch strings.TrimSpace(c) {
		case "plain", "jetstream":
			opts, extra := plain, []string(nil)
			if strings.TrimSpace(c) == "jetstream" {
				opts, extra = js, []string{"-js"}
			}
			// Alternates with bare starts made from this process: "bare_inline_go" lines.
			var bare []float64
			ms = measure(*runs, func() float64 {
				bare = append(bare, bareStart(extra))
				return runOnce(opts)
			})
			fmt.Println(strings.Replace(report(strings.TrimSpace(c), bare[1:]), `"bench": "go"`, `"bench": "bare_inline_go"`, 1))
		case "restart":
			s, err := natsserver.Run(js)
			if err != nil {
				log.Fatal(err)
			}
			ms = measure(*runs, func() float64 {
				return timed(func() error { return s.Restart() })
			})
			_ = s.Close()
		case "cluster":
			opts := natsserver.ClusterOptions{Nodes: 3, Server: js}
			ms = measure(max(*runs/3, 3), func() float64 {
				var cl *natsserver.Cluster
				d := timed(func() (err error) {
					cl, err = natsserver.RunCluster(opts)
					return err
				})
				_ = cl.Close()
				return d
			})
		case "20":
			ms = measure(max(*runs/6, 3), func() float64 { return parallel(20, plain) })
		default:
			fmt.Fprintf(os.Stderr, "unknown case %q (plain, jetstream, restart, cluster, 20)\n", c)
			os.Exit(2)
		}
		fmt.Println(report(strings.TrimSpace(c), ms))
	}
}

// bareStart starts nats-server by hand as a careful Go program would (dynamic ports, a private ports file
// directory polled like the harness polls: 50 µs growing to 0.5 ms) and returns the time to its ports file.
func bareStart(extra []string) float64 {
	bin := os.Getenv("NATS_SERVER_BIN")
	if bin == "" {
		bin = "nats-server"
	}
	dir, err := os.MkdirTemp("", "bare-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	args := append([]string{"-a", "127.0.0.1", "-p", "-1", "-m", "-1", "--ports_file_dir", dir,
		"--store_dir", filepath.Join(dir, "js"), "-l", filepath.Join(dir, "log")}, extra...)
	start := time.Now()
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	suffix := fmt.Sprintf("_%d.ports", cmd.Process.Pid)
	for pause := 50 * time.Microsecond; ; pause = min(pause*2, 500*time.Microsecond) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) {
				var ports struct{ Nats []string }
				if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && json.Unmarshal(b, &ports) == nil && len(ports.Nats) > 0 {
					return float64(time.Since(start).Nanoseconds()) / 1e6
				}
			}
		}
		if time.Since(start) > 10*time.Second {
			log.Fatal("the bare nats-server wrote no ports file in 10 s")
		}
		time.Sleep(pause)
	}
}

// parallel starts n servers at once from n goroutines and times until all are ready; Close is not timed.
func parallel(n int, opts natsserver.Options) float64 {
	servers := make([]*natsserver.Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = natsserver.Run(opts)
		}()
	}
	wg.Wait()
	d := float64(time.Since(start).Nanoseconds()) / 1e6
	for i, s := range servers {
		if errs[i] != nil {
			log.Fatal(errs[i])
		}
		_ = s.Close()
	}
	return d
}

// runOnce times Run alone (spawn to ready); Close is not timed.
func runOnce(opts natsserver.Options) float64 {
	var s *natsserver.Server
	d := timed(func() (err error) {
		s, err = natsserver.Run(opts)
		return err
	})
	_ = s.Close()
	return d
}

func timed(f func() error) float64 {
	start := time.Now()
	if err := f(); err != nil {
		log.Fatal(err)
	}
	return float64(time.Since(start).Nanoseconds()) / 1e6
}

// measure runs f once to warm up (page cache, the library's spawner thread), then runs times.
func measure(runs int, f func() float64) []float64 {
	f()
	ms := make([]float64, runs)
	for i := range ms {
		ms[i] = f()
	}
	return ms
}

// report formats the figures as the Rust bench does: percentiles at the nearest rank of (n-1)*p.
func report(name string, ms []float64) string {
	sort.Float64s(ms)
	at := func(p float64) float64 { return ms[int(float64(len(ms)-1)*p+0.5)] }
	return fmt.Sprintf(`{"bench": "go", "case": "%s", "runs": %d, "ms": {"min": %.2f, "median": %.2f, "p90": %.2f, "max": %.2f}}`,
		name, len(ms), ms[0], at(0.5), at(0.9), ms[len(ms)-1])
}
