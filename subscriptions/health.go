package subscriptions

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// stallAfter is how long a push may wait to be appended to the shared log
// before the push path counts as wedged; a period subscription may also be
// that much late. Hub.Stalled reports it, so /readyz fails within about
// this time plus the probe's interval.
const stallAfter = 5 * time.Second

// pushPath is what a topic's feed and appender report for Hub.Stalled: the
// times (Unix nanoseconds; 0 for none) the upstream subscription was made,
// it last delivered, and the oldest push waiting to be appended.
type pushPath struct {
	subscribed, fed, pending atomic.Int64
	// paused is set while the topic's polled feed pauses (no reader):
	// its silence tells nothing.
	paused atomic.Bool
}

func (p *pushPath) subscribe(now time.Time) { p.subscribed.Store(now.UnixNano()); p.fed.Store(0) }
func (p *pushPath) unsubscribe()            { p.subscribed.Store(0); p.pending.Store(0) }

// pause notes a pause of the feed, or its end: a resumed feed is judged
// as one subscribed now.
func (p *pushPath) pause(paused bool, now time.Time) {
	p.paused.Store(paused)
	if !paused && p.subscribed.Load() != 0 {
		p.subscribe(now)
	}
}

// stalled reports why the push path of a topic of key is wedged at now.
func (p *pushPath) stalled(k *Key, now time.Time) error {
	if at := p.pending.Load(); at != 0 {
		if d := now.Sub(time.Unix(0, at)); d > stallAfter {
			return fmt.Errorf("a push has waited %v to be appended to the shared log", d.Round(time.Second))
		}
	}
	sub := p.subscribed.Load()
	if k == nil || k.Period <= 0 || sub == 0 || p.paused.Load() {
		// An event subscription pushes when the node's events come:
		// its silence tells nothing.
		return nil
	}
	last := max(sub, p.fed.Load())
	every := time.Duration(k.Period) * time.Second
	if d := now.Sub(time.Unix(0, last)); d > 2*every+stallAfter {
		return fmt.Errorf("no push for %v from a subscription every %v", d.Round(time.Second), every)
	}
	return nil
}

// Stalled reports the topics whose push path is wedged: a period
// subscription that stopped delivering, or pushes that could not be
// appended to the shared log (Redis too slow, or away) for stallAfter. It is
// nil while every push path moves.
func (h *Hub) Stalled() error {
	now := time.Now()
	var msgs []string
	for _, t := range h.snapshot() {
		if t.key == nil {
			continue // fed by Publish
		}
		if err := t.path.stalled(t.key, now); err != nil {
			msgs = append(msgs, fmt.Sprintf("%s (topic %s): %v", t.key.Method, t.name, err))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	sort.Strings(msgs)
	if n := len(msgs); n > 3 {
		msgs = append(msgs[:3], fmt.Sprintf("and %d more", n-3))
	}
	return errors.New(strings.Join(msgs, "; "))
}
