package subscriptions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
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
	role Role
	// rec keeps the instance's own upstream subscription, while standby
	// or holder.
	rec *recorder
	// app appends the tape to the log, while holder; appDone is closed
	// when it stops, and appErr then says why.
	app     context.CancelFunc
	appDone chan struct{}
	appErr  error
	lastID  string
	// ended: a final update was appended; the topic ends when its mirror
	// reads it, and nothing more is appended meanwhile.
	ended bool
	// idleSince is when the last local reader left (zero while there
	// are readers): the instance counts as present for Grace after it.
	idleSince time.Time
	// standbySince is when this instance last became the standby.
	standbySince time.Time
}

// patient reports whether this instance's claims of a free lease should
// wait while the log does not exist (see Cluster.Claim): it became the
// standby within the lease TTL, and the topic has events here. The log may
// have been lost with Redis's data, and the instances that were holder and
// standby then, whose tapes may hold pushes the log lacks, get that long to
// take the lease first. (A new topic has nothing to lose.)
func (t *topic) patient(m *mirror) bool {
	if m.role != RoleStandby || time.Since(m.standbySince) >= t.h.cfg.Cluster.LeaseTTL() {
		return false
	}
	_, ok := t.lastEvent()
	return ok
}

// clusterLoop runs a shared topic on this instance until the topic is idle
// everywhere (or ctx ends): it mirrors the shared log into the local ring,
// heartbeats presence, and keeps the role the instance has: holder, standby
// or mirror.
func (t *topic) clusterLoop(ctx context.Context) {
	c := t.h.cfg.Cluster
	log := t.h.logger.With(slog.String("topic", t.name), slog.String("method", t.key.Method))
	var m mirror
	defer func() {
		_ = m.stopAppender() // the topic ends here: why the appender stopped no longer matters
		if m.rec != nil {
			log.Info("unsubscribing upstream: the topic ends here")
			m.stopRecorder()
		}
		// Best effort: the standby takes over after the lease TTL if
		// this fails; at once (its next lease tick) if it does not.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if m.role != RoleMirror {
			_ = c.Release(ctx, t.name)
		}
		_, _, _ = c.Present(ctx, t.name, false, false)
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
	leaseTick := time.NewTicker(max(c.LeaseTTL()/6, time.Millisecond))
	defer leaseTick.Stop()
	t.upkeep(ctx, &m, log)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.announce:
			t.poll(ctx, &m, log)
		case <-m.appDone:
			err := m.stopAppender()
			if errors.Is(err, errFinalAppended) {
				m.ended = true
				m.stopRecorder()
				t.poll(ctx, &m, log)
				continue
			}
			if errors.Is(err, ErrNotOwner) || errors.Is(err, ErrDiverged) {
				// Keep the tape: if the lease comes back (Redis
				// restarted), what it holds is appended then.
				log.Info("stopped appending to the shared log", slog.Any("err", err))
				m.role = RoleStandby
				t.claim(ctx, &m, RoleHolder, log)
			}
		case <-leaseTick.C:
			if m.role != RoleMirror {
				t.claim(ctx, &m, RoleHolder, log)
			}
		case <-tick.C:
			t.poll(ctx, &m, log)
			t.watch(ctx, &m, log)
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

// mirror appends log events to the local ring.
//
// The log may go back on this copy when Redis lost events: a holder that
// lacked the last ones restores what it has and goes on from there. An event
// this ring has already is skipped; one that differs from this ring's is
// lost to its readers, and the next event says so (Batch.Lost). A log that
// started over (another epoch) starts the ring over too, which its readers
// learn the same way.
func (t *topic) mirror(m *mirror, evs []Event) {
	for _, e := range evs {
		m.lastID = e.ID
		if e.Final {
			t.h.remove(t) // as in close
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return
		}
		last, hasLast := t.events.last()
		switch {
		case hasLast && e.Epoch != last.Epoch:
			t.h.logger.Warn("shared log started over; so does the local copy", slog.String("topic", t.name))
			t.events = newRing(t.h.cfg.Retention)
			t.gen++
		case hasLast && e.Seq <= last.Seq:
			if have, ok := t.events.find(e.Seq); !ok || have.Type != e.Type || !bytes.Equal(have.Data, e.Data) {
				t.lost = true
			}
			t.mu.Unlock()
			continue
		}
		t.pushLocked(e)
		if e.Final {
			t.closed, t.err = true, &FinalError{Data: e.Data}
		}
		t.mu.Unlock()
		t.firstPushOnce.Do(func() { close(t.firstPush) })
		if e.Final {
			t.afterClose()
			return
		}
	}
}

// pushLocked adds a log event to the local copy and wakes the readers.
// t.mu must be held.
func (t *topic) pushLocked(e Event) {
	e.lost, t.lost = t.lost, false
	t.markHeight(&e)
	t.events.push(e)
	t.epoch = e.Epoch
	t.nextSeq = e.Seq + 1
	t.movedAt = time.Now()
	if ms, _, err := ParseID(e.ID); err == nil {
		t.lastMs = ms
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// keep adds an event this instance has just appended to the local copy,
// when it is the copy's next one, without waiting for the mirror to read it
// back (which then skips it): the copy is never behind what this instance
// appended, and it is what the instance restores the log from if Redis
// loses it. Anything else (a final event, a log that started over) is left
// to the mirror.
func (t *topic) keep(e Event) {
	if e.Final {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	last, hasLast := t.events.last()
	if t.closed || !hasLast || e.Epoch != last.Epoch || e.Seq != last.Seq+1 {
		return
	}
	t.pushLocked(e)
}

// upkeep heartbeats presence and, for an instance with readers, claims a
// role. It reports whether the topic should live on here.
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
	anywhere, readers, err := c.Present(ctx, t.name, here, members > 0)
	if err != nil {
		log.Debug("presence heartbeat failed", slog.Any("err", err))
		return here || m.role != RoleMirror // Redis unreachable: keep what we have
	}
	if anywhere == 0 {
		return false // nobody reads this topic any more: end it
	}
	// A polled subscription (holder's or standby's) calls the upstream
	// only while some instance has readers; in the grace periods it
	// pauses (a reader joining here resumes it at once, see join).
	t.pauseIfIdle(readers > 0)
	switch {
	case m.role == RoleHolder:
		// Others read it: go on producing for them.
	case !here && m.role == RoleStandby:
		t.claim(ctx, m, RoleMirror, log) // give the standby claim up
		return m.role != RoleMirror
	case !here:
		return false // others read it; their instances mirror it
	case m.role == RoleMirror:
		// Stand by first: the lease goes to an instance subscribed
		// upstream (see Cluster.Claim and patient). A new topic has no
		// events to lose: its first instance takes the lease at once
		// (and leaves the standby claim free for the next).
		want := RoleStandby
		if _, ok := t.lastEvent(); !ok {
			want = RoleHolder
		}
		t.claim(ctx, m, want, log)
		if m.role == RoleStandby {
			t.claim(ctx, m, RoleHolder, log)
		}
	}
	return true
}

// watch compares a standby's own subscription with the log, which the
// holder's feeds, and acts when one of them stopped while the other goes
// on (a subscription can die silently: the node forgets it, or a proxy
// holds the connection open):
//
//   - the standby received a node's event the log lacks for stallAfter: the
//     holder stopped appending, though it renews its lease. The standby
//     takes the lease from it and appends what it recorded (Cluster.Displace).
//   - the log moved for stallAfter past the standby's last update: its own
//     subscription stopped. It subscribes again, for its tape to be of use.
//
// Both compare times of this instance's clock: when it received an update,
// and when its copy of the log moved.
func (t *topic) watch(ctx context.Context, m *mirror, log *slog.Logger) {
	if m.role != RoleStandby || m.rec == nil || m.ended {
		return
	}
	t.mu.RLock()
	moved := t.movedAt
	t.mu.RUnlock()
	if moved.IsZero() {
		return
	}
	now := time.Now()
	// An event the holder should have appended within milliseconds; the
	// second is for the two instances' receive times to differ.
	if e, ok := m.rec.tape.eventAfter(moved.Add(time.Second)); ok && now.Sub(e.at) > stallAfter {
		log.Warn("the shared log stopped moving while this instance's subscription delivers: taking the lease over",
			slog.Duration("behind", now.Sub(moved).Round(time.Millisecond)))
		if err := t.h.cfg.Cluster.Displace(ctx, t.name); err != nil {
			log.Warn("taking the lease over failed", slog.Any("err", err))
			return
		}
		t.promote(ctx, m, log)
		return
	}
	sub := t.path.subscribed.Load()
	if sub == 0 {
		return // subscribing again already
	}
	since := m.rec.tape.lastAt()
	if at := time.Unix(0, sub); at.After(since) {
		since = at
	}
	// The second, again, for an event that moved the log to reach this
	// instance on its own subscription too.
	if moved.Sub(since) > stallAfter && now.Sub(since) > stallAfter+time.Second {
		log.Warn("this instance's standby subscription stopped delivering while the log moves: subscribing again",
			slog.Duration("silent", moved.Sub(since).Round(time.Millisecond)))
		m.stopRecorder()
		m.rec = t.startRecorder(ctx, log)
	}
}

// claim renews or takes a role (see Cluster.Claim) and acts on a change.
func (t *topic) claim(ctx context.Context, m *mirror, want Role, log *slog.Logger) {
	if m.ended {
		return
	}
	role, err := t.h.cfg.Cluster.Claim(ctx, t.name, want, want == RoleHolder && t.patient(m))
	if err != nil {
		// Keep the role: an appender that lost the lease meanwhile is
		// told by the log.
		log.Debug("claiming the topic failed", slog.Any("err", err))
		return
	}
	if role == m.role && (role != RoleHolder || m.app != nil) {
		return
	}
	switch role {
	case RoleHolder:
		t.promote(ctx, m, log)
	case RoleStandby:
		if m.role == RoleHolder {
			log.Info("lost the topic's lease; standing by")
		} else {
			log.Info("standing by: subscribing upstream")
			m.standbySince = time.Now()
		}
		_ = m.stopAppender() // no longer the holder: how the appender ended does not matter
		if m.rec == nil {
			m.rec = t.startRecorder(ctx, log)
		}
	case RoleMirror:
		switch m.role {
		case RoleHolder:
			log.Info("lost the topic's lease")
		case RoleStandby:
			log.Info("stopped standing by")
		}
		_ = m.stopAppender() // no longer the holder: how the appender ended does not matter
		m.stopRecorder()
	}
	m.role = role
}

// promote makes this instance the topic's holder: it appends its tape to the
// log, from where the log ends.
func (t *topic) promote(ctx context.Context, m *mirror, log *slog.Logger) {
	// Fresh: the tape holds nothing from before this holder (a standby
	// that only just subscribed, for a new topic, counts as fresh).
	fresh := m.rec == nil || m.rec.tape.next() == 0
	if m.rec == nil {
		log.Info("took the topic's lease: subscribing upstream")
		m.rec = t.startRecorder(ctx, log)
	} else {
		log.Info("took the topic's lease: appending what the standby subscription recorded")
	}
	_ = m.stopAppender() // replaced by the one started below
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	m.app, m.appDone = cancel, done
	tp := m.rec.tape
	go func() {
		defer close(done)
		m.appErr = t.appendTape(actx, tp, fresh, log)
	}()
	m.role = RoleHolder
}

// stopAppender stops the appender, if any, and returns why it stopped.
func (m *mirror) stopAppender() error {
	if m.app == nil {
		return nil
	}
	m.app()
	<-m.appDone
	err := m.appErr
	m.app, m.appDone, m.appErr = nil, nil, nil
	return err
}

func (m *mirror) stopRecorder() {
	if m.rec != nil {
		m.rec.stop()
		m.rec = nil
	}
}

// errFinalAppended stops an appender that appended a final update: the
// topic ends everywhere.
var errFinalAppended = errors.New("subscriptions: final update appended")

// appendTape appends the tape's entries to the log while this instance holds
// the lease, from where the log ends (see align). It returns ErrNotOwner or
// ErrDiverged when it must line up again, ctx's error, or errFinalAppended.
// Other failures of Redis are retried: the tape keeps what waits.
func (t *topic) appendTape(ctx context.Context, tp *tape, fresh bool, log *slog.Logger) error {
	tail, err := t.logEnd(ctx, log)
	if err != nil {
		return err
	}
	a := t.lineUp(ctx, tp, tail, fresh)
	var last Event
	hasLast := len(tail) > 0
	if hasLast {
		last = tail[len(tail)-1]
	}
	after := last.ID
	cursor, check := a.start, !a.exact
	defer t.path.pending.Store(0)
	for {
		entries, first, changed := tp.since(cursor)
		if len(entries) > 0 {
			t.path.pending.Store(entries[0].at.UnixNano())
		}
		lost := first > cursor // dropped before they could be appended
		for _, en := range entries {
			var n next
			switch {
			case lost:
				n.gap, lost = hasLast, false
			case check || en.renewed:
				n = continuation(*t.key, t.h.cfg.Chain, last, hasLast, en.u, en.at)
			case t.h.cfg.Chain != nil:
				n = sameFeed(*t.key, t.h.cfg.Chain, last, hasLast, en.u)
			}
			// A node behind the log's last height catches up through
			// heights the log has: judge its entries until one is new.
			if n.drop && n.ordered && !check {
				log.Warn("the upstream feed is behind the shared log: its pushes are dropped until it passes the log's last height",
					slog.String("last", last.ID))
			}
			check = n.drop && n.ordered
			if n.rollback != nil {
				e, err := t.appendRetry(ctx, &after, *n.rollback, log)
				if err != nil {
					return err
				}
				last = e
			}
			if !n.drop {
				if n.gap {
					missed := []Event{{Type: TypeGap, Data: gapData(last.ID)}}
					if pushes := t.h.fill(ctx, *t.key, n); pushes != nil {
						missed = missed[:0]
						for _, p := range pushes {
							missed = append(missed, Event{Type: TypePush, Data: p})
						}
					}
					for _, m := range missed {
						e, err := t.appendRetry(ctx, &after, m, log)
						if err != nil {
							return err
						}
						last = e
					}
				}
				e, err := t.appendRetry(ctx, &after, Event{Type: en.u.Type, Data: en.u.Data, Final: en.u.Final}, log)
				if err != nil {
					return err
				}
				last, hasLast = e, true
			}
			if en.u.Final {
				return errFinalAppended
			}
		}
		cursor = first + uint64(len(entries))
		t.path.pending.Store(0)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// logEnd returns the log's last events, after putting back those this
// instance has and the log lost (Redis restarted without them). Redis being
// away, it retries until ctx ends.
func (t *topic) logEnd(ctx context.Context, log *slog.Logger) ([]Event, error) {
	c := t.h.cfg.Cluster
	for attempt := 1; ; attempt++ {
		tail, err := c.Tail(ctx, t.name, alignTail)
		if err == nil {
			if missing := t.missingFrom(tail); len(missing) > 0 {
				if _, _, err = c.Restore(ctx, t.name, missing); err == nil {
					log.Info("restored the events the shared log had lost", slog.Int("events", len(missing)))
					tail, err = c.Tail(ctx, t.name, alignTail)
				}
			}
		}
		switch {
		case err == nil:
			return tail, nil
		case errors.Is(err, ErrNotOwner), ctx.Err() != nil:
			return nil, err
		}
		log.Debug("reading the shared log failed; retrying", slog.Any("err", err))
		if !retry.Sleep(ctx, retry.Backoff(attempt, 50*time.Millisecond, time.Second)) {
			return nil, ctx.Err()
		}
	}
}

// missingFrom returns the events of the local copy that the log, ending with
// tail, lacks: all of them when it is empty, those after its last event when
// it is of their epoch.
func (t *topic) missingFrom(tail []Event) []Event {
	t.mu.RLock()
	defer t.mu.RUnlock()
	local := t.events.all()
	if len(local) == 0 {
		return nil
	}
	if len(tail) == 0 {
		return local
	}
	last := tail[len(tail)-1]
	if last.Epoch != local[len(local)-1].Epoch {
		return nil // the log started over without this copy
	}
	i := sort.Search(len(local), func(i int) bool { return idAfter(local[i].ID, last.ID) })
	return local[i:]
}

// idAfter reports whether event ID a comes after b (in Redis Stream order).
func idAfter(a, b string) bool {
	ams, aseq, _ := ParseID(a)
	bms, bseq, _ := ParseID(b)
	return ams > bms || (ams == bms && aseq > bseq)
}

// lineUp aligns the tape with the log's tail, waiting up to alignWait for a
// tape that lags the log.
func (t *topic) lineUp(ctx context.Context, tp *tape, tail []Event, fresh bool) alignment {
	timer := time.NewTimer(alignWait)
	defer timer.Stop()
	for {
		entries, first, changed := tp.since(0)
		a := align(*t.key, tail, entries, first, fresh)
		if !a.behind {
			return a
		}
		select {
		case <-changed:
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		a.behind, a.exact = false, false
		return a
	}
}

// appendRetry appends e after the event *after, retrying while Redis is
// away, and moves *after on.
func (t *topic) appendRetry(ctx context.Context, after *string, e Event, log *slog.Logger) (Event, error) {
	for attempt := 1; ; attempt++ {
		got, err := t.h.cfg.Cluster.Append(ctx, t.name, *after, e)
		switch {
		case err == nil:
			*after = got.ID
			t.keep(got)
			return got, nil
		case errors.Is(err, ErrNotOwner), errors.Is(err, ErrDiverged), ctx.Err() != nil:
			return Event{}, err
		}
		if attempt == 1 {
			log.Warn("appending to the shared log failed; the pushes wait on this instance", slog.Any("err", err))
		}
		if !retry.Sleep(ctx, retry.Backoff(attempt, 50*time.Millisecond, time.Second)) {
			return Event{}, ctx.Err()
		}
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
