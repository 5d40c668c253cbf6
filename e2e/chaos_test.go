package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// chaosRunsEnv sets how many times TestChaos runs its faults in a row (1 by
// default; the figure is 5).
const chaosRunsEnv = "E2E_CHAOS_RUNS"

// chaosClients is how many clients read the stream during the faults.
const chaosClients = 24

// term stops the gateway with SIGTERM, as a rolling restart does, and
// waits until it has exited with status 0.
func (p *gatewayProc) term(t *testing.T) {
	t.Helper()
	p.killed.Store(true) // the exit is expected
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.Instance, err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("gateway %s after SIGTERM: %v, want exit status 0", p.Instance, p.waitErr)
		}
	case <-time.After(stopTimeout):
		t.Fatalf("gateway %s still running %v after SIGTERM", p.Instance, stopTimeout)
	}
}

// restart starts instance i again, on its address, once it has exited.
func (c *cluster) restart(t *testing.T, i int) {
	t.Helper()
	addr := strings.TrimPrefix(c.Gateways[i].URL, "http://")
	c.Gateways[i] = startGateway(t, append(c.gatewayArgs(), "--listen", addr)...)
}

// waitLeaseMoved waits until the topic's lease is held by an instance other
// than from, and returns it.
func (c *cluster) waitLeaseMoved(ctx context.Context, from int, within time.Duration) (int, error) {
	holder := -1
	err := waitFor(ctx, within, func(ctx context.Context) error {
		_, o, err := c.lease(ctx)
		if err != nil {
			return err
		}
		if o == from {
			return fmt.Errorf("instance %d still holds the lease", from)
		}
		holder = o
		return nil
	})
	return holder, err
}

// chaosFigures is what one run of the faults measured.
type chaosFigures struct {
	Handover, Takeover time.Duration // from the signal to the lease on another instance
	RedisSilence       time.Duration // from Redis back to every client's next push
	SlowRedisCall      time.Duration // the slowest plain call while Redis slept
	Events             int           // pushes received, over all clients
	Lost, Duplicated   int           // pushes missing without a gap event; received twice
	Gaps               int           // gap events, over all clients
}

// TestChaos runs every fault of an operator's bad day against three
// instances, Redis and the simulated node as processes, while 24 clients
// read one stream and reconnect to the next instance with Last-Event-ID
// whenever theirs goes away:
//
//  1. SIGTERM of the lease holder, started again (a rolling restart);
//  2. kill -9 of the lease holder, started again;
//  3. Redis killed, and started again empty 3 s later;
//  4. Redis asleep for 5 s (DEBUG SLEEP), while plain calls go on;
//  5. the node killed, an idempotent call made meanwhile (a 503, which
//     must not be kept under its key), the node started again (a new
//     chain), and the call retried.
//
// Every client's events are then checked: no event twice, none out of
// order, none missing without a gap event, and no gap event at all before
// the node's restart (after it, one, a rollback: the new chain's heights). It runs
// E2E_CHAOS_RUNS times in a row (1 by default) and logs each run's figures.
func TestChaos(t *testing.T) {
	// Not parallel: it runs before the parallel tests, alone, so that its
	// timing checks (the takeover, a call while Redis sleeps) measure the
	// gateway rather than a machine shared with the other clusters.
	runs := 1
	if s := os.Getenv(chaosRunsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", chaosRunsEnv, s)
		}
		runs = n
	}
	var figures []chaosFigures
	for run := 1; run <= runs; run++ {
		t.Run(fmt.Sprintf("run %d", run), func(t *testing.T) {
			f := chaosRun(t)
			figures = append(figures, f)
			t.Logf("figures: %+v", f)
		})
	}
	t.Logf("%d runs:", len(figures))
	for i, f := range figures {
		t.Logf("run %d: %d pushes received, %d lost, %d duplicated, %d gap or rollback events (want one per client, after the node's restart); "+
			"handover %v, takeover %v after kill -9, first push %v after Redis came back, slowest plain call %v while Redis slept",
			i+1, f.Events, f.Lost, f.Duplicated, f.Gaps, f.Handover.Round(10*time.Millisecond), f.Takeover.Round(10*time.Millisecond),
			f.RedisSilence.Round(10*time.Millisecond), f.SlowRedisCall.Round(time.Millisecond))
	}
}

