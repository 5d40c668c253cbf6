package gateway

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// TestTopicFloodWithClosedStreams is hole 5: one address filled
// --max-topics by opening and closing distinct streams, each leaving its
// topic (and upstream subscription) for the grace period, and others got
// 503. A topic in its grace period stays in the share of the client that
// left it; and when the hub is full, the topic idle the longest ends to
// make room for one a client reads.
func TestTopicFloodWithClosedStreams(t *testing.T) {
	t.Parallel()
	const perClient, topics = 3, 4
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{
		cfg: Config{Auth: ta, MaxTopicsPerClient: perClient},
		hub: subscriptions.Config{MaxTopics: topics, Grace: time.Minute},
	})
	sub := func(i int) string {
		return fmt.Sprintf("%s/rpc/latestHeight/stream?chainId=2&eventCounter=%d", tg.url, i+1)
	}
	// openClose opens a stream, reads its first event and closes it; the
	// gateway has released its slot when it returns.
	openClose := func(i int, h map[string]string) int {
		t.Helper()
		s := openSSEWith(t, sub(i), h)
		if s.resp.StatusCode == http.StatusOK {
			s.next(3 * time.Second)
		}
		s.close()
		waitFor(t, "the stream's slot released", func() bool { return tg.slots.Count() == 0 })
		return s.resp.StatusCode
	}
	for i := range perClient {
		if code := openClose(i, nil); code != http.StatusOK {
			t.Fatalf("stream %d: %d", i, code)
		}
	}
	if n := tg.hub.Stats().Topics; n != perClient {
		t.Fatalf("%d topics, want the %d in their grace period", n, perClient)
	}
	// Its topics in their grace period are its share: a new one is
	// refused, one of them is not.
	if code := openClose(perClient, nil); code != http.StatusTooManyRequests {
		t.Fatalf("a client's distinct subscription beyond its share, its streams closed: %d, want 429", code)
	}
	if code := openClose(0, nil); code != http.StatusOK {
		t.Fatalf("a subscription of its own in its grace period: %d", code)
	}
	// Another client fills the hub; the next new subscription ends the
	// topic idle the longest rather than be refused.
	other := bearer(ta.public)
	live := openSSEWith(t, sub(10), other)
	if live.resp.StatusCode != http.StatusOK {
		t.Fatalf("another client's stream: %d", live.resp.StatusCode)
	}
	live.next(3 * time.Second)
	for i := 11; i < 13; i++ {
		s := openSSEWith(t, sub(i), other)
		if s.resp.StatusCode != http.StatusOK {
			t.Fatalf("a stream of a client with room, the hub full of idle topics: %d, want 200", s.resp.StatusCode)
		}
		s.next(3 * time.Second)
		if n := tg.hub.Stats().Topics; n > topics {
			t.Fatalf("%d topics, beyond --max-topics %d", n, topics)
		}
	}
	// The live streams' topics are never ended for another (the first
	// one's pushes come every 11 blocks).
	for range 11 {
		tg.node.ProduceBlock()
	}
	if ev := live.next(3 * time.Second); height(t, ev) != 11 {
		t.Fatalf("a live stream after evictions: %+v", ev)
	}
}

