package devnode

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLogger logs to the test output when DEVNODE_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("DEVNODE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// startNode runs a node on free ports until the test ends. Unless cfg says
// otherwise, blocks are made only by ProduceBlock, and the node is strict,
// so that every test also proves that bridge.Client sends only fields a Java
// module knows.
func startNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.BlockInterval == 0 {
		cfg.BlockInterval = -1
	}
	n, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return n
}

func strictNode(t *testing.T) *Node {
	t.Helper()
	return startNode(t, Config{Strict: true})
}

// dial runs a bridge.Client against url until the test ends and waits until
// it is connected.
func dial(t *testing.T, url string) *bridge.Client {
	t.Helper()
	c, err := bridge.NewClient(bridge.ClientConfig{URL: url, FirstDialJitter: -1, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("client Run: %v", err)
		}
	})
	waitReady(t, c)
	return c
}

func waitReady(t *testing.T, c *bridge.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("client of %s not ready: %v", c.URL(), err)
	}
}

// call runs a method that must succeed and returns its result.
func call(t *testing.T, c *bridge.Client, method string, params any) json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	res, err := c.Call(ctx, method, params)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res
}

// callFail runs a method that must fail with an RPC error.
func callFail(t *testing.T, c *bridge.Client, method string, params any) *bridge.RPCError {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	res, err := c.Call(ctx, method, params)
	var re *bridge.RPCError
	if !errors.As(err, &re) {
		t.Fatalf("%s: want an RPC error, got %s, %v", method, res, err)
	}
	return re
}

// jsonDiff compares a JSON result with the JSON text want, ignoring
// formatting and key order.
func jsonDiff(t *testing.T, want string, got json.RawMessage) string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("result %s: %v", got, err)
	}
	return cmp.Diff(w, g)
}

// decode unmarshals a result, numbers as json.Number.
func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// nextPush waits for one push of a subscription.
func nextPush(t *testing.T, s *bridge.Subscription, within time.Duration) bridge.Push {
	t.Helper()
	select {
	case p, ok := <-s.C():
		if !ok {
			t.Fatalf("subscription ended: %v", s.Err())
		}
		if p.Err != nil {
			t.Fatalf("push failed: %v", p.Err)
		}
		return p
	case <-time.After(within):
		t.Fatalf("no push within %v", within)
	}
	return bridge.Push{}
}

// noPush checks that nothing arrives for a while.
func noPush(t *testing.T, s *bridge.Subscription, within time.Duration) {
	t.Helper()
	select {
	case p, ok := <-s.C():
		if ok {
			t.Fatalf("unexpected push %s", p.Results[0].Result)
		}
	case <-time.After(within):
	}
}

// subscribe subscribes to the events of one method and waits for the first
// Response, after which the subscription is sure to be registered.
func subscribe(t *testing.T, c *bridge.Client, method string, params any) (*bridge.Subscription, json.RawMessage) {
	t.Helper()
	raw, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Subscribe(t.Context(), bridge.Request{
		SubscriptionEventCounter: 1,
		RequestMethods:           []bridge.MethodCall{{Method: method, Params: raw}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	first := nextPush(t, s, 5*time.Second)
	return s, first.Results[0].Result
}

// chainID is the chain the test nodes run.
const chainID = DefaultChainID

// obj is shorthand for parameter objects.
type obj = map[string]any

// amountOf is an amount for a coin.
func amountOf(v int64) amount { return amount{big.NewInt(v)} }
