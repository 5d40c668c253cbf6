package ratelimit

import (
	"context"
	"strconv"
	"time"
)

// Result is the outcome of one check.
type Result struct {
	// Allowed is false when the request would exceed the plan.
	Allowed bool
	// Remaining is how many units the caller may still spend at once.
	Remaining int
	// RetryAfter is how long a refused request must wait.
	RetryAfter time.Duration
	// ResetAfter is how long until the caller's quota is whole again.
	ResetAfter time.Duration
	// Local is set when the instance decided alone because the shared
	// limiter (Redis) was away: a Fallback's degraded verdict. A
	// LocalLimiter on its own (a deployment without Redis) never sets it,
	// for deciding alone is then the configuration, not an outage.
	Local bool
}

// Limiter meters callers.
type Limiter interface {
	// Allow spends cost units of key's quota under plan if it has them.
	// An unlimited plan always allows. An error means the limiter could
	// not decide.
	Allow(ctx context.Context, key string, plan Plan, cost int) (Result, error)
}

// gcra is the decision of the algorithm for a caller whose TAT is tat at
// now (microseconds): the result, and the new TAT when allowed.
func gcra(p Plan, tat, now int64, cost int) (Result, int64) {
	interval := p.interval().Microseconds()
	burstOffset := interval * int64(p.Burst)
	increment := interval * int64(cost)
	tat = max(tat, now)
	newTAT := tat + increment
	diff := now - (newTAT - burstOffset)
	if diff < 0 {
		r := Result{Remaining: int(max(0, (burstOffset-(tat-now))/interval)),
			RetryAfter: time.Duration(-diff) * time.Microsecond, ResetAfter: time.Duration(tat-now) * time.Microsecond}
		if increment > burstOffset {
			// Costlier than a whole burst: never allowed; say so with
			// the longest honest wait.
			r.RetryAfter = p.window()
		}
		return r, tat
	}
	return Result{Allowed: true, Remaining: int(diff / interval), ResetAfter: time.Duration(newTAT-now) * time.Microsecond}, newTAT
}

// Headers returns the IETF RateLimit-Policy and RateLimit field values of
// r under plan: "<name>";q=<burst>;w=<seconds> and
// "<name>";r=<remaining>;t=<seconds until the quota is whole>.
func (r Result) Headers(p Plan) (policy, state string) {
	return p.PolicyHeader(), r.StateHeader(p)
}

// StateHeader is the RateLimit field value of r under plan.
func (r Result) StateHeader(p Plan) string {
	t := int64((r.ResetAfter + time.Second - 1) / time.Second)
	var b [64]byte
	out := strconv.AppendQuote(b[:0], p.Name)
	out = append(out, ";r="...)
	out = strconv.AppendInt(out, int64(max(0, r.Remaining)), 10)
	out = append(out, ";t="...)
	out = strconv.AppendInt(out, t, 10)
	return string(out)
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1:
// what a Retry-After header carries.
func (r Result) RetryAfterSeconds() int {
	return max(1, int((r.RetryAfter+time.Second-1)/time.Second))
}
