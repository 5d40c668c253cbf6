package subscriptions

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/retry"
)

// topic is the shared state of one subscription: its retained events, its
// readers, and the goroutine that feeds it from upstream.
type topic struct {
	h    *Hub
	name string
	key  *Key // nil for a local topic

	// firstPush is closed at the first update or failure.
	firstPush chan struct{}
	// ready is closed once a shared topic has loaded its log (at once for
	// a topic of a lone hub).
	ready chan struct{}
	// announce wakes a shared topic's loop: the log has new events.
	announce      chan struct{}
	firstPushOnce sync.Once
	cancel        context.CancelFunc // stops produce; nil for local topics
	path          pushPath           // for Hub.Stalled
	// idleSince is when a topic fed from upstream lost its last reader
	// (Unix nanoseconds; 0 while it has readers, or has had none yet).
	// Written under mu; read without it by the hub, which ends the
	// topics idle the longest first (Hub.topicFor).
	idleSince atomic.Int64

	// mu guards everything below. Readers (Member.Ready and Take) share
	// it: an append wakes every stream of the topic at once, and they must
	// not queue behind one another to read the same events.
	mu      sync.RWMutex
	events  *ring
	nextSeq uint64
	lastMs  int64
	// epoch is the Event.Epoch of the events (zero while a shared topic
	// has mirrored none); gen counts the times a shared topic's log
	// started over, its ring with it (see Member.Take).
	epoch int64
	gen   uint64
	// lost is set by a shared topic's mirror when it skipped an event of
	// the log it had another of: the next event it keeps is marked lost.
	lost bool
	// movedAt is when a shared topic's copy last got an event of the log
	// (this instance's clock; see watch).
	movedAt time.Time
	// changed is closed and replaced at every append and at close: the
	// readers wait on it.
	changed chan struct{}
	members int
	grace   *time.Timer
	closed  bool
	err     error // why the topic closed
	// paused is set while the topic's polled feeds (pausers) are to call
	// nobody: no reader here, nor (shared topic) on any instance. See
	// setPausedLocked.
	paused  bool
	pausers map[Pausable]struct{}
	// resumes counts the ends of pauses (read without mu by copyFeed).
	resumes atomic.Uint64
}

func newTopic(h *Hub, name string, key *Key) *topic {
	t := &topic{
		h: h, name: name, key: key,
		firstPush: make(chan struct{}),
		ready:     make(chan struct{}),
		announce:  make(chan struct{}, 1),
		events:    newRing(h.cfg.Retention),
		nextSeq:   1,
		changed:   make(chan struct{}),
	}
	if key == nil || h.cfg.Cluster == nil {
		close(t.ready)
		// This instance numbers the topic's events from now on: an ID
		// from an earlier topic of the name (before a restart) has an
		// earlier time.
		t.epoch = time.Now().UnixMilli() - 1
	}
	return t
}

// waitReady waits until the topic can be joined: a shared topic loads its
// log first. A topic that could not load in time is an error (Redis down).
func (t *topic) waitReady(ctx context.Context, within time.Duration) error {
	select {
	case <-t.ready:
		return nil
	default:
	}
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case <-t.ready:
		return nil
	case <-timer.C:
		return ErrUnavailable
	case <-ctx.Done():
		return ctx.Err()
	}
}

// empty reports whether the topic has no event yet.
func (t *topic) empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.events.count == 0
}

// append adds one event and wakes the readers. It never blocks on them.
func (t *topic) append(typ string, data []byte) { t.appendAndClose(typ, data, nil) }

