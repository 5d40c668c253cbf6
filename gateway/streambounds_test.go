package gateway

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
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
		waitFor(t, "the stream's slot released", func() bool { return tg.slots.count() == 0 })
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
