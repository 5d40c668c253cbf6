package sse

import "github.com/nuls-gateway/nuls-gateway/subscriptions"

// Counts are what streams delivered, added to the metrics once per round
// (Observer.Delivered) rather than per event.
type Counts struct {
	// Events are the events written, gap events included.
	Events int
	// LogGaps are the shared log's own gap events (pushes missed while
	// the upstream subscription was renewed); ResumeGaps those of a
	// Last-Event-ID past the retention; SlowGaps those written to a live
	// stream that fell out of the retention.
	LogGaps, ResumeGaps, SlowGaps int
	// SlowDrops are the streams dropped for being too slow.
	SlowDrops int
}

// Batch counts the events of b as one stream wrote them.
func (c *Counts) Batch(b subscriptions.Batch) {
	c.Events += len(b.Events)
	for _, e := range b.Events {
		if e.Type == subscriptions.TypeGap {
			c.LogGaps++
		}
	}
	switch {
	case b.Gap:
		c.Events++
		c.ResumeGaps++
	case b.Lost:
		c.Events++
		c.LogGaps++
	}
}

// Slow counts a stream dropped for being too slow; behind says it fell out
// of the retention, and was written a gap event.
func (c *Counts) Slow(behind bool) {
	c.SlowDrops++
	if behind {
		c.Events++
		c.SlowGaps++
	}
}