// appendAndClose adds one event and, when final is set, closes the topic
// with it in the same step, so that no reader sees the event without the end.
func (t *topic) appendAndClose(typ string, data []byte, final error) {
	if final != nil {
		t.h.remove(t) // as in close
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	ms := max(time.Now().UnixMilli(), t.lastMs) // IDs never go back
	e := Event{ID: FormatID(ms, t.nextSeq), Seq: t.nextSeq, Type: typ, Data: data, Epoch: t.epoch}
	t.markHeight(&e)
	t.lastMs = ms
	t.nextSeq++
	t.events.push(e)
	close(t.changed)
	t.changed = make(chan struct{})
	if final != nil {
		t.closed, t.err = true, final
		if t.grace != nil {
			t.grace.Stop()
		}
	}
	t.mu.Unlock()
	t.firstPushOnce.Do(func() { close(t.firstPush) })
	if final != nil {
		t.afterClose()
	}
}

// join adds a reader whose cursor is after (resume: the event of time
// afterMs and sequence number after) or, when not resuming, just before the
// latest event.
func (t *topic) join(afterMs int64, after uint64, resume bool) *Member {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.members++
	t.idleSince.Store(0)
	t.setPausedLocked(false)
	if t.grace != nil {
		t.grace.Stop()
		t.grace = nil
	}
	m := &Member{t: t, gen: t.gen, fresh: !resume}
	last := t.nextSeq - 1
	switch {
	case !resume:
		m.cursor = max(last, 1) - 1 // replay the current state
	case t.epoch != 0 && afterMs <= t.epoch:
		// An ID of an earlier log of the topic (see Event.Epoch),
		// whose numbers this one reuses.
		m.cursor, m.gap = last, true
	case after > last:
		// An ID this topic never issued (an earlier incarnation, another
		// topic): what came before is unknown.
		m.cursor, m.gap = last, true
	case !t.issuedLocked(afterMs, after):
		// The topic's event of that sequence number has another time:
		// the ID is of an earlier incarnation, whose numbers the topic
		// reuses (it ended and started again, or the shared log was
		// lost with Redis's data). Reading on from that number would
		// skip events unannounced: what came before is unknown.
		m.cursor, m.gap = last, true
	default:
		m.cursor = after
	}
	return m
}

// issuedLocked reports whether the event of sequence number seq, if the
// topic still retains it, has the time ms: whether this topic issued that
// ID. An event no longer retained cannot be checked; the reader's next Take
// reports the gap. t.mu must be held.
func (t *topic) issuedLocked(ms int64, seq uint64) bool {
	e, ok := t.events.find(seq)
	if !ok {
		return true
	}
	ems, _, err := ParseID(e.ID)
	return err != nil || ems == ms
}

// leave removes a reader; the last one starts the grace period.
func (t *topic) leave() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.members--
	if t.members > 0 || t.closed || t.key == nil {
		return
	}
	t.idleSince.Store(time.Now().UnixNano())
	// A shared topic's loop decides when it ends, and pauses, from the
	// whole cluster's presence.
	if t.h.cfg.Cluster != nil {
		return
	}
	t.setPausedLocked(true)
	t.grace = time.AfterFunc(t.h.cfg.Grace, func() {
		t.mu.Lock()
		idle := t.members == 0
		t.mu.Unlock()
		if idle {
			t.h.logger.Debug("topic idle; closing", slog.String("topic", t.name))
			t.close(nil)
		}
	})
}

// setPausedLocked pauses the topic's polled feeds, or resumes them: a feed
// that calls the upstream for the topic (pollFeed) calls nobody's while
// the topic has no reader, through its grace period. t.mu must be held.
func (t *topic) setPausedLocked(paused bool) {
	if t.paused == paused {
		return
	}
	t.paused = paused
	t.path.pause(paused, time.Now())
	if !paused {
		t.resumes.Add(1)
	}
	for p := range t.pausers {
		p.Pause(paused)
	}
}

// pauseIfIdle pauses the polled feeds of a shared topic that has no reader
// here, when no other instance has one (readersElsewhere false); else it
// resumes them.
func (t *topic) pauseIfIdle(readersElsewhere bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setPausedLocked(t.members == 0 && !readersElsewhere)
}

// attach makes a feed of the topic pause with it, when it can; detach
// undoes it.
func (t *topic) attach(f Feed) (detach func()) {
	p, ok := f.(Pausable)
	if !ok {
		return func() {}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pausers == nil {
		t.pausers = map[Pausable]struct{}{}
	}
	t.pausers[p] = struct{}{}
	if t.paused {
		p.Pause(true)
	}
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.pausers, p)
	}
}

// evict ends the topic if it still has no reader: the hub needs its place.
func (t *topic) evict() {
	t.mu.Lock()
	idle := t.members == 0 && !t.closed
	t.mu.Unlock()
	if idle {
		t.h.logger.Debug("topic idle; ended for a new one", slog.String("topic", t.name))
		t.close(nil)
	}
}

// close ends the topic: readers drain what is retained, then get err.
func (t *topic) close(err error) {
	// Out of the hub before anyone can see it closed: a reader told of
	// the end finds a new topic if it joins again.
	t.h.remove(t)
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed, t.err = true, err
	if t.grace != nil {
		t.grace.Stop()
	}
	close(t.changed)
	t.mu.Unlock()
	t.firstPushOnce.Do(func() { close(t.firstPush) })
	t.afterClose()
}

// afterClose stops the producer and forgets the topic.
func (t *topic) afterClose() {
	if t.cancel != nil {
		t.cancel()
	}
	t.h.remove(t)
}

// failure returns the error the topic closed with, if any.
func (t *topic) failure() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed && t.err != nil {
		return &TopicError{Key: *t.key, Err: t.err}
	}
	return nil
}

