package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/gateway/metrics"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// countingFeeds counts the upstream subscriptions opened and alive.
type countingFeeds struct {
	upstream.Feeds
	opened, live atomic.Int64
}

func (c *countingFeeds) Subscribe(ctx context.Context, k subscriptions.Key) (subscriptions.Feed, error) {
	f, err := c.Feeds.Subscribe(ctx, k)
	if err != nil {
		return nil, err
	}
	c.opened.Add(1)
	c.live.Add(1)
	return &countedFeed{Feed: f, c: c}, nil
}

type countedFeed struct {
	subscriptions.Feed
	c    *countingFeeds
	once sync.Once
}

func (f *countedFeed) Close() error {
	f.once.Do(func() { f.c.live.Add(-1) })
	return f.Feed.Close()
}

func TestStream(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", s.resp.StatusCode)
	}
	h := s.resp.Header
	if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
		t.Errorf("headers %v", h)
	}
	first := s.next(2 * time.Second)
	if height(t, first) != 0 || first.ID == "" || first.Type != "" {
		t.Fatalf("first event %+v", first)
	}
	for want := int64(1); want <= 3; want++ {
		tg.node.ProduceBlock()
		if got := height(t, s.next(2*time.Second)); got != want {
			t.Fatalf("height %d, want %d", got, want)
		}
	}
	s.mu.Lock()
	retry := s.retry
	s.mu.Unlock()
	if retry != "3000" {
		t.Errorf("retry hint %q", retry)
	}
}

// TestStreamResume covers Last-Event-ID: exactly what was missed, then a gap
// signal beyond the retention window.
func TestStreamResume(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{hub: subscriptions.Config{Retention: 5, Grace: time.Minute}})
	keep := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "") // keeps the topic alive
	keep.next(2 * time.Second)
	a := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	a.next(2 * time.Second)
	tg.node.ProduceBlock()
	seen := a.next(2 * time.Second)
	keep.next(2 * time.Second)
	a.close()
	for i := 0; i < 3; i++ {
		tg.node.ProduceBlock()
		keep.next(2 * time.Second)
	}
	// Resume: heights 2, 3, 4, nothing repeated.
	b := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", seen.ID)
	for want := int64(2); want <= 4; want++ {
		ev := b.next(2 * time.Second)
		if ev.Type != "" || height(t, ev) != want {
			t.Fatalf("resumed event %+v, want height %d", ev, want)
		}
	}
	select {
	case ev := <-b.events:
		t.Fatalf("extra event %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
	b.close()
	// Beyond the retention (5 events), by the ID's position alone: a gap,
	// then what is retained.
	for i := 0; i < 6; i++ {
		tg.node.ProduceBlock()
		keep.next(2 * time.Second)
	}
	pos, h, ok := strings.Cut(seen.ID, ".")
	if !ok || h != "1" {
		t.Fatalf("event ID %q: want <position>.<height>, the height 1", seen.ID)
	}
	c := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2&lastEventId="+pos, "")
	if ev := c.next(2 * time.Second); ev.Type != "gap" || !strings.Contains(ev.Data, pos) {
		t.Fatalf("want a gap event first, got %+v", ev)
	}
	if got := height(t, c.next(2*time.Second)); got != 6 {
		t.Fatalf("after the gap: height %d, want 6 (the oldest retained)", got)
	}
	// With the whole ID, its height: what the log lost is sent from the
	// height on, then what is retained, without a gap.
	d := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", seen.ID)
	for want := int64(2); want <= 10; want++ {
		ev := d.next(2 * time.Second)
		if ev.Type != "" || height(t, ev) != want {
			t.Fatalf("resumed by height: %+v, want height %d", ev, want)
		}
	}
	// A malformed Last-Event-ID is a client error.
	for _, id := range []string{"not-an-id", seen.ID + "x", pos + ".-1"} {
		if bad := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", id); bad.resp.StatusCode != http.StatusBadRequest {
			t.Errorf("bad Last-Event-ID %q: %d, want 400", id, bad.resp.StatusCode)
		}
	}
}

