package bridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log's output, written by the client's goroutine and
// read by the test.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records parses the JSON lines written so far.
func (l *lockedBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	text := l.b.String()
	l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewBufferString(text))
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestRetryLog: a peer nothing answers at is logged at WARN at the first
// failed attempt, then each time their count doubles, with the count; the
// other attempts at DEBUG only, never at INFO. The connection that follows
// is logged at INFO with the failed attempts, and its loss at WARN.
func TestRetryLog(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := NewClient(ClientConfig{URL: "ws://" + addr, FirstDialJitter: -1, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	retries := func() int {
		n := 0
		for _, r := range logs.records(t) {
			if r["msg"] == "upstream unreachable; retrying" {
				n++
			}
		}
		return n
	}
	waitFor(t, "20 failed attempts", func() bool { return retries() >= 20 })

	m, err := NewModule(ModuleConfig{Abbreviation: "tm"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(m)
	if srv.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { _ = m.Close(); srv.Close() })
	waitFor(t, "the connection", c.Ready)
	dropConnections(m)
	waitFor(t, "the connection lost and made again", func() bool { return c.Connections() == 2 && c.Ready() })

	var connected, lost, again int
	for _, r := range logs.records(t) {
		level, msg := r["level"], r["msg"]
		switch msg {
		case "upstream unreachable; retrying":
			attempts := int(r["attempts"].(float64))
			want := "DEBUG"
			if attempts&(attempts-1) == 0 {
				want = "WARN"
			}
			if level != want {
				t.Errorf("attempt %d logged at %v, want %s", attempts, level, want)
			}
		case "upstream connected again":
			again++
			if level != "INFO" {
				t.Errorf("%v at %v, want INFO", msg, level)
			}
			if n := r["failed_attempts"].(float64); again == 1 && n < 20 {
				t.Errorf("connected after %v failed attempts, want 20 or more", n)
			}
		case "upstream connection lost; reconnecting":
			lost++
			if level != "WARN" {
				t.Errorf("%v at %v, want WARN", msg, level)
			}
		case "upstream connected":
			connected++
		}
	}
	if connected != 0 || again != 2 || lost != 1 {
		t.Errorf("logged connected %d, connected again %d, lost %d; want 0, 2, 1", connected, again, lost)
	}
}