// produce feeds the topic from the upstream until ctx ends: it reopens the
// feed with backoff if it ends while the topic lives, and closes the topic
// on a final failure.
func (t *topic) produce(ctx context.Context) {
	log := t.h.logger.With(slog.String("topic", t.name), slog.String("method", t.key.Method))
	attempt := 0
	for ctx.Err() == nil {
		feed, err := t.h.upstream.Subscribe(ctx, *t.key)
		if err != nil {
			if !t.hasFed() {
				// Nothing was ever delivered: the Join waiting on
				// this topic reports the failure.
				t.close(err)
				return
			}
			attempt++
			log.Warn("upstream subscribe failed; retrying", slog.Any("err", err))
			if !retry.Sleep(ctx, retry.Backoff(attempt, t.h.cfg.RetryMin, t.h.cfg.RetryMax)) {
				return
			}
			continue
		}
		attempt = 0
		opened, fedBefore := time.Now(), t.path.fed.Load()
		t.path.subscribe(opened)
		detach := t.attach(feed)
		final := t.pump(ctx, feed, t.hasFed())
		detach()
		t.path.unsubscribe()
		_ = feed.Close()
		if final != nil {
			return // pump closed the topic
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("upstream feed ended; resubscribing", slog.Any("err", feed.Err()))
		if !t.resubscribeNow(opened, fedBefore) {
			attempt++
			if !retry.Sleep(ctx, retry.Backoff(attempt, t.h.cfg.RetryMin, t.h.cfg.RetryMax)) {
				return
			}
		}
	}
}

// steadyFeed is how long a feed that delivered must have lived for the
// next one to be opened without a pause.
const steadyFeed = time.Second

// resubscribeNow reports whether the feed opened at opened, when the topic
// was last fed at fedBefore, worked (it delivered, for a while): its end
// (its node left rotation, its connection dropped) is no reason to wait
// before subscribing again, and its readers hear nothing meanwhile. A feed
// that ends at once waits, with backoff.
func (t *topic) resubscribeNow(opened time.Time, fedBefore int64) bool {
	return t.path.fed.Load() != fedBefore && time.Since(opened) >= steadyFeed
}

// pump copies a feed into the topic until it ends; it returns the error of a
// final update. renewed says the feed continues the topic's log (see
// continuation).
func (t *topic) pump(ctx context.Context, feed Feed, renewed bool) error {
	r := renewal{key: *t.key, chain: t.h.cfg.Chain, first: renewed}
	behind := false // logged that the feed is behind the log
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-feed.Updates():
			if !ok {
				return nil
			}
			t.path.fed.Store(time.Now().UnixNano())
			u = t.render(u)
			n, prevID := r.admit(u, t.lastEvent)
			if n.drop {
				if n.ordered && !behind {
					behind = true
					t.h.logger.Warn("the upstream feed is behind the log: its pushes are dropped until it passes the log's last height",
						slog.String("topic", t.name), slog.String("last", prevID))
				}
				continue
			}
			if n.rollback != nil {
				t.append(n.rollback.Type, n.rollback.Data)
			}
			if n.gap {
				if pushes := t.h.fill(ctx, *t.key, n); pushes != nil {
					for _, p := range pushes {
						t.append(TypePush, p)
					}
				} else {
					t.append(TypeGap, gapData(prevID))
				}
			}
			if !u.Final {
				t.append(u.Type, u.Data)
				continue
			}
			err := u.Err
			if err == nil {
				err = errFinal
			}
			t.appendAndClose(u.Type, u.Data, err)
			return err
		}
	}
}

var errFinal = &finalError{}

type finalError struct{}

func (*finalError) Error() string { return "upstream ended the subscription" }

// render applies Config.Render to a push of the feed.
func (t *topic) render(u Update) Update {
	if t.h.cfg.Render != nil && u.Type == TypePush && t.key != nil {
		u.Data = t.h.cfg.Render(*t.key, u.Data)
	}
	return u
}

// markHeight sets the height of e, an event of a topic that follows the
// chain. A rollback event to the tip h stands for h-1: the pushes after it
// start at h at the latest, so a reader resumed after it is sent h on.
func (t *topic) markHeight(e *Event) {
	if t.key == nil || t.h.cfg.Chain == nil {
		return
	}
	switch e.Type {
	case TypePush:
		e.Height, e.HasHeight = t.h.cfg.Chain.Height(*t.key, e.Data)
	case TypeRollback:
		var rb struct{ Height *int64 }
		if json.Unmarshal(e.Data, &rb) == nil && rb.Height != nil && *rb.Height >= 1 {
			e.Height, e.HasHeight = *rb.Height-1, true
		}
	}
}

// lastEvent returns the latest event of the topic.
func (t *topic) lastEvent() (Event, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.events.last()
}

func (t *topic) hasFed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nextSeq > 1
}
