package upstream

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// direct serves methods on a module of its own and returns a Direct
// upstream connected to it.
func direct(t *testing.T, methods ...bridge.Method) *Direct {
	t.Helper()
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	for _, mm := range methods {
		if err := m.Register(mm); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	c, err := bridge.NewClient(bridge.ClientConfig{URL: "ws" + strings.TrimPrefix(srv.URL, "http"), FirstDialJitter: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer wcancel()
	if err := c.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	return NewDirect(c)
}

// TestPollerTakesTheCallTimeout: a poller's call is bounded by the
// configured call timeout (it was 10 s, whatever --call-timeout said): an
// answer slower than it is given up, one within it arrives.
func TestPollerTakesTheCallTimeout(t *testing.T) {
	t.Parallel()
	up := direct(t, bridge.Method{Name: "slow", Handler: func(context.Context, *bridge.Call) (any, error) {
		time.Sleep(400 * time.Millisecond)
		return map[string]int{"value": 1}, nil
	}})
	for _, c := range []struct {
		timeout time.Duration
		answers bool
	}{{150 * time.Millisecond, false}, {5 * time.Second, true}} {
		f := Feeds{Upstream: up, CallTimeout: c.timeout}
		// A period of 5 s: one call in the second the test waits.
		feed, err := f.Subscribe(t.Context(), subscriptions.Key{Method: "slow", Params: "{}", Period: 5})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case u := <-feed.Updates():
			if !c.answers {
				t.Errorf("call timeout %v: the 400 ms answer arrived: %s", c.timeout, u.Data)
			}
		case <-time.After(1200 * time.Millisecond):
			if c.answers {
				t.Errorf("call timeout %v: no answer", c.timeout)
			}
		}
		_ = feed.Close()
	}
}

// TestPolledDecidesOnce: what Feeds does and what Polled says agree.
func TestPolledDecidesOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	up := direct(t, bridge.Method{Name: "latestHeight", MinEvent: 1, Handler: func(context.Context, *bridge.Call) (any, error) {
		calls.Add(1)
		return map[string]int{"value": 1}, nil
	}})
	cases := []struct {
		poll   time.Duration
		period int
		method string
		want   bool
	}{
		{0, 0, "latestHeight", false},
		{0, 1, "latestHeight", true},
		{time.Second, 0, "latestHeight", true},
		{0, 0, "newHeaders", false}, // derived: as its source
		{0, 2, "newHeaders", true},
	}
	for _, c := range cases {
		if got := Polled(up, c.poll, c.method, c.period); got != c.want {
			t.Errorf("Polled(%v, %s, period %d) = %v", c.poll, c.method, c.period, got)
		}
	}
	// Feeds polls what Polled says it polls, and subscribes upstream for
	// the others.
	for _, c := range cases[:3] {
		f := Feeds{Upstream: up, PollEvents: c.poll}
		k := subscriptions.Key{Method: c.method, Params: "{}", Period: c.period, EventCounter: 1}
		if c.period > 0 {
			k.EventCounter = 0
		}
		feed, err := f.Subscribe(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		if _, polled := feed.(*pollFeed); polled != c.want {
			t.Errorf("%+v: a %T", c, feed)
		}
		select {
		case <-feed.Updates():
		case <-time.After(3 * time.Second):
			t.Errorf("%+v: no first update", c)
		}
		_ = feed.Close()
	}
}
