package main

import (
	"fmt"
	"slices"
	"time"
)

// summary describes a latency distribution.
type summary struct {
	N                        int
	P50, P90, P99, P999, Max time.Duration
}

// summarize sorts ds in place and returns its percentiles (nearest rank).
func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	slices.Sort(ds)
	return summary{
		N:   len(ds),
		P50: percentile(ds, 50), P90: percentile(ds, 90), P99: percentile(ds, 99), P999: percentile(ds, 99.9),
		Max: ds[len(ds)-1],
	}
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(p/100*float64(len(sorted)) + 0.9999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ms renders a duration in milliseconds with three decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