// TestStreamShared: many clients of the same (method, params, mode) share
// one upstream subscription, which ends after the grace period once they
// are all gone.
func TestStreamShared(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	// The gateway's hub reads a counting upstream.
	var cu *countingFeeds
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(),
		hub: subscriptions.Config{Grace: 200 * time.Millisecond, FirstPushWait: 500 * time.Millisecond},
		feeds: func(up upstream.Upstream) subscriptions.Source {
			cu = &countingFeeds{Feeds: feeds(up, 0)}
			return cu
		}})
	hub := tg.hub

	const clients = 50
	streams := make([]*sseStream, clients)
	for i := range streams {
		// Parameters in another order and as JSON name the same
		// subscription.
		q := "?chainId=2"
		if i%2 == 1 {
			q = `?params={"chainId":2}&eventCounter=1`
		}
		streams[i] = openSSE(t, tg.url+"/rpc/latestHeight/stream"+q, "")
		streams[i].next(2 * time.Second)
	}
	if n := cu.opened.Load(); n != 1 {
		t.Fatalf("%d upstream subscriptions for %d clients, want 1", n, clients)
	}
	node.ProduceBlock()
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := height(t, s.next(2*time.Second)); got != 1 {
				t.Errorf("height %d", got)
			}
		}()
	}
	wg.Wait()
	// Another mode is another subscription.
	other := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2&eventCounter=2", "")
	other.next(2 * time.Second)
	if n := cu.opened.Load(); n != 2 {
		t.Fatalf("%d upstream subscriptions, want 2", n)
	}
	other.close()
	for _, s := range streams {
		s.close()
	}
	waitFor(t, "upstream unsubscribed after the grace period", func() bool { return cu.live.Load() == 0 })
	if st := hub.Stats(); st.Topics != 0 || st.Members != 0 {
		t.Errorf("hub %+v", st)
	}
}

// TestStreamErrors: a bad stream request gets a plain HTTP error, so that an
// EventSource does not retry it.
func TestStreamErrors(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{MaxStreams: 2}})
	tests := []struct {
		name, query string
		status      int
	}{
		{"unknown method", "/rpc/nope/stream", 404},
		{"parameter type", "/rpc/latestHeight/stream?chainId=two", 400},
		{"params not JSON", "/rpc/latestHeight/stream?params={", 400},
		{"bad counter", "/rpc/latestHeight/stream?chainId=2&eventCounter=-1", 400},
		{"bad range", "/rpc/latestHeight/stream?chainId=2&range=oops", 400},
		{"rejected upstream", "/rpc/getStatus/stream?chainId=2", 400}, // not event-capable: err_0012
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openSSE(t, tg.url+tt.query, "")
			if s.resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", s.resp.StatusCode, tt.status)
			}
			if ct := s.resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	// The stream bound: the third concurrent stream is refused with 503.
	a := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	b := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	a.next(2 * time.Second)
	b.next(2 * time.Second)
	if c := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", ""); c.resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third stream: %d, want 503", c.resp.StatusCode)
	}
}

