package subscriptions

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// A topic outlives its upstream subscriptions: when one ends (the upstream
// connection dropped, the stream moved to another node, the producing
// instance died, the lease moved), a new one continues the same log.
// Whatever the upstream pushed in between never reached the log. Where the
// events follow the chain's height (a Chain says so), the new
// subscription's first pushes are judged by height: a height the log has
// already shown is dropped (a node behind the last one), the next height
// continues the log, and heights skipped are fetched (Chain.Between). Where
// they cannot be, the log says so with a gap event, which readers get in
// order like any other, instead of silently jumping.

// Chain tells the hub how the events of a topic follow the chain, for the
// topics whose pushes stand for a height (a new block's height or header).
// Its methods must be safe for concurrent use.
type Chain interface {
	// Height returns the height a push of k stands for; ok is false when
	// k's pushes do not follow the chain.
	Height(k Key, data json.RawMessage) (height int64, ok bool)
	// Between returns the pushes k's subscription would have made for
	// each height after from and before to, in order. It may refuse (too
	// many, the node no longer has them): the log then gets a gap event.
	Between(ctx context.Context, k Key, from, to int64) ([]json.RawMessage, error)
	// Reached reports whether a node of the upstream is known to be at
	// height or above. A renewed feed below the log's last height is a
	// node behind while another has reached it (its pushes are dropped
	// until it catches up); when none has (one node that came back with a
	// shorter chain, or every node went back), the chain went back, and
	// the log gets a rollback event.
	Reached(height int64) bool
}

// fillTimeout bounds the calls that fetch the pushes a renewed
// subscription skipped: the topic's readers wait for them.
const fillTimeout = 5 * time.Second

// next is how an update of a renewed feed continues the log.
type next struct {
	// drop: the log has shown it (the same state, or a height it has
	// passed); it is not appended.
	drop bool
	// gap: pushes were missed before it; a gap event goes first, unless
	// the heights between from and to can be filled.
	gap      bool
	from, to int64
	// ordered: judged by height. After a drop, the feed's next update is
	// judged too (a node behind catches up through heights the log has).
	ordered bool
	// rollback is the event that announces the chain went back, to
	// append before the update.
	rollback *Event
}

// continuation judges the update u of a renewed feed against the log's
// last event (hasLast false: an empty log, nothing to continue).
//
// By height, where the Chain knows k: below the last height it is dropped
// while a node has reached that height (a node behind), and is the new tip
// of a rollback otherwise; at the last height it is dropped; within the
// subscription's step (EventCounter heights) it continues the log; beyond
// it, the heights between are missing.
// Otherwise, an event subscription's first answer is the current state:
// equal to the last event, nothing observable was missed; different, it
// was. A period subscription misses the ticks of the time it was away: a
// gap when the first tick comes more than two periods after the last event.
func continuation(k Key, chain Chain, last Event, hasLast bool, u Update, now time.Time) next {
	if !hasLast || last.Final {
		return next{}
	}
	if k.Period > 0 {
		return next{gap: now.Sub(last.Time()) > 2*time.Duration(k.Period)*time.Second}
	}
	if chain != nil && u.Type == TypePush && last.Type == TypePush {
		prev, ok1 := chain.Height(k, last.Data)
		h, ok2 := chain.Height(k, u.Data)
		if ok1 && ok2 {
			step := int64(max(k.EventCounter, 1))
			switch {
			case h < prev && !chain.Reached(prev):
				rb := RollbackEvent(h, prev)
				return next{ordered: true, rollback: &rb}
			case h <= prev:
				return next{drop: true, ordered: true}
			case h-prev <= step:
				return next{ordered: true}
			default:
				return next{gap: true, from: prev, to: h, ordered: true}
			}
		}
	}
	if u.Type == last.Type && bytes.Equal(u.Data, last.Data) {
		return next{drop: true}
	}
	return next{gap: true}
}

// rollbackOf reports whether u, which continues the log in the same feed
// as its last event (not a renewal: see continuation), shows the chain going back: a lower height (the new tip), or
// the same height with another answer (another block there: the tip went
// back one and came forward again). It returns the rollback event to
// append before u.
func rollbackOf(k Key, chain Chain, last Event, hasLast bool, u Update) (Event, bool) {
	if chain == nil || !hasLast || u.Type != TypePush || last.Type != TypePush {
		return Event{}, false
	}
	prev, ok1 := chain.Height(k, last.Data)
	h, ok2 := chain.Height(k, u.Data)
	switch {
	case !ok1 || !ok2:
		return Event{}, false
	case h < prev:
	case h == prev && !bytes.Equal(u.Data, last.Data):
		h--
	default:
		return Event{}, false
	}
	return RollbackEvent(h, prev), true
}

// sameFeed judges u, the next update of the feed that made the log's last
// event, by height: the chain going back (rollbackOf), or heights skipped
// (the node dropped pushes it could not send in time), which are filled as
// a renewal's are.
func sameFeed(k Key, chain Chain, last Event, hasLast bool, u Update) next {
	if rb, ok := rollbackOf(k, chain, last, hasLast, u); ok {
		return next{rollback: &rb}
	}
	if !hasLast || u.Type != TypePush || last.Type != TypePush {
		return next{}
	}
	prev, ok1 := chain.Height(k, last.Data)
	h, ok2 := chain.Height(k, u.Data)
	if ok1 && ok2 && h-prev > int64(max(k.EventCounter, 1)) {
		return next{gap: true, from: prev, to: h, ordered: true}
	}
	return next{}
}

// RollbackEvent announces that the chain went back to height, from the
// height from the reader was last shown.
func RollbackEvent(height, from int64) Event {
	data := `{"height":` + strconv.FormatInt(height, 10) + `,"from":` + strconv.FormatInt(from, 10) + `}`
	return Event{Type: TypeRollback, Data: []byte(data)}
}

// fill returns the pushes that close n's gap, or nil when there are none to
// be had: only an event subscription of every height can be filled.
func (h *Hub) fill(ctx context.Context, k Key, n next) []json.RawMessage {
	if h.cfg.Chain == nil || !n.gap || n.to <= n.from+1 || k.EventCounter > 1 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, fillTimeout)
	defer cancel()
	pushes, err := h.cfg.Chain.Between(ctx, k, n.from, n.to)
	if err != nil || int64(len(pushes)) != n.to-n.from-1 {
		h.logger.Warn("stream gap: the heights missed could not be fetched", "method", k.Method, "after", n.from, "before", n.to, "err", err)
		return nil
	}
	return pushes
}

// renewal applies continuation to the updates of one feed: the first
// update, when the feed continues a log, the updates after one dropped by
// height, and any update the upstream marked Gap.
type renewal struct {
	key   Key
	chain Chain
	first bool // the next update is judged: the first of a renewed feed
}

// admit judges u; last returns the log's latest event. It is called only
// for the updates judged, not for every push.
func (r *renewal) admit(u Update, last func() (Event, bool)) (n next, prevID string) {
	if !r.first && !u.Gap {
		if r.chain != nil {
			prev, hasLast := last()
			return sameFeed(r.key, r.chain, prev, hasLast, u), prev.ID
		}
		return n, ""
	}
	prev, hasLast := last()
	n = continuation(r.key, r.chain, prev, hasLast, u, time.Now())
	r.first = n.drop && n.ordered
	if u.Gap && !n.ordered && !n.drop && hasLast {
		n.gap = true
	}
	return n, prev.ID
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
