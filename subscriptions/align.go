package subscriptions

import (
	"bytes"
	"time"
)

// alignTail is how many of the log's last events a new holder reads to line
// its tape up with the log.
const alignTail = 32

// alignWait bounds how long a new holder whose tape lags the log waits for
// the pushes the log already has (they are on their way to it too).
const alignWait = time.Second

// agreeing is how many pushes before the log's last one must match the tape
// too, where both have them: an event stream that comes back to an earlier
// value (A, B, A) is not lined up on the wrong A.
const agreeing = 3

// alignment is where a new holder's tape continues the log.
type alignment struct {
	start uint64 // the number of the first entry to append
	// exact: the entry before start is the log's last push, so nothing
	// was missed. Otherwise the first entry appended is judged by
	// continuation: a repeat of the log's last event is dropped, a
	// change is a gap.
	exact bool
	// behind: the tape has an earlier push of the log but not its last
	// one yet: ask again once it has recorded more.
	behind bool
}

// align lines up a tape (entries, numbered from first) with the log's last
// events (tail, oldest first), for an instance that takes the lease over:
// the entries it recorded that the log lacks are appended, those the log has
// are not. fresh says the tape was started for this holder: all of it is new.
//
// An event subscription's pushes are the same on every instance (the same
// node events), so the log's last push is looked for in the tape. A period
// subscription's ticks are each instance's own: those that came after the
// log's last event are appended.
func align(k Key, tail []Event, entries []tapeEntry, first uint64, fresh bool) alignment {
	next := first + uint64(len(entries))
	var pushes []Event // the log's events that came from a feed
	for _, e := range tail {
		if e.Type != TypeGap {
			pushes = append(pushes, e)
		}
	}
	if len(pushes) == 0 {
		if fresh || len(entries) == 0 {
			return alignment{start: first, exact: true}
		}
		// An empty log (Redis lost it, and this instance has no copy):
		// the current state starts it again.
		return alignment{start: next - 1, exact: true}
	}
	last := pushes[len(pushes)-1]
	after := func() alignment {
		t := last.Time()
		for i, en := range entries {
			if en.at.After(t) {
				return alignment{start: first + uint64(i)}
			}
		}
		return alignment{start: next}
	}
	if k.Period > 0 {
		return after()
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if sameUpdate(entries[i].u, last) && agrees(entries[:i], pushes[:len(pushes)-1]) {
			return alignment{start: first + uint64(i) + 1, exact: true}
		}
	}
	for i := len(entries) - 1; i >= 0; i-- {
		for _, p := range pushes[:len(pushes)-1] {
			if sameUpdate(entries[i].u, p) {
				return alignment{start: first + uint64(i) + 1, behind: true}
			}
		}
	}
	// Nothing in common: the tape began after the log's last push.
	return after()
}

// agrees reports whether the last entries match the last pushes, as far as
// both go, up to agreeing of them.
func agrees(entries []tapeEntry, pushes []Event) bool {
	for j := 1; j <= agreeing && j <= len(entries) && j <= len(pushes); j++ {
		if !sameUpdate(entries[len(entries)-j].u, pushes[len(pushes)-j]) {
			return false
		}
	}
	return true
}

func sameUpdate(u Update, e Event) bool {
	return u.Type == e.Type && bytes.Equal(u.Data, e.Data)
}
