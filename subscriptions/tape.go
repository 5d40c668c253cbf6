package subscriptions

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/retry"
)

// A shared topic's holder and its standby each keep an upstream
// subscription, whose updates are recorded on a tape: the holder appends
// them to the log from it; the standby only keeps the latest, so that when it
// takes over it appends what the log lacks from its own record (see align),
// rather than subscribing then and missing what came meanwhile. While Redis
// is away the holder's tape keeps what it could not append yet.

// tapeEntry is one update of the feed and when it came.
type tapeEntry struct {
	u  Update
	at time.Time
	// renewed marks the first update of a feed made again (the upstream
	// connection dropped, or the feed ended): whether updates were missed
	// before it is unknown (see continuation).
	renewed bool
	// first marks the first update of any feed: the state when it was
	// made, not a node event (see watch).
	first bool
}

// tape records the updates of one topic's feed, oldest first, numbered from
// zero. It keeps the last max at least (up to twice as many): an entry the
// holder could not append before it was dropped becomes a gap.
type tape struct {
	max int

	mu      sync.Mutex
	entries []tapeEntry
	first   uint64        // number of entries[0]
	changed chan struct{} // closed and replaced at every record and at end
	ended   bool          // the feed delivered a final update
}

func newTape(limit int) *tape { return &tape{max: limit, changed: make(chan struct{})} }

func (tp *tape) record(e tapeEntry) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.entries = append(tp.entries, e)
	if over := len(tp.entries) - tp.max; over >= tp.max {
		// Copy rather than reslice, so the dropped entries' data is
		// freed; once every max records, so a record costs O(1).
		tp.entries = append(tp.entries[:0:0], tp.entries[over:]...)
		tp.first += uint64(over) //nolint:gosec // G115: over >= tp.max > 0
	}
	if e.u.Final {
		tp.ended = true
	}
	close(tp.changed)
	tp.changed = make(chan struct{})
}

// since returns the entries from number i on (or from the first kept, when i
// was dropped: first then says which), and a channel closed at the next
// record.
func (tp *tape) since(i uint64) (entries []tapeEntry, first uint64, changed <-chan struct{}) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	first = max(i, tp.first)
	if n := tp.first + uint64(len(tp.entries)); first < n {
		entries = append([]tapeEntry(nil), tp.entries[first-tp.first:]...)
	} else {
		first = n
	}
	return entries, first, tp.changed
}

// eventAfter returns the oldest entry received after t that is a node's
// event: not the first update of a feed, nor of one made again, which
// tell the state and which a holder may drop (see continuation).
func (tp *tape) eventAfter(t time.Time) (tapeEntry, bool) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	i := sort.Search(len(tp.entries), func(i int) bool { return tp.entries[i].at.After(t) })
	for ; i < len(tp.entries); i++ {
		if e := tp.entries[i]; !e.first && !e.renewed {
			return e, true
		}
	}
	return tapeEntry{}, false
}

// lastAt returns when the last entry was received (zero for none).
func (tp *tape) lastAt() time.Time {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if len(tp.entries) == 0 {
		return time.Time{}
	}
	return tp.entries[len(tp.entries)-1].at
}

// next is the number the next entry will have.
func (tp *tape) next() uint64 {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.first + uint64(len(tp.entries))
}

// recorder keeps a topic's upstream subscription open and records its
// updates, until its context ends or a final update came. It is started by
// the topic's loop when the instance becomes standby or holder, and stopped
// when it becomes neither.
type recorder struct {
	tape   *tape
	cancel context.CancelFunc
	done   chan struct{}
}

// startRecorder subscribes upstream for t in a goroutine of its own.
func (t *topic) startRecorder(ctx context.Context, log *slog.Logger) *recorder {
	ctx, cancel := context.WithCancel(ctx)
	r := &recorder{tape: newTape(t.h.cfg.Retention), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t.record(ctx, r.tape, log)
	}()
	return r
}

func (r *recorder) stop() {
	r.cancel()
	<-r.done
}

// record copies the upstream feeds of t onto tp, subscribing again with
// backoff whenever a feed ends.
func (t *topic) record(ctx context.Context, tp *tape, log *slog.Logger) {
	renewed := false
	for attempt := 0; ctx.Err() == nil; {
		feed, err := t.h.upstream.Subscribe(ctx, *t.key)
		if err == nil {
			attempt = 0
			opened, fedBefore := time.Now(), t.path.fed.Load()
			t.path.subscribe(opened)
			detach := t.attach(feed)
			final := t.copyFeed(ctx, feed, tp, renewed)
			detach()
			t.path.unsubscribe()
			_ = feed.Close()
			if final || ctx.Err() != nil {
				return
			}
			renewed = true
			log.Warn("upstream feed ended; resubscribing", slog.Any("err", feed.Err()))
			if t.resubscribeNow(opened, fedBefore) {
				continue
			}
		} else {
			log.Warn("upstream subscribe failed; retrying", slog.Any("err", err))
		}
		attempt++
		if !retry.Sleep(ctx, retry.Backoff(attempt, t.h.cfg.RetryMin, t.h.cfg.RetryMax)) {
			return
		}
	}
}

// copyFeed records one feed's updates until it ends; it reports whether it
// ended with a final update.
func (t *topic) copyFeed(ctx context.Context, feed Feed, tp *tape, renewed bool) bool {
	first := true
	resumes := t.resumes.Load()
	for {
		select {
		case <-ctx.Done():
			return false
		case u, ok := <-feed.Updates():
			if !ok {
				return false
			}
			now := time.Now()
			t.path.fed.Store(now.UnixNano())
			if r := t.resumes.Load(); r != resumes {
				// The first update after a pause (a polled feed's)
				// tells the state, as a feed's first does.
				resumes, first = r, true
			}
			tp.record(tapeEntry{u: t.render(u), at: now, renewed: renewed || u.Gap, first: first})
			renewed, first = false, false
			if u.Final {
				return true
			}
		}
	}
}
