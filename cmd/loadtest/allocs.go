package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
)

// metricMallocs is the Go runtime's count of heap allocations, which the
// gateway's /metrics (Prometheus' Go collector) and the floor's expose.
const metricMallocs = "go_memstats_mallocs_total"

// floorMetrics answers the floor's /metrics with its allocation count, in
// the Prometheus text format, so that the allocation pass reads the floor
// as it reads the gateway.
func floorMetrics(w http.ResponseWriter, _ *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "%s %d\n", metricMallocs, ms.Mallocs)
}

// allocsPerCall makes calls calls with workers concurrent workers and
// returns the heap allocations per call of the process serving base, from
// its /metrics: what the process allocated between a scrape before and a
// scrape after, less what one scrape allocates (measured by two in a row).
func allocsPerCall(ctx context.Context, base string, do doFunc, calls, workers int) (float64, error) {
	mallocs := func() (float64, error) {
		m, err := scrapeMetrics(ctx, base)
		if err != nil {
			return 0, err
		}
		v, ok := m[metricMallocs]
		if !ok {
			return 0, fmt.Errorf("%s/metrics has no %s", base, metricMallocs)
		}
		return v, nil
	}
	m0, err := mallocs()
	if err != nil {
		return 0, err
	}
	m1, err := mallocs()
	if err != nil {
		return 0, err
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(calls) && ctx.Err() == nil {
				if err := do(ctx); err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	m2, err := mallocs()
	if err != nil {
		return 0, err
	}
	return (m2 - m1 - (m1 - m0)) / float64(calls), nil
}
