package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/gcra.lua
var gcraLua string

var gcraScript = redis.NewScript(gcraLua)

// RedisLimiter is a Limiter in Redis, shared by every instance: one EVALSHA
// per check (EVAL once, when Redis does not have the script yet). A caller's
// state is the key <prefix>:rl:<plan>:<caller>, which expires when the
// caller's quota is whole again.
type RedisLimiter struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ Limiter = (*RedisLimiter)(nil)

// NewRedis returns a limiter keeping its state under prefix.
func NewRedis(rdb redis.UniversalClient, prefix string) *RedisLimiter {
	return &RedisLimiter{rdb: rdb, prefix: prefix + ":rl:"}
}

// Allow implements Limiter.
func (l *RedisLimiter) Allow(ctx context.Context, key string, p Plan, cost int) (Result, error) {
	if p.Unlimited() {
		return Result{Allowed: true, Remaining: -1}, nil
	}
	v, err := gcraScript.Run(ctx, l.rdb, []string{l.prefix + p.Name + ":" + key},
		p.interval().Microseconds(), p.Burst, cost).Int64Slice()
	if err != nil {
		return Result{}, err
	}
	if len(v) != 4 {
		return Result{}, fmt.Errorf("ratelimit: script answered %d values", len(v))
	}
	r := Result{Allowed: v[0] == 1, Remaining: int(v[1]),
		RetryAfter: time.Duration(v[2]) * time.Microsecond, ResetAfter: time.Duration(v[3]) * time.Microsecond}
	if !r.Allowed && int64(cost) > int64(p.Burst) {
		r.RetryAfter = p.window()
	}
	return r, nil
}

// Timings of Fallback.
const (
	// defaultFallbackTimeout bounds the wait for Redis on a call's path.
	defaultFallbackTimeout = 100 * time.Millisecond
	// fallbackFor is how long the local limiter decides alone after Redis
	// failed, so that an outage costs one timeout a second, not one per
	// call.
	fallbackFor = time.Second
)

// Fallback is a Limiter that asks Primary (Redis) and, when it fails or
// takes longer than Timeout, decides with Local, for fallbackFor, before
// trying Primary again. Limits are then per instance.
type Fallback struct {
	Primary Limiter
	Local   *LocalLimiter
	// Timeout bounds a Primary check. Default 100ms.
	Timeout time.Duration
	// OnFallback, when set, is told of each failure of Primary.
	OnFallback func(error)

	downUntil atomic.Int64 // unix nanoseconds
}

var _ Limiter = (*Fallback)(nil)

// Allow implements Limiter.
func (f *Fallback) Allow(ctx context.Context, key string, p Plan, cost int) (Result, error) {
	if p.Unlimited() {
		return Result{Allowed: true, Remaining: -1}, nil
	}
	if time.Now().UnixNano() >= f.downUntil.Load() {
		timeout := f.Timeout
		if timeout <= 0 {
			timeout = defaultFallbackTimeout
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		r, err := f.Primary.Allow(pctx, key, p, cost)
		cancel()
		if err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			return Result{}, ctx.Err() // the caller left: no verdict needed
		}
		f.downUntil.Store(time.Now().Add(fallbackFor).UnixNano())
		if f.OnFallback != nil {
			f.OnFallback(err)
		}
	}
	r, err := f.Local.Allow(ctx, key, p, cost)
	r.Local = true
	return r, err
}