// chaosRun runs the faults once, on a cluster of its own.
func chaosRun(t *testing.T) chaosFigures {
	c := startCluster(t, 3, "--rate-plans", unlimited)
	var f chaosFigures
	cs, stop := followAll(t.Context(), c, chaosClients)
	defer stop()
	ctx, cancel := context.WithCancel(t.Context())
	calls, waitCalls := startCaller(ctx, c.bases(), 100*time.Millisecond)
	defer func() { cancel(); waitCalls() }()
	if err := waitStreaming(t.Context(), cs, 5); err != nil {
		t.Fatal(err)
	}
	// settle waits until every client has pushes again, after t0.
	settle := func(what string, t0 time.Time) {
		t.Helper()
		if err := waitEventsAfter(t.Context(), cs, t0, 30*time.Second); err != nil {
			t.Fatalf("after the %s: %v", what, err)
		}
	}

	// 1. A rolling restart of the holder: it hands its lease over.
	_, owner, err := c.lease(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	c.Gateways[owner].term(t)
	if _, err := c.waitLeaseMoved(t.Context(), owner, 5*time.Second); err != nil {
		t.Fatalf("handover: %v", err)
	}
	f.Handover = time.Since(t0)
	c.restart(t, owner)
	settle("handover", time.Now())

	// 2. The holder crashes.
	_, owner, err = c.lease(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c.Gateways[owner].kill(t)
	t0 = time.Now()
	if _, err := c.waitLeaseMoved(t.Context(), owner, 10*time.Second); err != nil {
		t.Fatalf("takeover: %v", err)
	}
	f.Takeover = time.Since(t0)
	c.restart(t, owner)
	settle("crash", time.Now())

	// 3. Redis restarts, empty.
	c.Redis.kill(t)
	time.Sleep(outage)
	c.Redis.start(t)
	upAt := time.Now()
	settle("Redis restart", upAt)
	for _, fc := range cs {
		evs := fc.events()
		if i := slices.IndexFunc(evs, func(e received) bool { return e.Type == "" && e.At.After(upAt) }); i >= 0 {
			f.RedisSilence = max(f.RedisSilence, evs[i].At.Sub(upAt))
		}
	}

	// 4. Redis asleep: plain calls need not wait for it.
	sleeper := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(c.Redis.URL, "redis://"), "/0"), ReadTimeout: 10 * time.Second})
	defer sleeper.Close()
	slowAt := time.Now()
	if err := sleeper.Do(t.Context(), "DEBUG", "SLEEP", "5").Err(); err != nil {
		t.Fatalf("DEBUG SLEEP: %v", err)
	}
	awake := time.Now()
	settle("Redis sleep", awake)
	for _, k := range calls.between(slowAt, awake) {
		f.SlowRedisCall = max(f.SlowRedisCall, k.Took)
		if k.Status != http.StatusOK {
			t.Errorf("call to instance %d while Redis slept: %d %v %s, want 200", k.Instance, k.Status, k.Err, k.Body)
		}
	}

	// 5. The node goes away; an idempotent call meanwhile is a 503 that
	// its key does not keep.
	c.Node.kill(t)
	nodeDownAt := time.Now()
	key := "chaos-" + randomHex(8)
	a, err := post(t.Context(), c.Gateways[0].URL+"/rpc/latestHeight", `{"chainId":2}`, "Idempotency-Key", key)
	if err != nil || a.Status != http.StatusServiceUnavailable {
		t.Errorf("idempotent call with the node down: %d %s %v, want 503", a.Status, a.Body, err)
	}
	time.Sleep(outage)
	c.Node.start(t)
	if err := waitReadiness(t.Context(), c, "upstream", http.StatusOK, 15*time.Second); err != nil {
		t.Fatalf("after the node's restart: %v", err)
	}
	a, err = post(t.Context(), c.Gateways[1].URL+"/rpc/latestHeight", `{"chainId":2}`, "Idempotency-Key", key)
	if err != nil || a.Status != http.StatusOK || a.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the idempotent call retried once the node is back: %d %v %s %v, want 200, not replayed", a.Status, a.Header, a.Body, err)
	}
	settle("node restart", time.Now())
	time.Sleep(time.Second)
	cancel()
	waitCalls()
	stop()

	for i, fc := range cs {
		evs := fc.events()
		if os.Getenv("E2E_DEBUG") != "" {
			t.Logf("client %d:%s", i, describe(fc))
		}
		lost, dup := tally(evs)
		f.Lost += lost
		f.Duplicated += dup
		f.Gaps += gapEvents(evs)
		for _, e := range evs {
			if e.Type == "" {
				f.Events++
			}
		}
		if err := checkContinuous(evs); err != nil {
			t.Errorf("client %d: %v%s", i, err, describe(fc))
		}
		for _, e := range evs {
			if isBreak(e) && e.At.Before(nodeDownAt) {
				t.Errorf("client %d: gap event %s at %s, before the node went down: pushes were lost%s", i, e.ID, e.At.Format("15:04:05.000"), describe(fc))
			}
		}
		if n := gapEvents(evs); n > 1 {
			t.Errorf("client %d: %d gap events, want at most one (the node's restart)%s", i, n, describe(fc))
		}
	}
	// A plain call waits at most 100 ms for Redis; the rest is slack for
	// a loaded machine.
	if f.SlowRedisCall > 400*time.Millisecond {
		t.Errorf("the slowest plain call took %v while Redis slept, want about 100 ms at most", f.SlowRedisCall)
	}
	if f.Takeover > leaseTTL+time.Second {
		t.Errorf("takeover took %v, want within %v", f.Takeover, leaseTTL+time.Second)
	}
	return f
}

// tally counts a client's pushes missing without a gap event before them,
// and those received twice, by sequence number.
func tally(evs []received) (lost, duplicated int) {
	seen := map[uint64]bool{}
	var prev uint64
	gap := false
	for _, e := range evs {
		s, err := e.seq()
		if err != nil {
			continue
		}
		if seen[s] {
			duplicated++
			continue
		}
		seen[s] = true
		if e.Type == "gap" {
			gap = true
		}
		if prev != 0 && s > prev+1 && !gap {
			lost += int(s - prev - 1)
		}
		if e.Type == "" {
			gap = false
		}
		prev = max(prev, s)
	}
	return lost, duplicated
}
