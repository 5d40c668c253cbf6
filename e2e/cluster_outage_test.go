package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// outage is how long the tests keep Redis or the node down.
const outage = 3 * time.Second

// readiness returns an instance's /readyz status and its check of name.
func readiness(ctx context.Context, base, name string) (int, string, error) {
	status, body, err := httpGet(ctx, base+"/readyz")
	if err != nil {
		return 0, "", err
	}
	var h struct{ Checks map[string]string }
	if err := json.Unmarshal(body, &h); err != nil {
		return status, "", fmt.Errorf("/readyz body %q: %w", body, err)
	}
	return status, h.Checks[name], nil
}

// waitReadiness waits until every instance's /readyz answers want, with
// the check name "ok" exactly when want is 200. The instances are asked at
// once: a check of an unreachable Redis takes up to two seconds.
func waitReadiness(ctx context.Context, c *cluster, name string, want int, within time.Duration) error {
	errs := make([]error, len(c.Gateways))
	var wg sync.WaitGroup
	for i, g := range c.Gateways {
		wg.Go(func() {
			errs[i] = waitFor(ctx, within, func(ctx context.Context) error {
				status, check, err := readiness(ctx, g.URL, name)
				if err != nil {
					return err
				}
				if status != want || (check == "ok") != (want == http.StatusOK) {
					return fmt.Errorf("/readyz %d with %s check %q, want %d", status, name, check, want)
				}
				return nil
			})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("instance %d: %w", i, errs[i])
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// goroutines returns each instance's go_goroutines.
func goroutines(t *testing.T, c *cluster) []float64 {
	t.Helper()
	out := make([]float64, len(c.Gateways))
	for i, g := range c.Gateways {
		v, err := metric(t.Context(), g.URL, "go_goroutines")
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

// followAll starts n clients of the height stream, spread over the
// instances; stop cancels them and waits for them.
func followAll(ctx context.Context, c *cluster, n int) (cs []*followingClient, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var waits []func()
	for i := range n {
		fc, wait := follow(ctx, c.bases(), heightStream, i%len(c.Gateways), 0)
		cs = append(cs, fc)
		waits = append(waits, wait)
	}
	return cs, func() {
		cancel()
		for _, w := range waits {
			w()
		}
	}
}

// waitEventsAfter waits until every client has received a push after t0.
func waitEventsAfter(ctx context.Context, cs []*followingClient, t0 time.Time, within time.Duration) error {
	return waitFor(ctx, within, func(context.Context) error {
		for i, fc := range cs {
			last, ok := fc.lastEvent()
			if !ok || !last.At.After(t0) || last.Type != "" {
				return fmt.Errorf("client %d: no push since %s (last: %+v)", i, t0.Format("15:04:05.000"), last)
			}
		}
		return nil
	})
}

// observed summarizes what the clients saw: event types other than pushes,
// reconnects, and sequence numbers that started over.
func observed(cs []*followingClient) string {
	types := map[string]int{}
	reconnects, resets := 0, 0
	for _, fc := range cs {
		reconnects += len(fc.connections())
		var prev uint64
		for _, e := range fc.events() {
			if e.Type != "" {
				types[e.Type]++
				continue
			}
			if s, err := e.seq(); err == nil {
				if s <= prev {
					resets++
				}
				prev = s
			}
		}
	}
	return fmt.Sprintf("non-push events %v, connections %d, sequence restarts %d (over %d clients)", types, reconnects, resets, len(cs))
}

// TestClusterRedisRestart kills redis-server under three instances that
// serve streams and calls, and starts it again (empty) on the same port:
// calls keep working through the outage, /readyz says Redis is missing and
// recovers, streams deliver new events again within two seconds of Redis
// being back, and no goroutines pile up.
//
// What the clients see: nothing while Redis is away; the pushes of the
// outage wait on the tapes of the instances subscribed upstream. The new
// Redis has no log: the instance that takes the lease restores its copy of
// the log (same IDs, same epoch) and appends what its tape holds after it.
// The clients stay connected, and get every push once, in order, without
// a gap.
func TestClusterRedisRestart(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	cs, stop := followAll(t.Context(), c, 12)
	defer stop()
	if err := waitStreaming(t.Context(), cs, 5); err != nil {
		t.Fatal(err)
	}
	before := goroutines(t, c)
	ctx, cancel := context.WithCancel(t.Context())
	calls, waitCalls := startCaller(ctx, c.bases(), 100*time.Millisecond)
	defer func() { cancel(); waitCalls() }()

	c.Redis.kill(t)
	downAt := time.Now()
	if err := waitReadiness(t.Context(), c, "redis", http.StatusServiceUnavailable, 5*time.Second); err != nil {
		t.Errorf("during the outage: %v", err)
	}
	time.Sleep(time.Until(downAt.Add(outage)))
	c.Redis.start(t)
	upAt := time.Now()
	t.Logf("redis-server down for %v", upAt.Sub(downAt).Round(time.Millisecond))

	if err := waitReadiness(t.Context(), c, "redis", http.StatusOK, 10*time.Second); err != nil {
		t.Errorf("after the outage: %v", err)
	}
	if err := waitEventsAfter(t.Context(), cs, upAt, 20*time.Second); err != nil {
		t.Errorf("streams after the outage: %v", err)
	}
	recovered := time.Since(upAt)
	// Let a few more events through, then look at the goroutines.
	time.Sleep(2 * time.Second)
	after := goroutines(t, c)
	cancel()
	waitCalls()
	stop()

	during := calls.between(downAt, upAt)
	t.Logf("calls during the outage: %s, slowest %v", statuses(during), slowest(during))
	if len(during) < 5 {
		t.Errorf("%d calls during the outage, want a call every 100ms", len(during))
	}
	for _, k := range during {
		if k.Status != http.StatusOK {
			t.Errorf("call to instance %d at %s during the outage: %d %v %s, want 200", k.Instance, k.At.Format("15:04:05.000"), k.Status, k.Err, k.Body)
		}
	}
	if k := calls.between(upAt, time.Now()); statuses(k) != fmt.Sprintf("200×%d ", len(k)) {
		t.Errorf("calls after the outage: %s, want all 200", statuses(k))
	}
	t.Logf("streams delivered new events %v after Redis came back; %s", recovered.Round(10*time.Millisecond), observed(cs))
	if recovered > 2*time.Second {
		t.Errorf("streams went on %v after Redis came back, want within 2s", recovered.Round(10*time.Millisecond))
	}
	for i := range c.Gateways {
		if after[i] > 2*before[i]+20 {
			t.Errorf("instance %d: %v goroutines after the outage, %v before", i, after[i], before[i])
		}
	}
	t.Logf("goroutines per instance before %v, after %v", before, after)
	if _, _, err := c.lease(t.Context()); err != nil {
		t.Errorf("after the outage: %v", err)
	}
	for i, fc := range cs {
		if os.Getenv("E2E_DEBUG") != "" {
			t.Logf("client %d:%s", i, describe(fc))
		}
		if err := checkContinuous(fc.events()); err != nil {
			t.Errorf("client %d: %v%s", i, err, describe(fc))
		}
		if n := gapEvents(fc.events()); n != 0 {
			t.Errorf("client %d: %d gap events, want none%s", i, n, describe(fc))
		}
		if n := len(fc.connections()); n != 1 {
			t.Errorf("client %d: %d connections, want 1: no stream ends%s", i, n, describe(fc))
		}
	}
}

// checkGapsAnnounced checks that a client was told of every event it
// missed: a push whose sequence number does not follow the previous push's
// must come right after a gap event.
func checkGapsAnnounced(evs []received) error {
	var prev uint64
	first, announced := true, false
	for i, e := range evs {
		switch e.Type {
		case "gap":
			announced = true
			continue
		case "":
		default: // end, upstream-error
			continue
		}
		s, err := e.seq()
		if err != nil {
			return err
		}
		if !first && s != prev+1 && !announced {
			return fmt.Errorf("event %d (%s, from instance %d): seq %d after %d without a gap event", i, e.ID, e.Instance, s, prev)
		}
		prev, first, announced = s, false, false
	}
	return nil
}

// TestClusterNodeRestart kills the simulated node under three instances
// and starts it again on the same port: calls answer 503 while it is down
// and 200 once the instances have reconnected, and the streams resume on
// their own.
//
// The restarted node is a new chain: heights start at 0 again, so a
// stream's heights drop across the restart. The shared log outlives the
// node, so sequence numbers go on without a hole: the clients stay
// connected, see no end event, and get one rollback event of the log
// before the new chain's first push (the renewed upstream subscription is
// lower than the log, and no node is at the log's height).
func TestClusterNodeRestart(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	cs, stop := followAll(t.Context(), c, 9)
	defer stop()
	if err := waitStreaming(t.Context(), cs, 5); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	calls, waitCalls := startCaller(ctx, c.bases(), 100*time.Millisecond)
	defer func() { cancel(); waitCalls() }()

	c.Node.kill(t)
	downAt := time.Now()
	var heightAtKill int64
	for _, fc := range cs {
		if last, ok := fc.lastEvent(); ok {
			h, _ := last.height()
			heightAtKill = max(heightAtKill, h)
		}
	}
	if err := waitReadiness(t.Context(), c, "upstream", http.StatusServiceUnavailable, 5*time.Second); err != nil {
		t.Errorf("during the outage: %v", err)
	}
	seen503 := time.Now()
	time.Sleep(time.Until(downAt.Add(outage)))
	c.Node.start(t)
	upAt := time.Now()
	t.Logf("devnode down for %v, at height %d when killed", upAt.Sub(downAt).Round(time.Millisecond), heightAtKill)

	if err := waitReadiness(t.Context(), c, "upstream", http.StatusOK, 15*time.Second); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	readyAt := time.Now()
	if err := waitEventsAfter(t.Context(), cs, readyAt, 15*time.Second); err != nil {
		t.Errorf("streams after the outage: %v", err)
	}
	t.Logf("instances ready %v after the node came back, every stream with new events %v after",
		readyAt.Sub(upAt).Round(10*time.Millisecond), time.Since(upAt).Round(10*time.Millisecond))
	time.Sleep(time.Second)
	cancel()
	waitCalls()
	stop()

	during := calls.between(seen503, upAt)
	t.Logf("calls during the outage: %s; all calls from the kill to the restart: %s, slowest %v", statuses(during), statuses(calls.between(downAt, upAt)), slowest(calls.between(downAt, upAt)))
	if len(during) == 0 {
		t.Errorf("no call during the outage")
	}
	for _, k := range calls.between(downAt, upAt) {
		if k.Status != http.StatusServiceUnavailable {
			t.Errorf("call to instance %d at %s during the outage: %d %v %s, want 503", k.Instance, k.At.Format("15:04:05.000"), k.Status, k.Err, k.Body)
		}
		if k.Took > time.Second {
			t.Errorf("call to instance %d at %s during the outage took %v, want a quick 503", k.Instance, k.At.Format("15:04:05.000"), k.Took)
		}
	}
	if k := calls.between(readyAt, time.Now()); statuses(k) != fmt.Sprintf("200×%d ", len(k)) {
		t.Errorf("calls after the outage: %s, want all 200", statuses(k))
	}
	t.Logf("%s", observed(cs))
	for i, fc := range cs {
		evs := fc.events()
		// Heights must rise by one except across a gap or rollback
		// event, and the new chain's heights start over: its first push
		// comes right after the one rollback event of the log (the
		// renewed subscription), and is the new chain's, as a chain makes
		// a block every blockInterval from its start. Unless the new
		// chain was at the very height the old one ended with when the
		// instance subscribed again: that first answer repeats the last
		// push and is dropped (D21), the next heights follow on, and no
		// rollback is due.
		if err := checkContinuous(evs); err != nil {
			t.Errorf("client %d: %v%s", i, err, describe(fc))
		}
		switch n := gapEvents(evs); n {
		case 0:
			t.Logf("client %d: no rollback: the new chain was at the old one's last height when subscribed again", i)
			continue
		case 1:
		default:
			t.Errorf("client %d: %d gap or rollback events, want 1%s", i, n, describe(fc))
			continue
		}
		at := slices.IndexFunc(evs, isBreak) + 1
		if at == len(evs) || evs[at].Type != "" {
			t.Errorf("client %d: no push right after the rollback event%s", i, describe(fc))
			continue
		}
		first := evs[at]
		if h, _ := first.height(); h > int64(first.At.Sub(upAt)/blockInterval)+2 {
			t.Errorf("client %d: height %d %v after the restart, right after the rollback, want the new chain's%s", i, h, first.At.Sub(upAt).Round(time.Millisecond), describe(fc))
		}
	}
}
