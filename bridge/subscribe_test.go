package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func heightOf(t *testing.T, p Push) int64 {
	t.Helper()
	if p.Err != nil {
		t.Fatalf("push failed: %v", p.Err)
	}
	var v struct{ Value int64 }
	if len(p.Results) == 0 || json.Unmarshal(p.Results[0].Result, &v) != nil {
		t.Fatalf("push %s", resultsText(p.Results))
	}
	return v.Value
}

// serverSubs counts the module's live subscriptions.
func serverSubs(m *Module) int {
	m.mu.RLock()
	sessions := make([]*session, 0, len(m.sessions))
	for s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.RUnlock()
	n := 0
	for _, s := range sessions {
		s.mu.Lock()
		n += len(s.subs)
		s.mu.Unlock()
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEventSubscription covers D10: the first Response at once, then one
// push every N events, in order.
func TestEventSubscription(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("every %d", n), func(t *testing.T) {
			t.Parallel()
			tm := newTestModule(t, ModuleConfig{})
			c := startClient(t, tm.url, ClientConfig{})
			sub, err := c.Subscribe(t.Context(), Request{SubscriptionEventCounter: n, RequestMethods: []MethodCall{{Method: "height"}}})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			if h := heightOf(t, nextPush(t, sub, 2*time.Second)); h != 0 {
				t.Fatalf("first response height %d", h)
			}
			waitFor(t, "server subscription", func() bool { return serverSubs(tm.Module) == 1 })
			for i := 1; i <= 3*n; i++ {
				tm.bump()
				if i%n == 0 {
					if h := heightOf(t, nextPush(t, sub, 2*time.Second)); h != int64(i) {
						t.Fatalf("push after event %d has height %d", i, h)
					}
				}
			}
			noPush(t, sub, 100*time.Millisecond)
		})
	}
}

// TestPeriodSubscription covers D11: first Response at once, then every N
// seconds.
func TestPeriodSubscription(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	sub, err := c.Subscribe(t.Context(), Request{SubscriptionPeriod: 1, RequestMethods: []MethodCall{{Method: "height"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	first := nextPush(t, sub, time.Second)
	// Period ticks are delivered even when nothing changed (D21).
	second := nextPush(t, sub, 2*time.Second)
	if d := second.Received.Sub(first.Received); d < 800*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("period push after %v, want about 1s", d)
	}
	if heightOf(t, first) != heightOf(t, second) {
		t.Error("state changed without events")
	}
}

// TestSubscriptionRange covers D12: the first Response is always sent, the
// pushes only when the numeric result is inside the range.
func TestSubscriptionRange(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	sub, err := c.Subscribe(t.Context(), Request{SubscriptionEventCounter: 1, SubscriptionRange: "[3, 5)", RequestMethods: []MethodCall{{Method: "height"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if h := heightOf(t, nextPush(t, sub, time.Second)); h != 0 {
		t.Fatalf("first response %d", h)
	}
	waitFor(t, "server subscription", func() bool { return serverSubs(tm.Module) == 1 })
	for i := 0; i < 6; i++ {
		tm.bump()
	}
	for _, want := range []int64{3, 4} {
		if h := heightOf(t, nextPush(t, sub, time.Second)); h != want {
			t.Fatalf("push %d, want %d", h, want)
		}
	}
	noPush(t, sub, 150*time.Millisecond)
}

// TestResponseMaxSize covers D13.
func TestResponseMaxSize(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	sub, err := c.Subscribe(t.Context(), Request{SubscriptionPeriod: 1, ResponseMaxSize: 3, RequestMethods: []MethodCall{{Method: "list"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := nextPush(t, sub, time.Second)
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	jsonEqual(t, `{"list":[1,2,3],"total":10}`, p.Results[0].Result)
}

// TestUnsubscribe covers D5 from the client: Close sends Unsubscribe with the
// Request ID, the server stops, and the channel is closed.
func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	sub, err := c.Subscribe(t.Context(), Request{SubscriptionEventCounter: 1, RequestMethods: []MethodCall{{Method: "height"}}})
	if err != nil {
		t.Fatal(err)
	}
	nextPush(t, sub, time.Second)
	waitFor(t, "server subscription", func() bool { return serverSubs(tm.Module) == 1 })
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "server unsubscribe", func() bool { return serverSubs(tm.Module) == 0 })
	tm.bump()
	for range sub.C() {
		t.Fatal("push after Close")
	}
	if sub.Err() != nil {
		t.Errorf("Err after Close = %v", sub.Err())
	}
}

// TestSubscriptionRejected: a subscription to a method that is not
// event-capable gets an error as its first push.
func TestSubscriptionRejected(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	sub, err := c.Subscribe(t.Context(), Request{SubscriptionEventCounter: 1, RequestMethods: []MethodCall{{Method: "echo"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := nextPush(t, sub, time.Second)
	if p.Err == nil || p.Err.Code != CodeParameterError {
		t.Fatalf("push %+v, want a parameter error", p)
	}
	if serverSubs(tm.Module) != 0 {
		t.Error("server kept a rejected subscription")
	}
}

// TestSlowConsumer: a consumer that never reads is cut off; the connection
// and other subscriptions go on.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{SubscriptionBuffer: 4})
	slow, err := c.Subscribe(t.Context(), Request{SubscriptionEventCounter: 1, RequestMethods: []MethodCall{{Method: "height"}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "server subscription", func() bool { return serverSubs(tm.Module) == 1 })
	for i := 0; i < 20; i++ {
		tm.bump()
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, "slow consumer cut off", func() bool { return errors.Is(slow.Err(), ErrSlowConsumer) })
	waitFor(t, "server unsubscribe", func() bool { return serverSubs(tm.Module) == 0 })
	if _, err := c.Call(t.Context(), "echo", nil); err != nil {
		t.Fatal(err)
	}
}
