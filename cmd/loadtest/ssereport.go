package main

import (
	"fmt"
	"io"
)

func writeSSEReport(w io.Writer, r *sseResult) {
	c := r.Config
	fmt.Fprintf(w, "## sse: %d streams of %s\n\n", c.Streams, c.Path)
	writeMachine(w, r.Machine, r.Layout)
	fmt.Fprintf(w, "- one shared subscription; a first stream (not counted) opened it; the %d streams opened %d at a time over raw TCP in %v\n",
		c.Streams, c.DialConcurrency, r.Connect.Round(1e6))
	fmt.Fprintf(w, "- delivery latency = receive time − the ms in the event id (when the gateway appended the push): resolution 1 ms, reads up to 1 ms high\n")
	fmt.Fprintf(w, "- measured events %d to %d (%d), over %v; CPUs used meanwhile: %s\n\n",
		r.FirstSeq, r.LastSeq, r.LastSeq-r.FirstSeq+1, r.Window.Round(1e6), r.CPU)

	l, f := r.Latency, r.FanOut
	fmt.Fprintln(w, "| | deliveries | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	fmt.Fprintf(w, "| delivery latency, every stream and event | %d | %s | %s | %s | %s | %s |\n", l.N, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max))
	fmt.Fprintf(w, "| fan-out: per event, its last delivery | %d | %s | %s | %s | %s | %s |\n\n", f.N, ms(f.P50), ms(f.P90), ms(f.P99), ms(f.P999), ms(f.Max))
	fmt.Fprintf(w, "Streams that received every measured event: **%d of %d**; streams ended early: %d.", r.Complete, c.Streams, r.Failed)
	if r.FirstErr != nil {
		fmt.Fprintf(w, " First error: %v.", r.FirstErr)
	}
	fmt.Fprintf(w, "\n\np99 delivery latency **%s ms** (target < %s ms with %d streams: %s).\n\n",
		ms(l.P99), ms(targetDeliveryP99), c.Streams, verdict(l.P99 < targetDeliveryP99 && r.Complete == c.Streams))

	fmt.Fprintln(w, "Gateway memory (its /metrics; Δ from before the streams, one stream = Δ / streams):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| | active streams | goroutines | heap in use MiB | stacks in use MiB | RSS MiB | (Δheap+Δstack)/stream | ΔRSS/stream |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	n := float64(c.Streams)
	row := func(name string, m metricSet) {
		if m == nil {
			return
		}
		b := r.Before
		perStream := (m[metricHeapInuse] - b[metricHeapInuse] + m[metricStackInuse] - b[metricStackInuse]) / n
		rss := (m[metricRSS] - b[metricRSS]) / n
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.1f | %.1f | %.1f | %s | %s |\n", name,
			m[metricStreams], m[metricGoroutines], mib(m[metricHeapInuse]), mib(m[metricStackInuse]), mib(m[metricRSS]),
			perStream0(name, perStream), perStream0(name, rss))
	}
	row("before", r.Before)
	row("with the streams", r.After)
	row("with the streams, after the next GC", r.AfterGC)
	best := r.After
	if r.AfterGC != nil {
		best = r.AfterGC
	}
	b := r.Before
	per := (best[metricHeapInuse] - b[metricHeapInuse] + best[metricStackInuse] - b[metricStackInuse]) / n
	rss := (best[metricRSS] - b[metricRSS]) / n
	fmt.Fprintf(w, "\nMemory per stream: **%.1f KiB** heap+stack, %.1f KiB RSS (target < %d KB: %s); goroutines per stream: %.2f.\n",
		per/1024, rss/1024, targetBytesPerStream>>10, verdict(per < targetBytesPerStream && rss < targetBytesPerStream),
		(best[metricGoroutines]-b[metricGoroutines])/n)
}

func mib(b float64) float64 { return b / (1 << 20) }

func perStream0(row string, b float64) string {
	if row == "before" {
		return ""
	}
	return fmt.Sprintf("%.1f KiB", b/1024)
}
