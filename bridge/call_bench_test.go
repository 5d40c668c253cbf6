package bridge

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// benchPeer serves a module with one cheap method over a real loopback
// socket and returns a connected Client; everything stops when b ends.
func benchPeer(b *testing.B) *Client {
	b.Helper()
	logger := slog.New(slog.DiscardHandler)
	m, err := NewModule(ModuleConfig{Abbreviation: "bench"}, logger)
	if err != nil {
		b.Fatal(err)
	}
	err = m.Register(Method{
		Name:       "latestHeight",
		Parameters: []Parameter{{Name: "chainId", Type: "int", Required: true}},
		Handler: func(context.Context, *Call) (any, error) {
			return json.RawMessage(`{"value":123456}`), nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(m)
	c, err := NewClient(ClientConfig{URL: "ws" + strings.TrimPrefix(srv.URL, "http"), FirstDialJitter: -1}, logger)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done //nolint:errcheck // ended by cancel: the wait is what counts
		_ = m.Close()
		srv.Close()
	})
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := c.WaitReady(wctx); err != nil {
		b.Fatalf("client not ready: %v", err)
	}
	return c
}

var benchParams = json.RawMessage(`{"chainId":2}`)

// BenchmarkCall is one call at a time: the round trip's latency (encode,
// loopback write, the module's dispatch, the answer's decode, correlation).
func BenchmarkCall(b *testing.B) {
	c := benchPeer(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Call(ctx, "latestHeight", benchParams); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallParallel is many concurrent calls on one connection, as the
// gateway makes them: its throughput.
func BenchmarkCallParallel(b *testing.B) {
	c := benchPeer(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Call(ctx, "latestHeight", benchParams); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
