package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
)

func TestParsePlans(t *testing.T) {
	t.Parallel()
	got, err := ParsePlans("anonymous=20/s:40, default=100/s,bulk=6000/m:100,slow=5/10s,internal=unlimited")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Plan{
		"anonymous": {Name: "anonymous", Rate: 20, Period: time.Second, Burst: 40},
		"default":   {Name: "default", Rate: 100, Period: time.Second, Burst: 100},
		"bulk":      {Name: "bulk", Rate: 6000, Period: time.Minute, Burst: 100},
		"slow":      {Name: "slow", Rate: 5, Period: 10 * time.Second, Burst: 5},
		"internal":  {Name: "internal"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
	if again, err := ParsePlans(FormatPlans(got)); err != nil || !cmp.Equal(again, got) {
		t.Errorf("FormatPlans does not parse back: %v %v", again, err)
	}
	for _, bad := range []string{"x", "a=1", "a=0/s", "a=5/s:0", "a=5/xs", "a=5/s,a=6/s", "a b=1/s", "a=1000000000000/ns", "a=2000000/s"} {
		if _, err := ParsePlans(bad); err == nil {
			t.Errorf("ParsePlans(%q) accepted", bad)
		}
	}
}

func TestParseWeights(t *testing.T) {
	t.Parallel()
	got, err := ParseWeights("ac_transfer=10, getBlockByHeight=2")
	if err != nil || !cmp.Equal(got, map[string]int{"ac_transfer": 10, "getBlockByHeight": 2}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"a", "a=0", "a=-1", "=3", "a=x"} {
		if _, err := ParseWeights(bad); err == nil {
			t.Errorf("ParseWeights(%q) accepted", bad)
		}
	}
}

// fakeClock is a LocalLimiter clock the test moves.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.UnixMicro(c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(d.Microseconds()) }
func newClock() *fakeClock                   { c := &fakeClock{}; c.t.Store(1_700_000_000_000_000); return c }
func localAt(c *fakeClock) *LocalLimiter     { l := NewLocal(); l.now = c.now; return l }
func allow(t *testing.T, l Limiter, key string, p Plan, cost int) Result {
	t.Helper()
	r, err := l.Allow(context.Background(), key, p, cost)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLocalGCRA checks the algorithm: a burst, then the rate; weights; a
// cost beyond the burst; callers apart.
func TestLocalGCRA(t *testing.T) {
	t.Parallel()
	clock := newClock()
	l := localAt(clock)
	p := Plan{Name: "p", Rate: 10, Period: time.Second, Burst: 5} // one unit per 100ms
	for i := range 5 {
		r := allow(t, l, "a", p, 1)
		if !r.Allowed || r.Remaining != 4-i {
			t.Fatalf("burst request %d: %+v, want allowed with %d remaining", i, r, 4-i)
		}
	}
	r := allow(t, l, "a", p, 1)
	if r.Allowed || r.RetryAfter != 100*time.Millisecond || r.ResetAfter != 500*time.Millisecond {
		t.Fatalf("over the burst: %+v, want refused, retry after 100ms, whole in 500ms", r)
	}
	if r := allow(t, l, "b", p, 1); !r.Allowed {
		t.Fatalf("another caller is limited too: %+v", r)
	}
	clock.advance(100 * time.Millisecond)
	if r := allow(t, l, "a", p, 1); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("after one interval: %+v, want one more allowed", r)
	}
	clock.advance(300 * time.Millisecond)
	if r := allow(t, l, "a", p, 4); r.Allowed {
		t.Fatalf("a cost of 4 after 3 intervals: %+v, want refused", r)
	}
	if r := allow(t, l, "a", p, 3); !r.Allowed {
		t.Fatalf("a cost of 3 after 3 intervals: %+v, want allowed", r)
	}
	clock.advance(10 * time.Second)
	if r := allow(t, l, "a", p, 6); r.Allowed || r.RetryAfter != 500*time.Millisecond {
		t.Fatalf("a cost above the burst: %+v, want refused with the window as the wait", r)
	}
	if r := allow(t, l, "a", Plan{Name: "free"}, 1000); !r.Allowed {
		t.Fatalf("unlimited plan refused: %+v", r)
	}
	if h := (Plan{Name: "free"}).PolicyHeader(); h != "" {
		t.Fatalf("an unlimited plan's policy %q", h)
	}
	policy, state := allow(t, l, "c", p, 2).Headers(p)
	if policy != `"p";q=5;w=1` || state != `"p";r=3;t=1` {
		t.Errorf("headers %q %q", policy, state)
	}
}

// TestLocalMemoryBound floods the limiter with callers: it tracks a
// bounded number of them.
func TestLocalMemoryBound(t *testing.T) {
	t.Parallel()
	clock := newClock()
	l := localAt(clock)
	l.max = 1000
	p := Plan{Name: "p", Rate: 1, Period: time.Hour, Burst: 1}
	for i := range 10_000 {
		allow(t, l, "caller-"+time.Duration(i).String(), p, 1)
	}
	if n := l.Len(); n > 1000 {
		t.Fatalf("%d callers tracked, want at most 1000", n)
	}
	// Callers whose quota came back are forgotten at the next sweep.
	clock.advance(2 * time.Hour)
	for range localSweepEvery {
		allow(t, l, "again", p, 0)
	}
	if n := l.Len(); n > 1 {
		t.Fatalf("%d callers tracked after their quotas came back", n)
	}
}

// TestRedisMatchesLocal runs the same sequence on Redis and in memory: the
// verdicts agree (Redis times them with its own clock, so the sequence is
// quick against the plan's interval).
func TestRedisMatchesLocal(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	rl := NewRedis(rdb, prefix)
	p := Plan{Name: "p", Rate: 10, Period: time.Minute, Burst: 5}
	l := NewLocal()
	for i, cost := range []int{1, 2, 1, 1, 1, 3, 6} {
		want := allow(t, l, "k", p, cost)
		got := allow(t, rl, "k", p, cost)
		if got.Allowed != want.Allowed || got.Remaining != want.Remaining {
			t.Fatalf("check %d (cost %d): redis %+v, local %+v", i, cost, got, want)
		}
		if !got.Allowed && (got.RetryAfter <= 0 || got.RetryAfter > p.window()) {
			t.Fatalf("check %d: retry after %v", i, got.RetryAfter)
		}
	}
	// The state expires when the quota is whole: no key is left forever.
	ttl, err := rdb.PTTL(t.Context(), prefix+":rl:p:k").Result()
	if err != nil || ttl <= 0 || ttl > p.window() {
		t.Fatalf("state TTL %v %v, want within the plan's window %v", ttl, err, p.window())
	}
}

// TestRedisSharedByInstances has three limiters (three instances) on one
// Redis spend one quota: together they allow exactly the burst.
func TestRedisSharedByInstances(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	p := Plan{Name: "shared", Rate: 1, Period: time.Hour, Burst: 30}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		l := NewRedis(rdb, prefix) // as three instances: same Redis, same prefix
		wg.Go(func() {
			for range 20 {
				if allow(t, l, "caller", p, 1).Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 30 {
		t.Fatalf("three instances allowed %d of 60 requests, want the burst of 30", n)
	}
}

// TestFallbackWhenRedisIsDown: with Redis unreachable, checks are decided
// locally, quickly, and Redis is not asked again at once.
func TestFallbackWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	var fallbacks atomic.Int64
	f := &Fallback{Primary: NewRedis(redistest.Unreachable(t), "x"), Local: NewLocal(), Timeout: 50 * time.Millisecond,
		OnFallback: func(error) { fallbacks.Add(1) }}
	p := Plan{Name: "p", Rate: 1, Period: time.Hour, Burst: 3}
	start := time.Now()
	var verdicts []bool
	for range 5 {
		r := allow(t, f, "k", p, 1)
		if !r.Local {
			t.Fatalf("decided by Redis? %+v", r)
		}
		verdicts = append(verdicts, r.Allowed)
	}
	if diff := cmp.Diff([]bool{true, true, true, false, false}, verdicts); diff != "" {
		t.Errorf("local verdicts (-want +got):\n%s", diff)
	}
	if n := fallbacks.Load(); n != 1 {
		t.Errorf("Redis asked and failed %d times in a row, want once per %v", n, fallbackFor)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("five checks took %v with Redis down", d)
	}
	// A caller that left gets no verdict, and does not mark Redis down.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f2 := &Fallback{Primary: failing{}, Local: NewLocal()}
	if _, err := f2.Allow(ctx, "k", p, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled check: %v", err)
	}
}

type failing struct{}

func (failing) Allow(ctx context.Context, _ string, _ Plan, _ int) (Result, error) {
	return Result{}, ctx.Err()
}

// TestLocalMeansFallback: Result.Local marks a verdict of the instance
// alone while the shared limiter is away, and only that. A LocalLimiter on
// its own (one instance, no Redis) and a Fallback whose Redis answers never
// set it, so that the metric counting it stays at zero outside an outage.
func TestLocalMeansFallback(t *testing.T) {
	t.Parallel()
	p := Plan{Name: "p", Rate: 1, Period: time.Hour, Burst: 3}
	unlimited := Plan{Name: "free"}
	for _, plan := range []Plan{p, unlimited} {
		if r := allow(t, NewLocal(), "k", plan, 1); r.Local {
			t.Errorf("a LocalLimiter alone, plan %v: Local set", plan)
		}
	}
	rdb, prefix := redistest.Client(t)
	up := &Fallback{Primary: NewRedis(rdb, prefix), Local: NewLocal()}
	for i := range 4 {
		if r := allow(t, up, "k", p, 1); r.Local {
			t.Fatalf("check %d with Redis up: Local set %+v", i, r)
		}
	}
	var down atomic.Bool
	down.Store(true)
	f := &Fallback{Primary: switchable{up: NewRedis(rdb, prefix+"b"), down: &down}, Local: NewLocal()}
	if r := allow(t, f, "k", p, 1); !r.Local {
		t.Fatalf("Redis down: Local not set %+v", r)
	}
	down.Store(false)
	f.downUntil.Store(0) // as when fallbackFor has passed
	if r := allow(t, f, "k", p, 1); r.Local {
		t.Fatalf("Redis back: Local still set %+v", r)
	}
}

// switchable is a Limiter that fails while down is set.
type switchable struct {
	up   Limiter
	down *atomic.Bool
}

func (s switchable) Allow(ctx context.Context, key string, p Plan, cost int) (Result, error) {
	if s.down.Load() {
		return Result{}, errors.New("ratelimit test: down")
	}
	return s.up.Allow(ctx, key, p, cost)
}
