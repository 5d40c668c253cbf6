package gateway

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/streams"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// counterModule is an upstream whose method "counter" answers {"value": n}
// and never pushes by itself, as a Nulstar Connector; calls counts its
// calls.
func counterModule(t *testing.T) (url string, n, calls *atomic.Int64) {
	t.Helper()
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "counter"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	n, calls = new(atomic.Int64), new(atomic.Int64)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Register(bridge.Method{Name: "counter", Scope: bridge.ScopePublic, MinEvent: 1, MinPeriod: 1,
		Handler: func(context.Context, *bridge.Call) (any, error) {
			calls.Add(1)
			return map[string]int64{"value": n.Load()}, nil
		}}))
	must(m.Register(bridge.Method{Name: "ListAPI", Handler: func(context.Context, *bridge.Call) (any, error) {
		out := map[string]bridge.MethodInfo{}
		for _, mi := range m.Methods() {
			out["Test."+mi.MethodName] = mi
		}
		return out, nil
	}}))
	return newWSServer(t, m), n, calls
}

// counterPolicy knows counterModule's method as the operator's methods file
// would describe it: a read the gateway may poll.
func counterPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, _ := customMethods(t, `[{"MethodName":"counter","MethodScope":"public","MethodMinEvent":"1","MethodMinPeriod":"1"}]`, policy.Config{})
	return p
}

// TestPeriodStreamsArePolled: a period stream is the gateway calling the
// method at the period, whatever the upstream pushes: the first answer at
// once, then one a period, the range filtering them.
func TestPeriodStreamsArePolled(t *testing.T) {
	t.Parallel()
	url, n, _ := counterModule(t)
	tg := startGateway(t, gatewayOptions{nodeURL: url, cfg: Config{Policy: counterPolicy(t)}})
	n.Store(5)
	s := openSSE(t, tg.url+"/rpc/counter/stream?period=1", "")
	if m := s.resp.Header.Get(streams.HeaderSubscription); m != "polled" {
		t.Errorf("%s: %q", streams.HeaderSubscription, m)
	}
	start := time.Now()
	var got []int64
	for range 3 {
		got = append(got, height(t, s.next(3*time.Second)))
		n.Add(1)
	}
	if got[0] != 5 || got[1] < 5 || got[2] <= got[1] {
		t.Fatalf("values %v", got)
	}
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Fatalf("three period-1 events in %v: the first at once, then one a second", d)
	}
	// A range lets through only the answers inside it.
	r := openSSE(t, tg.url+"/rpc/counter/stream?period=1&range="+"%5B100%2C%29", "")
	if first := height(t, r.next(3*time.Second)); first >= 100 {
		t.Fatalf("the first answer is sent whatever the range: %d", first)
	}
	n.Store(100)
	if v := height(t, r.next(3*time.Second)); v < 100 {
		t.Fatalf("outside the range: %d", v)
	}
}

// TestEventStreamsPolled: with PollEvents, an event stream of an upstream
// that cannot push is the gateway calling the method and sending the
// changes only; an unknown method is refused before the stream.
func TestEventStreamsPolled(t *testing.T) {
	t.Parallel()
	url, n, calls := counterModule(t)
	tg := startGateway(t, gatewayOptions{nodeURL: url, cfg: Config{Policy: counterPolicy(t)}, feeds: func(up upstream.Upstream) subscriptions.Source {
		return feeds(up, 20*time.Millisecond)
	}})
	s := openSSE(t, tg.url+"/rpc/counter/stream", "")
	if v := height(t, s.next(2*time.Second)); v != 0 {
		t.Fatalf("first %d", v)
	}
	before := calls.Load()
	time.Sleep(200 * time.Millisecond)
	if calls.Load() <= before {
		t.Fatal("not polled")
	}
	for want := int64(1); want <= 3; want++ {
		n.Store(want)
		if v := height(t, s.next(2*time.Second)); v != want {
			t.Fatalf("event %d, want %d (only changes)", v, want)
		}
	}
	select {
	case ev := <-s.events:
		t.Fatalf("an event with no change: %+v", ev)
	case <-time.After(200 * time.Millisecond):
	}
	// Every second change with eventCounter=2.
	two := openSSE(t, tg.url+"/rpc/counter/stream?eventCounter=2", "")
	two.next(2 * time.Second)
	for i := int64(4); i <= 7; i++ {
		n.Store(i)
		time.Sleep(250 * time.Millisecond) // polled every 20ms: each change seen
	}
	got := []int64{height(t, two.next(2*time.Second)), height(t, two.next(2*time.Second))}
	if got[0] != 5 || got[1] != 7 {
		t.Fatalf("eventCounter=2: %v, want [5 7]", got)
	}
	if u := openSSE(t, tg.url+"/rpc/nope/stream?period=1", ""); u.resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown method: %d", u.resp.StatusCode)
	}
}
