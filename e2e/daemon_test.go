package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// daemonStartTimeout bounds a daemon's start: until it answers on its port.
const daemonStartTimeout = 10 * time.Second

// daemon is a server process on a fixed port of 127.0.0.1 that a test kills
// and starts again on the same port, as an operator's restart would:
// redis-server or the simulated node. Its output, across restarts, is in
// the test log when the test fails; t.Cleanup kills it.
type daemon struct {
	// Name names the daemon in the test log.
	Name string
	// Addr is its host:port on 127.0.0.1.
	Addr string

	bin  string
	args []string
	// ready reports nil once the daemon serves.
	ready func(ctx context.Context) error
	logs  *procLog

	mu     sync.Mutex // guards cmd, exited
	cmd    *exec.Cmd
	exited chan struct{}
}

// newDaemon returns a stopped daemon; start runs it. The cleanup that kills
// it is registered here, so it runs after the cleanups of what the test
// starts later (the gateways that use it).
func newDaemon(t *testing.T, name, bin, addr string, args []string, ready func(context.Context) error) *daemon {
	t.Helper()
	d := &daemon{Name: name, Addr: addr, bin: bin, args: args, ready: ready, logs: &procLog{}}
	t.Cleanup(func() {
		d.kill(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", d.Name, d.logs)
		}
	})
	return d
}

// start runs the daemon and waits until it is ready. The port may still be
// held for a moment after a kill: start retries until daemonStartTimeout.
func (d *daemon) start(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(daemonStartTimeout)
	for attempt := 1; ; attempt++ {
		err := d.startOnce(t.Context(), deadline)
		if err == nil {
			return
		}
		if time.Now().After(deadline) || t.Context().Err() != nil {
			t.Fatalf("start %s on %s (attempt %d): %v", d.Name, d.Addr, attempt, err)
		}
		t.Logf("start %s on %s: %v; retrying", d.Name, d.Addr, err)
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *daemon) startOnce(ctx context.Context, deadline time.Time) error {
	cmd := exec.Command(d.bin, d.args...)
	cmd.Env = gatewayEnv()
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	ownGroup(cmd)
	fmt.Fprintf(d.logs, "=== %s %s\n", d.bin, strings.Join(d.args, " "))
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	d.mu.Lock()
	d.cmd, d.exited = cmd, exited
	d.mu.Unlock()

	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := d.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited: %v (last check: %v)", waitErr, err)
		case <-ctx.Done():
			d.kill(nil)
			return fmt.Errorf("not ready: %w", err)
		case <-tick.C:
		}
	}
}

// kill ends the daemon with SIGKILL (its whole process group) and waits for
// it to exit. It does nothing when the daemon is not running.
func (d *daemon) kill(t *testing.T) {
	d.mu.Lock()
	cmd, exited := d.cmd, d.exited
	d.cmd, d.exited = nil, nil
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	if err := killGroup(cmd); err != nil && t != nil {
		t.Logf("kill %s: %v", d.Name, err)
	}
	<-exited
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago, for
// a daemon that must come back on the same port after a restart.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// localAddr is 127.0.0.1:port.
func localAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
