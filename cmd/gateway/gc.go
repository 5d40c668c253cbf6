package main

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The gateway's heap is of two kinds. Every call allocates a few KiB that
// die at once: at Go's default GOGC=100 over a live heap of a few MiB, that
// garbage made 5.2 collections per 1,000 calls on a 2-CPU machine, against
// 0.8 at GOGC=400, and the collector's share of the CPU fell from 8.7% to
// 3.2% (BENCHMARKS.md). And every open stream keeps a few hundred bytes
// that live as long as it does: a proportional GOGC makes each of those
// bytes cost four more of headroom at 400, which for idle streams buys
// nothing, since they make no garbage.
//
// So unless GOGC is set, the gateway sizes the collector's headroom (the
// heap it lets garbage take above the live heap) by the garbage being
// made, not by the live heap: what is allocated in gcCover, between
// gcMinHeadroom and gcMaxHeadroom. Busy with calls, a collection comes
// every 32 MiB allocated, as GOGC=400 gave over the small heap of a gateway
// without streams; idle, the heap is the live one and 4 MiB, and the
// runtime gives the rest back to the system. A collection marks the whole
// live heap, so the headroom never falls below gcMinPercent of it: with a
// million streams, a collection at most every quarter of the live heap
// allocated. GOGC is set again every gcTuneEvery.
const (
	// defaultGCPercent bounds GOGC: the headroom of a busy gateway's
	// small heap.
	defaultGCPercent = 400
	// gcMinHeadroom and gcMaxHeadroom bound the headroom.
	gcMinHeadroom = 4 << 20
	gcMaxHeadroom = 32 << 20
	// gcCover is how long the allocations of the moment take to fill the
	// headroom: a collection every gcCover at most, when the headroom is
	// not at its bound.
	gcCover = 2 * time.Second
	// gcMinPercent is the least headroom, in percent of the live heap.
	gcMinPercent = 25
	// gcTuneEvery is how often the heap is read and GOGC set again.
	gcTuneEvery = time.Second
)

// gcPercent is the GOGC that gives a live heap of live bytes the headroom,
// within [gcMinPercent, defaultGCPercent].
func gcPercent(live, headroom uint64) int {
	if live == 0 {
		return defaultGCPercent
	}
	p := int(min(headroom*100/live, defaultGCPercent))
	return max(p, gcMinPercent)
}

// gcHeadroom is the headroom for allocations of rate bytes a second.
func gcHeadroom(rate float64) uint64 {
	h := uint64(rate * gcCover.Seconds())
	return min(max(h, gcMinHeadroom), gcMaxHeadroom)
}

// gcTuner keeps GOGC at gcPercent of the live heap, with the headroom of
// the allocations of the moment.
type gcTuner struct {
	sample  []metrics.Sample
	percent int // the GOGC set last
	allocs  uint64
	at      time.Time
	// rate is the allocation rate, in bytes a second: the last second's,
	// or less than a fifth below the one before, whichever is larger, so
	// that a pause of a second between bursts keeps the headroom.
	rate float64
}

func newGCTuner() *gcTuner {
	return &gcTuner{sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/allocs:bytes"}}}
}

// tune reads the heap and sets GOGC when it should move by more than a
// tenth; it returns the GOGC in force. The first call, with no rate yet,
// takes the largest headroom.
func (t *gcTuner) tune(now time.Time) int {
	metrics.Read(t.sample)
	live, allocs := uint64(0), uint64(0)
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	if t.sample[1].Value.Kind() == metrics.KindUint64 {
		allocs = t.sample[1].Value.Uint64()
	}
	if t.at.IsZero() {
		t.rate = gcMaxHeadroom / gcCover.Seconds()
	} else if dt := now.Sub(t.at).Seconds(); dt > 0 {
		t.rate = max(float64(allocs-t.allocs)/dt, t.rate*0.8)
	}
	t.allocs, t.at = allocs, now
	p := gcPercent(live, gcHeadroom(t.rate))
	if t.percent == 0 || math.Abs(float64(p-t.percent)) > float64(t.percent)/10 {
		debug.SetGCPercent(p)
		t.percent = p
	}
	return t.percent
}

// run tunes GOGC every gcTuneEvery until ctx ends.
func (t *gcTuner) run(ctx context.Context) error {
	tick := time.NewTicker(gcTuneEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			t.tune(now)
		}
	}
}

// tuneGC sets GOGC for the heap as it is, unless the environment sets
// GOGC, and logs the outcome. It returns the tuner to run, nil when GOGC
// is the operator's.
func tuneGC(getenv func(string) string, logger *slog.Logger) *gcTuner {
	var tuner *gcTuner
	attrs := []any{slog.String("gogc", getenv("GOGC"))}
	if getenv("GOGC") == "" {
		tuner = newGCTuner()
		attrs = []any{slog.Int("gogc", tuner.tune(time.Now())),
			slog.String("detail", "adaptive: a headroom above the live heap of what is allocated in 2 s, 4 to 32 MiB, 25% to 400% of it; set GOGC to fix it")}
	}
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		attrs = append(attrs, slog.Int64("gomemlimit_bytes", limit))
	}
	logger.Info("garbage collection", attrs...)
	return tuner
}