// TestPolledStreamsPauseWithoutReaders is hole 5's second half: a polled
// subscription kept calling its method through --grace after its last
// client left (a 3-second stream of a method polled 14 times). It pauses
// while its topic has no reader, and resumes for one that comes back,
// Last-Event-ID and all; an event poller that skipped calls says the
// changes meanwhile may be lost (a gap event).
func TestPolledStreamsPauseWithoutReaders(t *testing.T) {
	t.Parallel()
	url, n, calls := counterModule(t)
	tg := startGateway(t, gatewayOptions{nodeURL: url, hub: subscriptions.Config{Grace: time.Minute}, cfg: Config{Policy: counterPolicy(t)},
		feeds: func(up upstream.Upstream) subscriptions.Source {
			return feeds(up, 100*time.Millisecond)
		}})
	idle := func() bool { return tg.slots.Count() == 0 && tg.hub.Stats().Members == 0 }

	// A period stream.
	s := openSSE(t, tg.url+"/rpc/counter/stream?period=1", "")
	s.next(3 * time.Second)
	n.Store(1)
	lastID := s.next(3 * time.Second).ID
	s.close()
	waitFor(t, "the last reader to leave", idle)
	before := calls.Load()
	time.Sleep(2500 * time.Millisecond) // two and a half periods without a reader
	if got := calls.Load() - before; got > 1 {
		t.Fatalf("a period-1 poller with no reader called its method %d times in 2.5 s", got)
	}
	// Back with Last-Event-ID: the topic and its events are there, the
	// poller calls again.
	n.Store(2)
	r := openSSE(t, tg.url+"/rpc/counter/stream?period=1", lastID)
	ev := r.next(3 * time.Second)
	if ev.Type != "" || height(t, ev) != 2 {
		t.Fatalf("resumed period stream: %+v, want the next answer", ev)
	}
	if next := r.next(3 * time.Second); next.Type != "" {
		t.Fatalf("then %+v, want the next answer", next)
	}
	r.close()

	// An event stream of a poller (every 100 ms).
	e := openSSE(t, tg.url+"/rpc/counter/stream", "")
	lastID = e.next(3 * time.Second).ID
	e.close()
	waitFor(t, "the last reader to leave", idle)
	before = calls.Load()
	time.Sleep(500 * time.Millisecond)
	if got := calls.Load() - before; got > 1 {
		t.Fatalf("an event poller with no reader called its method %d times in 0.5 s (every 100 ms)", got)
	}
	n.Store(3)
	e = openSSE(t, tg.url+"/rpc/counter/stream", lastID)
	if ev := e.next(3 * time.Second); ev.Type != "gap" {
		t.Fatalf("resumed event stream after skipped calls: %+v, want a gap event first", ev)
	}
	if ev := e.next(3 * time.Second); height(t, ev) != 3 {
		t.Fatalf("then %+v, want the change", ev)
	}
}

// TestClusterPolledStreamsPause: in a cluster the holder and the standby
// each poll; both pause while no instance has a reader, and resume when one
// comes back on either.
func TestClusterPolledStreamsPause(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	url, n, calls := counterModule(t)
	oa, ob := redisOptions(t, rdb, prefix, "a", url), redisOptions(t, rdb, prefix, "b", url)
	oa.hub.Grace, ob.hub.Grace = time.Minute, time.Minute
	oa.cfg.Policy, ob.cfg.Policy = counterPolicy(t), counterPolicy(t)
	a, b := startGateway(t, oa), startGateway(t, ob)
	const stream = "/rpc/counter/stream?period=1"
	sa := openSSE(t, a.url+stream, "")
	sa.next(3 * time.Second)
	sb := openSSE(t, b.url+stream, "")
	sb.next(3 * time.Second)
	n.Store(1)
	lastID := sb.next(3 * time.Second).ID
	sa.close()
	sb.close()
	waitFor(t, "the last readers to leave", func() bool {
		return a.hub.Stats().Members == 0 && b.hub.Stats().Members == 0
	})
	time.Sleep(500 * time.Millisecond) // a few presence ticks (100 ms)
	before := calls.Load()
	time.Sleep(2500 * time.Millisecond)
	if got := calls.Load() - before; got > 2 {
		t.Fatalf("the cluster's pollers called their method %d times in 2.5 s with no reader anywhere", got)
	}
	if a.hub.Stats().Topics != 1 || b.hub.Stats().Topics != 1 {
		t.Fatal("the topic did not live through its grace period")
	}
	n.Store(2)
	r := openSSE(t, b.url+stream, lastID)
	if ev := r.next(3 * time.Second); ev.Type != "" || height(t, ev) != 2 {
		t.Fatalf("resumed on an instance: %+v, want the next answer", ev)
	}
	if ev := r.next(3 * time.Second); ev.Type != "" {
		t.Fatalf("then %+v", ev)
	}
}
