package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Bounds of a LocalLimiter's memory.
const (
	// localSweepEvery is how many checks pass between two sweeps of the
	// callers whose quota is whole again (their state is then useless).
	localSweepEvery = 4096
	// defaultLocalMax bounds the callers tracked. Beyond it (a flood of
	// addresses), the sweep drops callers at random: their next request
	// starts with a whole quota, which errs on the generous side rather
	// than lock everyone out.
	defaultLocalMax = 100_000
)

// LocalLimiter is a Limiter in this process's memory.
type LocalLimiter struct {
	now func() time.Time
	max int

	mu     sync.Mutex // guards tats, checks
	tats   map[string]int64
	checks int
}

var _ Limiter = (*LocalLimiter)(nil)

// NewLocal returns an empty local limiter.
func NewLocal() *LocalLimiter {
	return &LocalLimiter{now: time.Now, max: defaultLocalMax, tats: map[string]int64{}}
}

// Allow implements Limiter.
func (l *LocalLimiter) Allow(_ context.Context, key string, p Plan, cost int) (Result, error) {
	if p.Unlimited() {
		return Result{Allowed: true, Remaining: -1}, nil
	}
	now := l.now().UnixMicro()
	l.mu.Lock()
	defer l.mu.Unlock()
	r, tat := gcra(p, l.tats[key], now, cost)
	if r.Allowed {
		l.tats[key] = tat
	}
	if l.checks++; l.checks >= localSweepEvery || len(l.tats) > l.max {
		l.sweepLocked(now)
	}
	return r, nil
}

// sweepLocked forgets the callers whose quota is whole, then, while too
// many remain, arbitrary ones (map order). l.mu must be held.
func (l *LocalLimiter) sweepLocked(now int64) {
	l.checks = 0
	for k, tat := range l.tats {
		if tat <= now {
			delete(l.tats, k)
		}
	}
	for k := range l.tats {
		if len(l.tats) <= l.max/2 {
			break
		}
		delete(l.tats, k)
	}
}

// Len returns how many callers are tracked.
func (l *LocalLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tats)
}
