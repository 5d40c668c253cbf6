package subscriptions

import (
	"bytes"
	"strconv"
	"time"
)

// A topic outlives its upstream subscriptions: when one ends (the upstream
// connection dropped, the producing instance died, the lease moved), a new
// one continues the same log. Whatever the upstream pushed in between never
// reached the log, so the log says so with a gap event, which readers get in
// order like any other, instead of silently jumping.

// continuation decides what to do with the first update of an upstream
// subscription that continues a log whose last event is last (hasLast false:
// an empty log, nothing to continue). It reports whether the update repeats
// that event and is to be dropped, and whether a gap event goes before it.
//
// An event subscription's first answer is the current state: equal to the
// last event, nothing observable was missed; different, it was. A period
// subscription misses the ticks of the time it was away: a gap when the
// first tick comes more than two periods after the last event.
func continuation(k Key, last Event, hasLast bool, u Update, now time.Time) (drop, gap bool) {
	if !hasLast || last.Final {
		return false, false
	}
	if k.Period > 0 {
		return false, now.Sub(last.Time()) > 2*time.Duration(k.Period)*time.Second
	}
	if u.Type == last.Type && bytes.Equal(u.Data, last.Data) {
		return true, false
	}
	return false, true
}

// renewal applies continuation to the updates of one feed: the first
// update, when the feed continues a log, and any update the upstream marked
// Gap.
type renewal struct {
	key   Key
	first bool // the next update is the first of a renewed feed
}

// admit reports whether to drop u and the gap event to append before it,
// if any. last returns the log's latest event; it is called only for the
// first update and for updates marked Gap, not for every push.
func (r *renewal) admit(u Update, last func() (Event, bool)) (drop bool, gap *Event) {
	if !r.first && !u.Gap {
		return false, nil
	}
	prev, hasLast := last()
	missed := u.Gap
	if r.first {
		r.first = false
		var m bool
		if drop, m = continuation(r.key, prev, hasLast, u, time.Now()); drop {
			return true, nil
		}
		missed = missed || m
	}
	if !missed || !hasLast {
		return false, nil
	}
	return false, &Event{Type: TypeGap, Data: gapData(prev.ID)}
}

// gapData is the payload of a gap event the log records.
func gapData(lastID string) []byte {
	return GapData("the upstream subscription was renewed; pushes it made meanwhile were not received", lastID)
}

// GapData is the payload of every gap event, whatever lost the events:
// {"detail": detail, "lastEventId": the last event before the gap}.
func GapData(detail, lastID string) []byte {
	return []byte(`{"detail":` + strconv.Quote(detail) + `,"lastEventId":` + strconv.Quote(lastID) + `}`)
}
