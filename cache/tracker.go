package cache

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"
)

// DefaultTrackEvery is Tracker's default rhythm.
const DefaultTrackEvery = time.Second

// Tracker follows the chain's tip by asking latestHeight, for the cache's
// Tip, and calls OnRollback when the tip goes back.
type Tracker struct {
	// Latest asks the node for the tip: latestHeight's {"value": h}.
	Latest func(ctx context.Context) (json.RawMessage, error)
	// Every is the rhythm. Default DefaultTrackEvery.
	Every time.Duration
	// OnRollback is told the new, lower tip.
	OnRollback func(ctx context.Context, tip int64)
	Logger     *slog.Logger

	tip atomic.Int64 // +1: 0 is unknown
}

// Tip returns the last tip seen.
func (t *Tracker) Tip() (int64, bool) {
	v := t.tip.Load()
	return v - 1, v > 0
}

// Run follows the tip until ctx ends.
func (t *Tracker) Run(ctx context.Context) error {
	every := t.Every
	if every <= 0 {
		every = DefaultTrackEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		t.poll(ctx, every)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (t *Tracker) poll(ctx context.Context, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := t.Latest(ctx)
	if err != nil {
		return // unknown for now: the last tip stands
	}
	var v struct {
		Value *int64 `json:"value"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Value == nil || *v.Value < 0 {
		return
	}
	h := *v.Value
	prev, known := t.Tip()
	t.tip.Store(h + 1)
	if known && h < prev && t.OnRollback != nil {
		t.OnRollback(context.WithoutCancel(ctx), h)
	}
}
