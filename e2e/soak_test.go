package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// soakEnv sets how long TestSoak runs (a Go duration, such as 10m); it is
// skipped without it.
const soakEnv = "E2E_SOAK"

// soakSample is how often TestSoak samples the instances.
const soakSample = 30 * time.Second

// TestSoak runs three instances on Redis and the simulated node for
// E2E_SOAK (10m for the figure) under a steady load that churns:
// 60 clients following the height stream, 20 more opened and closed every
// sampling period, a call every 20 ms, and an idempotent call every second.
// It samples each instance's goroutines, Go heap and RSS every 30 s and
// fails unless they stay flat: the last third of the samples no higher than
// the first third's (after the first minute) plus a margin. With
// E2E_SOAK_OUT it writes the table there.
//
//	E2E_SOAK=10m E2E_SOAK_OUT=/tmp/soak.md go test -count=1 -timeout 20m -run TestSoak -v ./e2e
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(soakEnv))
	if err != nil || d <= 0 {
		t.Skipf("a soak: set %s to a duration (10m) to run it", soakEnv)
	}
	m := newMachine(t)
	c := startCluster(t, 3, "--rate-plans", unlimited, "--max-streams-per-client", "100000")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cs, stop := followAll(ctx, c, 60)
	defer stop()
	calls, waitCalls := startCaller(ctx, c.bases(), 20*time.Millisecond)
	defer waitCalls()
	idem := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				idem <- nil
				return
			case <-tick.C:
			}
			a, err := post(ctx, c.Gateways[i%3].URL+"/rpc/latestHeight", `{"chainId":2}`, "Idempotency-Key", fmt.Sprintf("soak-%d", i))
			if ctx.Err() == nil && (err != nil || a.Status != http.StatusOK) {
				idem <- fmt.Errorf("idempotent call %d: %d %s %v", i, a.Status, a.Body, err)
				return
			}
		}
	}()

	type row struct {
		at                    time.Duration
		goroutines, heap, rss []float64
	}
	var rows []row
	start := time.Now()
	for time.Since(start) < d {
		// Churn: streams that come and go during the period.
		cctx, ccancel := context.WithCancel(ctx)
		for i, g := range c.Gateways {
			if _, err := openCounting(cctx, g.URL, 7-i%2); err != nil {
				t.Errorf("short-lived streams on instance %d: %v", i, err)
			}
		}
		time.Sleep(soakSample / 2)
		ccancel()
		time.Sleep(soakSample / 2)
		r := row{at: time.Since(start)}
		for i, g := range c.Gateways {
			s, err := sample(ctx, g.URL)
			if err != nil {
				t.Fatalf("instance %d: %v", i, err)
			}
			r.goroutines, r.heap, r.rss = append(r.goroutines, s.Goroutines), append(r.heap, s.Heap/1e6), append(r.rss, s.RSS/1e6)
		}
		rows = append(rows, r)
		t.Logf("%v: goroutines %v, heap MB %.1f, RSS MB %.1f", r.at.Round(time.Second), r.goroutines, r.heap, r.rss)
	}
	cancel()
	stop()
	waitCalls()
	if err := <-idem; err != nil {
		t.Error(err)
	}
	m.finish()

	var failed []string
	for _, k := range calls.between(start, time.Now()) {
		if k.Status != http.StatusOK {
			failed = append(failed, fmt.Sprintf("%d %v", k.Status, k.Err))
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d calls failed: %v", len(failed), failed[:min(len(failed), 5)])
	}
	for i, fc := range cs {
		if err := checkContinuous(fc.events()); err != nil {
			t.Errorf("client %d: %v", i, err)
		}
	}

	// Flat: the last third against the first third after a minute.
	var warm []row
	for _, r := range rows {
		if r.at >= time.Minute {
			warm = append(warm, r)
		}
	}
	if len(warm) >= 3 {
		third := len(warm) / 3
		for i := range c.Gateways {
			peak := func(rs []row, f func(row) []float64) float64 {
				var vs []float64
				for _, r := range rs {
					vs = append(vs, f(r)[i])
				}
				return slices.Max(vs)
			}
			for _, q := range []struct {
				name   string
				f      func(row) []float64
				margin func(float64) float64
			}{
				{"goroutines", func(r row) []float64 { return r.goroutines }, func(v float64) float64 { return v*1.1 + 10 }},
				{"heap MB", func(r row) []float64 { return r.heap }, func(v float64) float64 { return v*1.5 + 5 }},
				{"RSS MB", func(r row) []float64 { return r.rss }, func(v float64) float64 { return v*1.25 + 10 }},
			} {
				early, late := peak(warm[:third], q.f), peak(warm[len(warm)-third:], q.f)
				if late > q.margin(early) {
					t.Errorf("instance %d: %s rose from %.1f to %.1f over the soak", i, q.name, early, late)
				}
			}
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Soak of %v (`E2E_SOAK=%s go test -run TestSoak ./e2e`): three instances, Redis and the simulated node as processes; 60 clients of the height stream, 20 streams opened and closed every %v, a call every 20 ms, an idempotent call every second. Machine: %d CPUs, %s; load average %s at the start, %s at the end.\n\n",
		d, os.Getenv(soakEnv), soakSample, m.CPUs, m.Model, m.LoadStart, m.LoadEnd)
	b.WriteString("| time | goroutines (per instance) | Go heap in use, MB | RSS, MB |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %v | %v | %.1f | %.1f |\n", r.at.Round(time.Second), r.goroutines, r.heap, r.rss)
	}
	fmt.Fprintf(&b, "\n%d calls, %d failed; every client's events checked (nothing twice, out of order or missing without a gap).\n", len(calls.between(start, time.Now())), len(failed))
	t.Log("\n" + b.String())
	if out := os.Getenv("E2E_SOAK_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}
