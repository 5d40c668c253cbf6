package slots

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func acquire(t *testing.T, ss *Slots, client, topic string) *Slot {
	t.Helper()
	sl, err := ss.Acquire(client, topic)
	if err != nil {
		t.Fatalf("%s on %s: %v", client, topic, err)
	}
	return sl
}

// TestBounds: each bound refuses with its own error, and a release gives
// the place back once, however often it is called.
func TestBounds(t *testing.T) {
	t.Parallel()
	ss := New(Config{Max: 4, PerClient: 3, PerClientTopics: 2})
	a1 := acquire(t, ss, "a", "t1")
	acquire(t, ss, "a", "t2")
	if _, err := ss.Acquire("a", "t3"); !errors.Is(err, ErrClientTopics) {
		t.Fatalf("a's third topic: %v, want ErrClientTopics", err)
	}
	acquire(t, ss, "a", "t1")
	if _, err := ss.Acquire("a", "t1"); !errors.Is(err, ErrClientStreams) {
		t.Fatalf("a's fourth stream: %v, want ErrClientStreams", err)
	}
	acquire(t, ss, "b", "t1")
	if _, err := ss.Acquire("c", "t1"); !errors.Is(err, ErrFull) {
		t.Fatalf("the fifth stream: %v, want ErrFull", err)
	}
	a1.Release()
	a1.Release()
	if n := ss.Count(); n != 3 {
		t.Fatalf("after a release twice: %d streams, want 3", n)
	}
	acquire(t, ss, "c", "t1")
}

// TestGraceCharged: a topic its last stream left stays in the leaver's
// share for the grace period, so that opening and closing streams of
// distinct topics cannot leave topics without bound; when the grace ends,
// or another client joins the topic, the leaver's share is freed.
func TestGraceCharged(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const grace = time.Minute
		ss := New(Config{Max: 100, PerClient: 100, PerClientTopics: 2, Grace: grace,
			Lingers: func(topic string) bool { return topic != "socket" }})
		for i := range 2 {
			acquire(t, ss, "a", fmt.Sprint("t", i)).Release()
		}
		if _, err := ss.Acquire("a", "t2"); !errors.Is(err, ErrClientTopics) {
			t.Fatalf("a third topic within the grace: %v, want ErrClientTopics", err)
		}
		// Its own topic again is no new topic.
		acquire(t, ss, "a", "t0").Release()
		// Another client takes t1 over: a is no longer charged with it.
		b := acquire(t, ss, "b", "t1")
		acquire(t, ss, "a", "t2").Release()

		// A topic that does not linger is not charged after its stream.
		acquire(t, ss, "c", "socket").Release()
		acquire(t, ss, "c", "x").Release()
		acquire(t, ss, "c", "y").Release()

		time.Sleep(grace + time.Second)
		synctest.Wait()
		for i := range 2 {
			acquire(t, ss, "a", fmt.Sprint("u", i)).Release()
		}
		b.Release()
		if n := ss.Count(); n != 0 {
			t.Fatalf("%d streams, want 0", n)
		}
		time.Sleep(grace + time.Second)
		synctest.Wait()
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if len(ss.clients) != 0 || len(ss.topics) != 0 {
			t.Fatalf("after every grace: %d clients, %d topics kept", len(ss.clients), len(ss.topics))
		}
	})
}