// TestUpstreamRestart: the node goes away in the middle of calls and
// streams. Calls fail at once (no hung request), the gateway reconnects,
// and the streams resume on the new node.
func TestUpstreamRestart(t *testing.T) {
	t.Parallel()
	node, stop := startStoppableNode(t, "127.0.0.1:0")
	addr := strings.TrimPrefix(node.URL(), "ws://")
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL()})
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	s.next(2 * time.Second)
	node.ProduceBlock()
	last := s.next(2 * time.Second)
	if got := height(t, last); got != 1 {
		t.Fatalf("height %d", got)
	}

	// Calls in flight while the node stops: none hangs.
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, _ := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`)
			statuses <- status
		}()
	}
	stop()
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != http.StatusOK && st != http.StatusServiceUnavailable {
			t.Errorf("call during restart: %d, want 200 or 503", st)
		}
	}
	if status, _, _ := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusServiceUnavailable {
		t.Errorf("call while down: %d, want 503", status)
	}

	node2, _ := startStoppableNode(t, addr)
	waitFor(t, "reconnect", func() bool { return tg.client.Ready() })
	if v := metric(t, tg, "nuls_gateway_upstream_reconnects_total"); v != 1 {
		t.Errorf("nuls_gateway_upstream_reconnects_total = %v after one restart, want 1", v)
	}
	if status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusOK {
		t.Fatalf("after restart: %d %s", status, body)
	}
	// The stream goes on: the new node's chain starts again at 0, which
	// the renewed subscription answers first. No node is at the height
	// the client was shown: the chain went back, and the client is told
	// so by a rollback event naming the new tip.
	rb := s.next(5 * time.Second)
	if rb.Type != "rollback" || rb.ID == "" || rb.Data != `{"height":0,"from":1}` {
		t.Fatalf("first event after the restart: %+v, want a rollback event from 1 to 0", rb)
	}
	if got := height(t, s.next(2*time.Second)); got != 0 {
		t.Fatalf("after the rollback: height %d, want the new chain's 0", got)
	}
	if v := metric(t, tg, "nuls_gateway_stream_gap_events_total", "cause", metrics.GapUpstream); v != 0 {
		t.Errorf("upstream gap events counted: %v, want none (a rollback is no gap)", v)
	}
	for want := int64(1); want <= 3; want++ {
		node2.ProduceBlock()
		if ev := s.next(2 * time.Second); ev.Type != "" || height(t, ev) != want {
			t.Fatalf("after the restart: %+v, want height %d", ev, want)
		}
	}
}

func startStoppableNode(t *testing.T, addr string) (*devnode.Node, func()) {
	t.Helper()
	n, err := devnode.New(devnode.Config{Listen: addr, BlockInterval: -1}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return n, stop
}

// TestShutdownEndsStreams: when the server's Run context ends, streams end
// cleanly, so that http.Server.Shutdown can finish.
func TestShutdownEndsStreams(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL()})
	// A second Server over the same upstream and hub, with its own Run.
	srv, err := New(Config{Upstream: tg.up, Hub: tg.hub}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	ln := listen(t)
	go hs.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	s := openSSE(t, "http://"+ln.Addr().String()+"/rpc/latestHeight/stream?chainId=2", "")
	s.next(2 * time.Second)
	cancel()
	<-done
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v (a stream kept it waiting)", err)
	}
	select {
	case _, ok := <-s.events:
		if ok {
			t.Fatal("event after shutdown")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("stream still open after shutdown")
	}
}

// TestNotifications streams the upstream's Notifications (D15).
func TestNotifications(t *testing.T) {
	t.Parallel()
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "mgr"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	url := newWSServer(t, m)
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: url, noWait: true, cfg: Config{Auth: ta}})
	waitFor(t, "connected", func() bool { return tg.client.Ready() })
	// They tell of the module network: admin only.
	if s := openSSE(t, tg.url+"/notifications", ""); s.resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous notifications: %d, want 401", s.resp.StatusCode)
	}
	s := openSSEWith(t, tg.url+"/notifications", bearer(ta.admin))
	waitFor(t, "the peer's connection", func() bool { return len(m.Peers()) == 1 })
	p := m.Peers()[0]
	for i := 1; i <= 2; i++ {
		n := &bridge.Notification{NotificationType: "SystemUpgrade", NotificationComment: fmt.Sprint("upgrade ", i), NotificationData: []byte(`{"NewVersion":"1.1.6"}`)}
		if err := p.Send(t.Context(), p.NewMessage(n)); err != nil {
			t.Fatal(err)
		}
		ev := s.next(2 * time.Second)
		if ev.Type != "notification" || !strings.Contains(ev.Data, `"type":"SystemUpgrade"`) || !strings.Contains(ev.Data, fmt.Sprint("upgrade ", i)) || !strings.Contains(ev.Data, `"NewVersion":"1.1.6"`) {
			t.Fatalf("event %+v", ev)
		}
	}
}

// TestStreamHTTP2: an HTTP/2 stream cannot be taken over from net/http; its
// handler serves it (the fallback path), with the same events.
func TestStreamHTTP2(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	srv := httptest.NewUnstartedServer(tg.Server)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/rpc/latestHeight/stream?chainId=2", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%s %d %v", resp.Proto, resp.StatusCode, resp.Header)
	}
	s := &sseStream{t: t, resp: resp, events: make(chan sseEvent, 16), cancel: cancel, done: make(chan struct{})}
	go s.read()
	if h := height(t, s.next(2*time.Second)); h != 0 {
		t.Fatalf("first %d", h)
	}
	tg.node.ProduceBlock()
	if h := height(t, s.next(2*time.Second)); h != 1 {
		t.Fatalf("push %d", h)
	}
	cancel()
	<-s.done
}

// TestSlowClientDropped: a client that stops reading is dropped once its
// connection is full, and never delays the others.
func TestSlowClientDropped(t *testing.T) {
	t.Parallel()
	// A handler's write (the fallback) gives up after WriteTimeout, and so
	// does a detached stream whose socket takes nothing.
	tg, n, m := bigPushGateway(t, 500*time.Millisecond)

	// The stuck client: a raw connection with a small receive buffer that
	// never reads.
	addr := strings.TrimPrefix(tg.url, "http://")
	stuck, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	_ = stuck.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(stuck, "GET /rpc/big/stream HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	good := openSSE(t, tg.url+"/rpc/big/stream", "")
	good.next(3 * time.Second)
	waitFor(t, "both streams", func() bool { return tg.Server.slots.Count() == 2 })

	const pushes = 300 // 19 MB: far more than the stuck connection's buffers
	start := time.Now()
	for i := 1; i <= pushes; i++ {
		n.Store(int64(i))
		m.Trigger("big")
		ev := good.next(5 * time.Second)
		if !strings.HasPrefix(ev.Data, fmt.Sprintf(`{"n":%d,`, i)) {
			t.Fatalf("event %d: %.40s", i, ev.Data)
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("%d pushes took %v: the stuck client held the others up", pushes, d)
	}
	waitFor(t, "the stuck client dropped", func() bool { return int64(tg.Server.slots.Count()) == 1 })
	if v := metric(t, tg, "nuls_gateway_slow_clients_dropped_total"); v != 1 {
		t.Errorf("nuls_gateway_slow_clients_dropped_total = %v, want 1", v)
	}
}

// bigPushGateway starts a gateway, with the given write timeout, in front
// of a module whose stream "big" pushes {"n": n, "pad": 64 KiB} when m
// triggers it.
func bigPushGateway(t *testing.T, writeTimeout time.Duration) (*testGateway, *atomic.Int64, *bridge.Module) {
	t.Helper()
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "big"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	n := new(atomic.Int64)
	payload := strings.Repeat("x", 64<<10)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Register(bridge.Method{Name: "big", MinEvent: 1, Handler: func(context.Context, *bridge.Call) (any, error) {
		return map[string]any{"n": n.Load(), "pad": payload}, nil
	}}))
	must(m.Register(bridge.Method{Name: "ListAPI", Handler: func(context.Context, *bridge.Call) (any, error) {
		out := map[string]bridge.MethodInfo{}
		for _, mi := range m.Methods() {
			out["Test."+mi.MethodName] = mi
		}
		return out, nil
	}}))
	pol, _ := customMethods(t, `[{"MethodName":"big","MethodScope":"public","MethodMinEvent":"1"}]`, policy.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: newWSServer(t, m), cfg: Config{Policy: pol, WriteTimeout: writeTimeout}})
	return tg, n, m
}

// TestPausedClientCatchesUp: a client that stops reading while far more
// than its connection's buffers is sent, and reads again within the write
// timeout, gets every event, whole and in order. A detached stream keeps
// what its socket did not take and writes it when the socket has room
// again; a handler's write waits.
func TestPausedClientCatchesUp(t *testing.T) {
	t.Parallel()
	tg, n, m := bigPushGateway(t, 20*time.Second)
	addr := strings.TrimPrefix(tg.url, "http://")
	// A small receive buffer, set before the handshake: shrunk after it,
	// below the window already offered, the kernel drops what arrives and
	// the sender backs off for seconds.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	paused, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer paused.Close()
	fmt.Fprintf(paused, "GET /rpc/big/stream HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	good := openSSE(t, tg.url+"/rpc/big/stream", "")
	good.next(3 * time.Second)
	waitFor(t, "both streams", func() bool { return tg.Server.slots.Count() == 2 })

	const pushes = 100 // 6.5 MB: more than loopback's largest socket buffers
	for i := 1; i <= pushes; i++ {
		n.Store(int64(i))
		m.Trigger("big")
		if ev := good.next(5 * time.Second); !strings.HasPrefix(ev.Data, fmt.Sprintf(`{"n":%d,`, i)) {
			t.Fatalf("event %d: %.40s", i, ev.Data)
		}
	}

	_ = paused.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(paused), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The connection first: closing a body that has no end reads it to
	// the deadline.
	defer func() { _ = paused.Close(); _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 128<<10), 1<<20)
	want := int64(0) // the state when the stream opened, then every push
	for want <= pushes && sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			N   int64
			Pad string
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event %d: %v (%d bytes)", want, err, len(line))
		}
		if ev.N != want || len(ev.Pad) != 64<<10 {
			t.Fatalf("event n=%d with %d bytes of pad, want n=%d", ev.N, len(ev.Pad), want)
		}
		want++
	}
	if want <= pushes {
		t.Fatalf("the paused client got %d events of %d: %v", want, pushes+1, sc.Err())
	}
	if v := metric(t, tg, "nuls_gateway_slow_clients_dropped_total"); v != 0 {
		t.Errorf("nuls_gateway_slow_clients_dropped_total = %v, want 0", v)
	}
}

// TestStreamMetrics: the stream metrics count what the clients were sent.
func TestStreamMetrics(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	const url = "/rpc/latestHeight/stream?chainId=2"
	s := openSSE(t, tg.url+url, "")
	first := s.next(2 * time.Second)
	tg.node.ProduceBlock()
	tg.node.ProduceBlock()
	s.next(2 * time.Second)
	s.next(2 * time.Second)
	delivered := func() float64 { return metric(t, tg, "nuls_gateway_stream_events_total") }
	waitFor(t, "3 events counted", func() bool { return delivered() == 3 })

	// A resumed stream gets the 2 events after first; one resumed from an
	// id the topic never issued gets a gap event, then the next push.
	r := openSSE(t, tg.url+url, first.ID)
	r.next(2 * time.Second)
	r.next(2 * time.Second)
	g := openSSE(t, tg.url+url, "1-999")
	if ev := g.next(2 * time.Second); ev.Type != "gap" {
		t.Fatalf("resumed from an unknown id: %+v, want a gap event", ev)
	}
	waitFor(t, "6 events counted", func() bool { return delivered() == 6 })
	if v := metric(t, tg, "nuls_gateway_streams_resumed_total"); v != 2 {
		t.Errorf("nuls_gateway_streams_resumed_total = %v, want 2", v)
	}
	if v := metric(t, tg, "nuls_gateway_stream_gap_events_total", "cause", metrics.GapResume); v != 1 {
		t.Errorf("resume gaps %v, want 1", v)
	}
	if v := metric(t, tg, "nuls_gateway_stream_gap_events_total", "cause", metrics.GapUpstream); v != 0 {
		t.Errorf("upstream gaps %v, want 0", v)
	}
}

// TestIdleStreamsHoldNoGoroutine: a detached HTTP/1.1 stream costs no
// goroutine while it waits (package hangup tells when its client goes),
// and a client that hangs up frees its stream. With --handler-streams, the
// fallback, each stream keeps its handler's goroutine, and works the same.
func TestIdleStreamsHoldNoGoroutine(t *testing.T) {
	t.Parallel()
	for _, handler := range []bool{false, true} {
		t.Run(fmt.Sprintf("handler-streams=%v", handler), func(t *testing.T) {
			idleStreams(t, handler)
		})
	}
}

func idleStreams(t *testing.T, handler bool) {
	tg := startGateway(t, gatewayOptions{cfg: Config{MaxStreamsPerClient: 1000, HandlerStreams: handler}, streamPath: true})
	addr := strings.TrimPrefix(tg.url, "http://")
	open := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /rpc/latestHeight/stream?chainId=2 HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", addr)
		return c
	}
	// Warm: the topic, its group and the hang-up watcher exist.
	first := open()
	defer first.Close()
	waitFor(t, "the first stream", func() bool { return tg.Server.slots.Count() == 1 })
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	const n = 300
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = open()
	}
	waitFor(t, "every stream", func() bool { return tg.Server.slots.Count() == n+1 })
	time.Sleep(100 * time.Millisecond) // the handlers' goroutines return
	grew := runtime.NumGoroutine() - before
	switch {
	case !handler && grew > n/10:
		t.Errorf("%d idle streams: %d goroutines more, want a few", n, grew)
	case handler && grew < n:
		t.Errorf("%d streams served by their handlers: %d goroutines more, want one each at least", n, grew)
	}
	// Both paths deliver: the next block reaches the last stream opened.
	tg.node.ProduceBlock()
	r := bufio.NewReader(conns[n-1])
	_ = conns[n-1].SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("the last stream: %v", err)
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"value":1`) {
			break
		}
	}
	for _, c := range conns {
		_ = c.Close()
	}
	waitFor(t, "the streams of the clients gone freed", func() bool { return tg.Server.slots.Count() == 1 })
}

// TestDetachedStreamOutlivesItsWriteTimeout: the deadline of a stream's
// first write (its head) must not fail the writes of events long after.
func TestDetachedStreamOutlivesItsWriteTimeout(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{WriteTimeout: 100 * time.Millisecond, Heartbeat: 150 * time.Millisecond}})
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	s.next(2 * time.Second)
	time.Sleep(400 * time.Millisecond) // heartbeats, past the head's deadline
	for want := int64(1); want <= 3; want++ {
		tg.node.ProduceBlock()
		if got := height(t, s.next(2*time.Second)); got != want {
			t.Fatalf("height %d, want %d", got, want)
		}
	}
}
