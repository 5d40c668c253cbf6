package subscriptions

import (
	"slices"
	"sort"
)

// ring keeps the last cap events of a topic in order. It is not safe for
// concurrent use; topic guards it.
type ring struct {
	buf   []Event
	head  int // index of the oldest event
	count int
}

func newRing(capacity int) *ring { return &ring{buf: make([]Event, capacity)} }

func (r *ring) push(e Event) {
	if r.count < len(r.buf) {
		r.buf[(r.head+r.count)%len(r.buf)] = e
		r.count++
		return
	}
	r.buf[r.head] = e
	r.head = (r.head + 1) % len(r.buf)
}

func (r *ring) at(i int) Event { return r.buf[(r.head+i)%len(r.buf)] }

// since returns up to limit events with Seq > after. gap reports that the
// first of them is not the one right after after: events fell out of the
// retention, or never reached this ring. lost reports that the first is
// marked lost. A batch stops before the next event marked lost, so that a
// loss is always at the start of one.
func (r *ring) since(after uint64, limit int) (events []Event, gap, lost bool) {
	events, gap, lost, _ = r.appendSince(nil, after, limit, 0)
	return events, gap, lost
}

// appendSince is since, appending the events to dst, and stopping before
// an event that would take their data past maxBytes (0: no bound; the
// first event is taken whatever its size). more reports events left after
// them.
func (r *ring) appendSince(dst []Event, after uint64, limit, maxBytes int) (events []Event, gap, lost, more bool) {
	if r.count == 0 || after >= r.at(r.count-1).Seq {
		return dst, false, false, false
	}
	// Sequence numbers increase; they are contiguous unless the ring
	// mirrors a shared log with holes, so search rather than index.
	start := sort.Search(r.count, func(i int) bool { return r.at(i).Seq > after })
	first := r.at(start)
	n, size := 1, len(first.Data)
	for n < min(r.count-start, limit) {
		ev := r.at(start + n)
		if ev.lost || (maxBytes > 0 && size+len(ev.Data) > maxBytes) {
			break
		}
		size += len(ev.Data)
		n++
	}
	dst = slices.Grow(dst, n)
	for i := range n {
		dst = append(dst, r.at(start+i))
	}
	return dst, first.Seq != after+1, first.lost, start+n < r.count
}

// find returns the retained event of sequence number seq, if any.
func (r *ring) find(seq uint64) (Event, bool) {
	i := sort.Search(r.count, func(i int) bool { return r.at(i).Seq >= seq })
	if i == r.count || r.at(i).Seq != seq {
		return Event{}, false
	}
	return r.at(i), true
}

func (r *ring) last() (Event, bool) {
	if r.count == 0 {
		return Event{}, false
	}
	return r.at(r.count - 1), true
}

// all returns the retained events, oldest first.
func (r *ring) all() []Event {
	out := make([]Event, r.count)
	for i := range out {
		out[i] = r.at(i)
	}
	return out
}
