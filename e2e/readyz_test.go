//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// signal sends sig to the daemon's process group (SIGSTOP freezes it: its
// sockets stay open, and nothing answers). Linux only, like killGroup.
func (d *daemon) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	d.mu.Lock()
	cmd := d.cmd
	d.mu.Unlock()
	if cmd == nil {
		t.Fatalf("%s is not running", d.Name)
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		t.Fatalf("signal %v to %s: %v", sig, d.Name, err)
	}
}

// TestReadyzWedged freezes the node (SIGSTOP) under a gateway that streams
// a period=1 subscription: the connection stays open, so the upstream
// check passes, but the subscription stops delivering. /readyz must fail
// within 10 s, naming the stream, and recover once the node goes on.
func TestReadyzWedged(t *testing.T) {
	t.Parallel()
	node := startDevnode(t, "--block-interval", blockInterval.String())
	g := startGateway(t, "--upstream", node.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := openSSE(ctx, g.URL+"/rpc/latestHeight/stream?chainId=2&period=1", "")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range s.Events() {
		}
	}()
	if err := waitFor(t.Context(), 10*time.Second, func(ctx context.Context) error {
		status, check, err := readiness(ctx, g.URL, "streams")
		if err != nil || status != http.StatusOK || check != "ok" {
			return fmt.Errorf("/readyz %d, streams %q, %v", status, check, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("before the freeze: %v", err)
	}

	node.signal(t, syscall.SIGSTOP)
	frozen := time.Now()
	defer node.signal(t, syscall.SIGCONT) // so that the cleanup can end it
	var check string
	if err := waitFor(t.Context(), 10*time.Second, func(ctx context.Context) error {
		status, c, err := readiness(ctx, g.URL, "streams")
		if err != nil {
			return err
		}
		if status != http.StatusServiceUnavailable || !strings.Contains(c, "latestHeight") {
			return fmt.Errorf("/readyz %d, streams %q", status, c)
		}
		check = c
		return nil
	}); err != nil {
		t.Fatalf("with the node frozen: %v, want a 503 naming latestHeight within 10 s", err)
	}
	t.Logf("/readyz failed %v after the node froze: %q", time.Since(frozen).Round(100*time.Millisecond), check)
	if status, up, _ := readiness(t.Context(), g.URL, "upstream"); up != "ok" {
		t.Logf("(the upstream check said %q, %d, too)", up, status)
	}

	node.signal(t, syscall.SIGCONT)
	if err := waitFor(t.Context(), 10*time.Second, func(ctx context.Context) error {
		status, c, err := readiness(ctx, g.URL, "streams")
		if err != nil || status != http.StatusOK || c != "ok" {
			return fmt.Errorf("/readyz %d, streams %q, %v", status, c, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("after the node went on: %v", err)
	}
}
