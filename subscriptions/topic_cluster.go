package subscriptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/retry"
)

// readBatch is how many log entries one read mirrors.
const readBatch = 1000

// FinalError ends a shared topic whose producer, on whatever instance,
// appended a final failure: Data is that event's payload (the gateway's
// problem document).
type FinalError struct{ Data json.RawMessage }

func (e *FinalError) Error() string {
	return "subscriptions: upstream rejected the subscription: " + string(e.Data)
}

// mirror is the state a topic keeps in cluster mode, owned by its loop.
type mirror struct {
	owner    bool
	producer context.CancelFunc // stops the producer when owner
	prodDone chan struct{}
	lastID   string
	// idleSince is when the last local reader left (zero while there
	// are readers): the instance counts as present for Grace after it.
	idleSince time.Time
}

// clusterLoop runs a shared topic on this instance until the topic is idle
// everywhere (or ctx ends): it mirrors the shared log into the local ring,
// heartbeats presence, and produces when it holds the lease.
func (t *topic) clusterLoop(ctx context.Context) {
	c := t.h.cfg.Cluster
	log := t.h.logger.With(slog.String("topic", t.name), slog.String("method", t.key.Method))
	var m mirror
	defer func() {
		m.stopProducer()
		// Best effort: another instance takes over after the lease
		// TTL if this fails.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if m.owner {
			_ = c.Release(ctx, t.name)
		}
		_, _ = c.Present(ctx, t.name, false)
	}()

	// Load what the log retains, so that resuming readers find it here.
	for attempt := 1; ; attempt++ {
		evs, err := c.Tail(ctx, t.name, t.h.cfg.Retention)
		if err == nil {
			t.mirror(&m, evs)
			break
		}
		log.Warn("reading the shared log failed; retrying", slog.Any("err", err))
		if !retry.Sleep(ctx, retry.Backoff(attempt, 50*time.Millisecond, 2*time.Second)) {
			return
		}
	}
	close(t.ready)

	tick := time.NewTicker(t.h.cfg.ClusterTick)
	defer tick.Stop()
	t.upkeep(ctx, &m, log)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.announce:
			t.poll(ctx, &m, log)
		case <-m.prodDone:
			m.stopProducer() // the feed ended; the next upkeep starts it again
		case <-tick.C:
			t.poll(ctx, &m, log)
			if !t.upkeep(ctx, &m, log) {
				t.close(nil)
				return
			}
		}
	}
}

// poll mirrors the log's new events.
func (t *topic) poll(ctx context.Context, m *mirror, log *slog.Logger) {
	for {
		evs, err := t.h.cfg.Cluster.Range(ctx, t.name, m.lastID, readBatch)
		if err != nil {
			if ctx.Err() == nil {
				log.Debug("reading the shared log failed", slog.Any("err", err))
			}
			return
		}
		t.mirror(m, evs)
		if len(evs) < readBatch {
			return
		}
	}
}

// mirror appends log events to the local ring. A log that starts over (Redis
// lost its data) ends the local topic: its readers reconnect and resume with
// a gap.
func (t *topic) mirror(m *mirror, evs []Event) {
	for _, e := range evs {
		if e.Final {
			t.h.remove(t) // as in close
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return
		}
		if last, ok := t.events.last(); ok && e.Seq <= last.Seq {
			t.mu.Unlock()
			t.h.logger.Warn("shared log restarted; ending the local topic", slog.String("topic", t.name))
			t.close(errLogReset)
			return
		}
		t.events.push(e)
		t.nextSeq = e.Seq + 1
		if ms, _, err := ParseID(e.ID); err == nil {
			t.lastMs = ms
		}
		close(t.changed)
		t.changed = make(chan struct{})
		if e.Final {
			t.closed, t.err = true, &FinalError{Data: e.Data}
		}
		t.mu.Unlock()
		m.lastID = e.ID
		t.firstPushOnce.Do(func() { close(t.firstPush) })
		if e.Final {
			t.afterClose()
			return
		}
	}
}

// errLogReset ends a topic whose shared log started over. It is an
// ErrUnavailable: the readers are told to come back (503), not that the
// gateway failed.
var errLogReset = fmt.Errorf("%w: the shared log restarted", ErrUnavailable)

