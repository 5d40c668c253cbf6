package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		cfg   devnode.Config
		level slog.Level
		lag   int
		// control is the --control address.
		control string
		err     bool
	}{
		{name: "defaults", cfg: devnode.Config{Listen: "127.0.0.1:7771", BlockInterval: time.Second, ChainID: 2}},
		{
			name:  "all flags",
			args:  []string{"--listen", "0.0.0.0:9000", "--block-interval", "250ms", "--chain-id", "1", "--strict", "--log-level", "debug"},
			cfg:   devnode.Config{Listen: "0.0.0.0:9000", BlockInterval: 250 * time.Millisecond, ChainID: 1, Strict: true},
			level: slog.LevelDebug,
		},
		{
			name: "follower",
			args: []string{"--follow", "ws://127.0.0.1:7770", "--lag", "3", "--control", "127.0.0.1:0"},
			cfg:  devnode.Config{Listen: "127.0.0.1:7771", BlockInterval: time.Second, ChainID: 2, Follow: "ws://127.0.0.1:7770"},
			lag:  3, control: "127.0.0.1:0",
		},
		{name: "lag without a leader", args: []string{"--lag", "3"}, err: true},
		{name: "negative lag", args: []string{"--follow", "ws://127.0.0.1:7770", "--lag=-1"}, err: true},
		{name: "no blocks", args: []string{"--block-interval=-1s"}, cfg: devnode.Config{Listen: "127.0.0.1:7771", BlockInterval: -time.Second, ChainID: 2}},
		{name: "zero interval", args: []string{"--block-interval", "0"}, err: true},
		{name: "bad level", args: []string{"--log-level", "loud"}, err: true},
		{name: "unknown flag", args: []string{"--nope"}, err: true},
		{name: "stray argument", args: []string{"extra"}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, opts, err := parseFlags(tt.args, &bytes.Buffer{})
			if tt.err {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.cfg, cfg, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Now" }, cmp.Ignore())); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if opts.level != tt.level || opts.lag != tt.lag || opts.control != tt.control {
				t.Errorf("options %+v", opts)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"--help"}, &out); err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"-listen", "127.0.0.1:7771", "-block-interval", "1s", "-strict", "-log-level", "-chain-id"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRun starts the node and stops it with the context.
func TestRun(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--block-interval", "10ms"}, &out) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "devnode running") {
		if time.Now().After(deadline) {
			t.Fatalf("not running:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return")
	}
	if !strings.Contains(out.String(), "genesis account") || !strings.Contains(out.String(), "devnode stopped") {
		t.Errorf("logs:\n%s", out.String())
	}
}

func TestRunFails(t *testing.T) {
	t.Parallel()
	if err := run(t.Context(), []string{"--listen", "nonsense"}, &bytes.Buffer{}); err == nil {
		t.Error("run accepted a bad listen address")
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
