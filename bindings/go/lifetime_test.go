package natsserver_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-server-harness/nats-server/bindings/go"
)

// A Server dropped without Close is stopped by the runtime cleanup, the safety net.
func TestLeakedServerIsFreedByTheCleanup(t *testing.T) {
	t.Parallel()
	pid, dir := func() (int, string) {
		s, err := natsserver.Run(natsserver.Options{Keep: natsserver.KeepNever})
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := s.PID()
		return pid, s.Dir()
	}()
	eventually(t, 10*time.Second, "the leaked server still runs", func() bool {
		runtime.GC()
		return !alive(pid) && !exists(dir)
	})
}

// The test process dies by SIGKILL, with no chance to clean up: its servers die with it. (The library's watchdog
// watches the process, not a thread, so Go moving goroutines between threads does not matter.)
func TestServersDieWithTheTestProcess(t *testing.T) {
	t.Parallel()
	if os.Getenv("NATSSERVER_ORPHAN_CHILD") == "1" {
		t.Skip("runs as the child of itself")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanChild$", "-test.v")
	cmd.Env = append(os.Environ(), "NATSSERVER_ORPHAN_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var pids []int
	scanner := bufio.NewScanner(out)
	for len(pids) < 2 && scanner.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(scanner.Text()), "server pid "); ok {
			pid, _ := strconv.Atoi(rest)
			pids = append(pids, pid)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("the child did not report its servers: %v", pids)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// A second is the promise: the kernel closes the dead process's end of the watchdog's socket at once.
	eventually(t, time.Second, fmt.Sprintf("servers %v outlived their SIGKILLed test process by a second", pids), func() bool {
		return !alive(pids[0]) && !alive(pids[1])
	})
}

// TestOrphanChild is the child of TestServersDieWithTheTestProcess: it starts two servers from different
// goroutines (so, likely, different threads), reports their pids, and waits to be killed.
func TestOrphanChild(t *testing.T) {
	if os.Getenv("NATSSERVER_ORPHAN_CHILD") != "1" {
		t.Skip("only runs as the child of TestServersDieWithTheTestProcess")
	}
	done := make(chan int)
	servers := make(chan *natsserver.Server, 2) // keeps them reachable: no cleanup may stop them
	for i := 0; i < 2; i++ {
		go func() {
			runtime.LockOSThread() // the thread ends with this goroutine
			s, err := natsserver.Run(natsserver.Options{})
			if err != nil {
				fmt.Println("error", err)
				done <- 0
				return
			}
			servers <- s
			pid, _ := s.PID()
			done <- pid
		}()
	}
	for i := 0; i < 2; i++ {
		fmt.Printf("server pid %d\n", <-done)
	}
	time.Sleep(time.Minute)
	runtime.KeepAlive(servers)
}

func alive(pid int) bool {
	// A zombie (reaped by nobody yet) counts as dead: its server no longer runs.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}
