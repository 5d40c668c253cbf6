package subscriptions

import "sync"

// closedChan is always ready.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Member is one reader of a topic, such as one SSE stream. It keeps its own
// cursor, so a slow reader delays nobody: it falls behind, and when it falls
// out of the retained events its next Take reports a gap.
//
// A Member is used by one goroutine; Close may be called from any.
type Member struct {
	t *topic

	mu     sync.Mutex // guards cursor, gen, gap, fresh, closed
	cursor uint64     // Seq of the last event taken
	gen    uint64     // the topic's generation the cursor is of
	gap    bool       // the reader resumed from an unknown position
	fresh  bool       // joined without resuming and not read yet
	closed bool
}

// Batch is what Take returns.
type Batch struct {
	// Gap reports that events between the reader's position and Events
	// were lost to this reader: they fell out of retention, or the
	// position is unknown.
	Gap bool
	// Lost reports that events before Events were lost to every reader:
	// the shared log went on from a copy that lacked them, or started
	// over (Redis lost it). The reader is not behind; it reads on.
	Lost bool
	// Events are the next events, in order.
	Events []Event
	// More reports that events are retained after Events: the batch
	// stopped at its limit.
	More bool
}

// Topic returns the name of the member's topic.
func (m *Member) Topic() string { return m.t.name }

// Ready returns a channel that is ready when Take has something: events
// after the cursor, or the end of the topic.
func (m *Member) Ready() <-chan struct{} {
	t := m.t
	t.mu.RLock()
	defer t.mu.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.closed || m.closed || m.gap || m.gen != t.gen || t.nextSeq-1 > m.cursor {
		return closedChan
	}
	return t.changed
}

// Changed returns a channel closed at the topic's next change (an append,
// or the end), whatever the member's cursor. A reader of several members of
// one topic takes it before reading them all: a change while it reads them
// then shows.
func (m *Member) Changed() <-chan struct{} {
	t := m.t
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		// Ended: nothing will close t.changed again, and the reader
		// must come back for the end.
		return closedChan
	}
	return t.changed
}

// Take returns up to limit events after the cursor and advances it. When the
// topic has ended and everything retained is taken, it returns the
// *TopicError the topic ended with, or ErrClosed.
func (m *Member) Take(limit int) (Batch, error) { return m.TakeAppend(nil, limit, 0) }

// TakeAppend is Take, with the batch's events appended to dst (a writer
// that takes for many members in turn reuses one slice rather than
// allocate one for each), and with at most maxBytes of data unless its
// first event alone has more (0: no bound): what a writer holds for a
// client that does not read is bounded.
func (m *Member) TakeAppend(dst []Event, limit, maxBytes int) (Batch, error) {
	t := m.t
	t.mu.RLock()
	defer t.mu.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Batch{Events: dst}, ErrClosed
	}
	if m.gen != t.gen {
		// The topic's log started over: read the new one from its
		// start.
		m.gen, m.cursor = t.gen, 0
		events, _, _, more := t.events.appendSince(dst, 0, limit, maxBytes)
		b := Batch{Lost: true, Events: events, More: more}
		m.gap, m.fresh = false, false
		if n := len(events); n > 0 {
			m.cursor = events[n-1].Seq
		}
		return b, nil
	}
	events, gap, lost, more := t.events.appendSince(dst, m.cursor, limit, maxBytes)
	b := Batch{Gap: gap || m.gap, Lost: lost && !m.fresh, Events: events, More: more}
	m.gap, m.fresh = false, false
	if n := len(events); n > 0 {
		m.cursor = events[n-1].Seq
	}
	if len(events) == 0 && t.closed {
		if t.err != nil && t.key != nil {
			return b, &TopicError{Key: *t.key, Err: t.err}
		}
		return b, ErrClosed
	}
	return b, nil
}

// Exact reports whether the member's next Take goes on from its position:
// no event between it and the next is lost to it.
func (m *Member) Exact() bool {
	t := m.t
	t.mu.RLock()
	defer t.mu.RUnlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gap || m.gen != t.gen {
		return false
	}
	_, gap, lost := t.events.since(m.cursor, 1)
	return !gap && (!lost || m.fresh)
}

// Latest returns the topic's latest event, whatever the member's cursor: a
// reader that resumed from an unknown position learns where the log is.
func (m *Member) Latest() (Event, bool) {
	return m.t.lastEvent()
}

// Close leaves the topic; the last reader to leave starts its grace period.
func (m *Member) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.mu.Unlock()
	m.t.leave()
}