// upkeep heartbeats presence and keeps, takes or gives up the lease. It
// reports whether the topic should live on here.
func (t *topic) upkeep(ctx context.Context, m *mirror, log *slog.Logger) bool {
	c := t.h.cfg.Cluster
	t.mu.Lock()
	members := t.members
	t.mu.Unlock()
	if members > 0 {
		m.idleSince = time.Time{}
	} else if m.idleSince.IsZero() {
		m.idleSince = time.Now()
	}
	here := members > 0 || time.Since(m.idleSince) < t.h.cfg.Grace
	anywhere, err := c.Present(ctx, t.name, here)
	if err != nil {
		log.Debug("presence heartbeat failed", slog.Any("err", err))
		return here || m.owner // Redis unreachable: keep what we have
	}
	if anywhere == 0 {
		return false // nobody reads this topic any more: end it
	}
	if !here && !m.owner {
		return false // others read it; their instances mirror it
	}
	held, err := c.Lease(ctx, t.name)
	if err != nil {
		log.Debug("lease renewal failed", slog.Any("err", err))
		return true
	}
	switch {
	case held && !m.owner:
		log.Info("took the topic's lease: subscribing upstream")
		m.owner = true
		t.startProducer(ctx, m, log)
	case held && m.producer == nil:
		t.startProducer(ctx, m, log)
	case !held && m.owner:
		log.Info("lost the topic's lease")
		m.owner = false
		m.stopProducer()
	}
	return true
}

// startProducer subscribes upstream and appends the pushes to the shared
// log while the lease is held.
func (t *topic) startProducer(ctx context.Context, m *mirror, log *slog.Logger) {
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	m.producer, m.prodDone = cancel, done
	go func() {
		defer close(done)
		// The log's own last event, not this instance's copy, which may
		// lag it.
		var last Event
		tail, err := t.h.cfg.Cluster.Tail(pctx, t.name, 1)
		if err != nil {
			log.Warn("reading the shared log failed; not subscribing yet", slog.Any("err", err))
			return
		}
		hasLast := len(tail) == 1
		if hasLast {
			last = tail[0]
		}
		feed, err := t.h.upstream.Subscribe(pctx, *t.key)
		if err != nil {
			log.Warn("upstream subscribe failed", slog.Any("err", err))
			return
		}
		defer feed.Close()
		r := renewal{key: *t.key, first: true}
		lastEvent := func() (Event, bool) { return last, hasLast }
		for {
			select {
			case <-pctx.Done():
				return
			case u, ok := <-feed.Updates():
				if !ok {
					return
				}
				// After a takeover, or when the feed was made again,
				// the new subscription continues the log.
				drop, gap := r.admit(u, lastEvent)
				if drop {
					continue
				}
				if gap != nil {
					if e, err := t.h.cfg.Cluster.Append(pctx, t.name, *gap); err == nil {
						last = e
					} else if errors.Is(err, ErrNotOwner) {
						return
					}
				}
				e, err := t.h.cfg.Cluster.Append(pctx, t.name, Event{Type: u.Type, Data: u.Data, Final: u.Final})
				switch {
				case errors.Is(err, ErrNotOwner):
					return
				case err != nil:
					log.Warn("push not appended to the shared log", slog.Any("err", err))
				default:
					last, hasLast = e, true
				}
				if u.Final {
					return
				}
			}
		}
	}()
}

func (m *mirror) stopProducer() {
	if m.producer != nil {
		m.producer()
		<-m.prodDone
		m.producer, m.prodDone = nil, nil
	}
}

// catchUpWait bounds how long a resuming reader waits for this instance's
// copy of the shared log to reach its Last-Event-ID.
const catchUpWait = time.Second

// catchUp asks the topic's loop to read the log until the topic has the
// event after, within the given time (an ID from an earlier log never
// comes: the reader then gets its gap after the wait).
func (t *topic) catchUp(ctx context.Context, after uint64, within time.Duration) {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		t.mu.RLock()
		reached, changed := t.nextSeq-1 >= after || t.closed, t.changed
		t.mu.RUnlock()
		if reached {
			return
		}
		select {
		case t.announce <- struct{}{}:
		default: // a read is already due
		}
		select {
		case <-changed:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
