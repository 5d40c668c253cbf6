package sse

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// pumpServer serves GET / as a detached stream of the hub's topic "t".
func pumpServer(t *testing.T) (*subscriptions.Hub, string) {
	t.Helper()
	hub := subscriptions.NewHub(subscriptions.Config{Retention: 16}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); _ = hub.Run(ctx) }()
	pump := NewPump(Config{RetryHint: time.Second, WriteTimeout: time.Second, Heartbeat: time.Hour})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := hub.JoinLocal("t", "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if !pump.Detach(w, r, Stream{Member: m}) {
			m.Close()
			http.Error(w, "not detached", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(func() {
		pump.Shutdown()
		srv.Close()
		cancel()
		<-hubDone
	})
	for hub.Publish("t", subscriptions.TypePush, []byte(`0`)) != nil {
		time.Sleep(time.Millisecond) // Run has not started yet
	}
	return hub, strings.TrimPrefix(srv.URL, "http://")
}

// openStream opens a stream and reads up to its first event.
func openStream(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			return c
		}
	}
}

// TestJoinCostsOneStream: a stream that joins a topic others read gets a
// round of its own; the others are not visited.
func TestJoinCostsOneStream(t *testing.T) {
	var delivers atomic.Int64
	testHookDeliver = func() { delivers.Add(1) }
	t.Cleanup(func() { testHookDeliver = nil })
	_, addr := pumpServer(t)
	const others = 100
	for range others {
		openStream(t, addr)
	}
	time.Sleep(50 * time.Millisecond) // the rounds under way end
	delivers.Store(0)
	openStream(t, addr)
	time.Sleep(50 * time.Millisecond)
	// Its own round, and another if its socket's first write made the
	// watcher tell it has room: never the topic's 101 streams.
	if n := delivers.Load(); n > 3 {
		t.Errorf("one stream joined: %d delivers, want 1 or 2 (the topic has %d streams)", n, others+1)
	}
}
