package main

import (
	"context"
	"sync"
	"time"
)

// doFunc makes one request and reports its failure.
type doFunc func(ctx context.Context) error

// passResult is what one pass measured.
type passResult struct {
	Requests int           // completed in the measured window
	Errors   int           // of those, failed
	FirstErr error         // the first failure, for the report
	Elapsed  time.Duration // the measured window
	Latency  summary       // of the successful requests
	// Service is, in an open-loop pass, the latency from each request's
	// actual start rather than its scheduled start.
	Service summary
	CPU     cpuUse
}

// Rate is the completed requests per second.
func (r passResult) Rate() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// recorder collects one worker's samples; merged after the pass.
type recorder struct {
	lat, svc []time.Duration
	errs     int
	firstErr error
}

func (r *recorder) add(err error, lat, svc time.Duration) {
	if err != nil {
		r.errs++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.lat = append(r.lat, lat)
	r.svc = append(r.svc, svc)
}

// pass accumulates the rounds of one path at one load.
type pass struct {
	lat, svc []time.Duration
	errs     int
	firstErr error
	elapsed  time.Duration // measured, over all rounds
	cpu      cpuTimes
}

// addRound adds the workers' samples of one round, measured over elapsed.
func (p *pass) addRound(recs []*recorder, elapsed time.Duration, cpu cpuTimes) {
	for _, r := range recs {
		p.lat = append(p.lat, r.lat...)
		p.svc = append(p.svc, r.svc...)
		p.errs += r.errs
		if p.firstErr == nil {
			p.firstErr = r.firstErr
		}
	}
	p.elapsed += elapsed
	p.cpu.add(cpu)
}

func (p *pass) result() passResult {
	return passResult{
		Requests: len(p.lat) + p.errs, Errors: p.errs, FirstErr: p.firstErr, Elapsed: p.elapsed,
		Latency: summarize(p.lat), Service: summarize(p.svc), CPU: p.cpu.use(),
	}
}

// closedLoop runs workers that each make one request after another for
// warmup+dur, and measures the requests started after the warm-up. A
// closed loop finds the peak throughput; its latencies understate what
// a client arriving at a fixed rate would see, which openLoop measures.
func closedLoop(ctx context.Context, do doFunc, workers int, warmup, dur time.Duration) []*recorder {
	start := time.Now()
	measure, end := start.Add(warmup), start.Add(warmup+dur)
	recs := make([]*recorder, workers)
	var wg sync.WaitGroup
	for i := range recs {
		rec := &recorder{}
		recs[i] = rec
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				err := do(ctx)
				if !t0.Before(measure) {
					d := time.Since(t0)
					rec.add(err, d, d)
				}
			}
		})
	}
	wg.Wait()
	return recs
}

// openLoop starts requests at a fixed rate, whether earlier ones have
// finished or not, on up to workers at once, for warmup+dur. Latency
// counts from each request's scheduled start, so that a stall delays the
// requests behind it in the figures as it would in life (no coordinated
// omission); Service counts from its actual start.
//
// Requests are released in bursts: a timer wakes the dispatcher at about
// 1 ms granularity (Go's timers on Linux when the process is idle), so the
// from-schedule latency includes up to about a millisecond of the
// dispatcher's own lateness, equally for every path measured.
func openLoop(ctx context.Context, do doFunc, rate float64, workers int, warmup, dur time.Duration) []*recorder {
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	measure, end := start.Add(warmup), start.Add(warmup+dur)
	jobs := make(chan time.Time, workers*4)
	recs := make([]*recorder, workers)
	var wg sync.WaitGroup
	for i := range recs {
		rec := &recorder{}
		recs[i] = rec
		wg.Go(func() {
			for sched := range jobs {
				t0 := time.Now()
				err := do(ctx)
				if !sched.Before(measure) {
					t1 := time.Now()
					rec.add(err, t1.Sub(sched), t1.Sub(t0))
				}
			}
		})
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := start
dispatch:
	for next.Before(end) {
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				break dispatch
			case <-timer.C:
			}
		}
		// Release every request due by now.
		now := time.Now()
		for !next.After(now) && next.Before(end) {
			select {
			case jobs <- next:
			case <-ctx.Done():
				break dispatch
			}
			next = next.Add(interval)
		}
	}
	close(jobs)
	wg.Wait()
	return recs
}
