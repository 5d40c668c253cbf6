package upstream

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// chanFeed is a source feed the test pushes into.
type chanFeed struct {
	ch   chan subscriptions.Update
	once sync.Once
}

func (f *chanFeed) Updates() <-chan subscriptions.Update { return f.ch }
func (f *chanFeed) Err() error                           { return nil }
func (f *chanFeed) Close() error {
	f.once.Do(func() { close(f.ch) })
	return nil
}

// TestDerivedFeedCoalesces: while an event is being derived, the source's
// updates are taken as they come (a burst never backs the upstream
// subscription up), and the newest of them is derived next, marked Gap for
// the hub to fill what it skipped.
func TestDerivedFeedCoalesces(t *testing.T) {
	src := &chanFeed{ch: make(chan subscriptions.Update)} // unbuffered: a send waits for the feed to take it
	release := make(chan struct{})
	var derived []string
	var mu sync.Mutex
	d := derivedStream{derive: func(_ context.Context, _ Upstream, _, push json.RawMessage) (json.RawMessage, error) {
		<-release
		mu.Lock()
		derived = append(derived, string(push))
		mu.Unlock()
		return push, nil
	}}
	f := newDerivedFeed(src, d, Feeds{}.withDefaults(), nil)
	defer f.Close()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 1; i <= 200; i++ {
			src.ch <- subscriptions.Update{Data: json.RawMessage(strconv.Itoa(i))}
		}
	}()
	select {
	case <-sent: // all 200 taken while the first was still being derived
	case <-time.After(5 * time.Second):
		t.Fatal("the source's updates waited for the derivation")
	}
	close(release)
	// The events: the update being derived when the burst came, the
	// newest waiting when it was done, perhaps one more that came while
	// that one was derived, and 200; each marked Gap when updates before
	// it were skipped. Never the 200 one by one.
	var got []subscriptions.Update
	for len(got) == 0 || string(got[len(got)-1].Data) != "200" {
		select {
		case u, ok := <-f.Updates():
			if !ok {
				t.Fatalf("the feed ended after %d events", len(got))
			}
			got = append(got, u)
		case <-time.After(5 * time.Second):
			t.Fatalf("no event 200; got %d events", len(got))
		}
	}
	if len(got) > 4 {
		t.Errorf("%d events derived of a burst of 200, want the newest (and at most two before)", len(got))
	}
	prev := 0
	for _, u := range got {
		n, _ := strconv.Atoi(string(u.Data))
		if skipped := n != prev+1; skipped != u.Gap {
			t.Errorf("event %d after %d: Gap %v, want %v", n, prev, u.Gap, skipped)
		}
		prev = n
	}
	mu.Lock()
	defer mu.Unlock()
	if len(derived) != len(got) {
		t.Errorf("%d derivations for %d events", len(derived), len(got))
	}
}
