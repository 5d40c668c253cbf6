// Package retry has the waiting of the module's reconnect and retry loops:
// jittered, capped exponential backoff and a sleep that a context ends.
//
// Its functions are safe for concurrent use.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff returns the wait before attempt n (n >= 1): exponential from lo,
// capped at hi, with "equal jitter" (half fixed, half random) so that
// instances that lost the same peer do not come back in lockstep.
func Backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	return half + rand.N(half+1) //nolint:gosec // G404: jitter
}

// Sleep waits for d or until ctx ends, and reports whether it slept fully.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
