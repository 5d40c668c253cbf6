package subscriptions

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event types. A push carries the method's result; an error carries the
// failure the upstream reported, as JSON.
// A gap tells the readers that the upstream pushed events the log does not
// have (see continuation).
const (
	TypePush  = ""
	TypeError = "upstream-error"
	TypeGap   = "gap"
	// TypeRollback tells the readers of a stream of heights that the
	// chain went back: {"height": the new tip, "from": the height shown
	// last}. The events after it follow the new tip (see rollbackOf).
	TypeRollback = "rollback"
)

// Event is one entry of a topic's log.
type Event struct {
	// ID is the event's position, "<ms>-<seq>": the milliseconds when it
	// was appended and its sequence number in the topic. IDs increase,
	// sequence numbers without gaps, so a resumed reader can tell whether
	// it missed events. The same form as a Redis Stream ID.
	ID string
	// Seq is the sequence number part of ID.
	Seq uint64
	// Type is TypePush, TypeError or TypeGap.
	Type string
	// Data is the JSON payload.
	Data json.RawMessage
	// Final marks the event that ended the topic: the upstream rejected
	// the subscription for good.
	Final bool
	// Epoch is when the numbering of the event's log began, in
	// milliseconds, just before its first event: every event of the log
	// has a later time, every event of an earlier log of the topic (before
	// Redis lost it, or before a restart of a lone instance) an earlier or
	// equal one. So an ID's time tells which log issued it, and a
	// Last-Event-ID from an earlier log never resumes at a position of
	// this one. Zero: unknown.
	Epoch int64
	// Height is the block height a push of a topic that follows the
	// chain stands for (see Chain.Height), when HasHeight: a reader that
	// resumes after the event beyond the log can be sent what followed
	// that height instead of a gap.
	Height    int64
	HasHeight bool

	// lost marks, in a topic's ring only, an event before which events
	// were lost (the mirrored log went on from a copy that lacked some).
	lost bool
}

// Time returns when the event was appended.
func (e Event) Time() time.Time {
	ms, _, _ := ParseID(e.ID)
	return time.UnixMilli(ms)
}

// FormatID renders an event position.
func FormatID(ms int64, seq uint64) string {
	return strconv.FormatInt(ms, 10) + "-" + strconv.FormatUint(seq, 10)
}

// ParseID splits an event position.
func ParseID(id string) (ms int64, seq uint64, err error) {
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, fmt.Errorf("subscriptions: event ID %q: want <ms>-<seq>", id)
	}
	if ms, err = strconv.ParseInt(a, 10, 64); err != nil || ms < 0 {
		return 0, 0, fmt.Errorf("subscriptions: event ID %q: bad time", id)
	}
	if seq, err = strconv.ParseUint(b, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("subscriptions: event ID %q: bad sequence", id)
	}
	return ms, seq, nil
}
