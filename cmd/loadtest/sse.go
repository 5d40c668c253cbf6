package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// progressInterval is how often the sse subcommand checks and logs its
// progress.
const progressInterval = 250 * time.Millisecond

// sseResult is everything the sse subcommand measured.
type sseResult struct {
	Machine *machine
	Config  sseConfig
	Layout  []string
	// Connect is how long opening every stream took.
	Connect time.Duration
	// FirstSeq and LastSeq bound the measured events.
	FirstSeq, LastSeq uint64
	// Window is how long the measured events took to arrive everywhere.
	Window time.Duration
	// Latency is every delivery of a measured event.
	Latency summary
	// FanOut is, per measured event, its latest delivery.
	FanOut summary
	// Complete counts the streams that received every measured event;
	// Failed the streams that ended early.
	Complete, Failed int
	FirstErr         error
	CPU              cpuUse
	// Before is the gateway's metrics before the streams, After with
	// every stream open, and AfterGC (when waited for) after its next
	// garbage collection.
	Before, After, AfterGC metricSet
	// RSSBefore and RSSAfter are, for nchan, its process's resident
	// memory before the streams and with them, in bytes.
	RSSBefore, RSSAfter float64
}

// runSSE opens the streams and measures their delivery latency and the
// gateway's memory.
func runSSE(ctx context.Context, cfg sseConfig, out io.Writer, logger *slog.Logger) (err error) {
	res := &sseResult{Machine: newMachine(), Config: cfg}
	st, err := startStack(ctx, cfg.Stack, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	res.Layout = st.layout()
	u, err := url.Parse(st.GatewayURL)
	if err != nil {
		return err
	}
	addr := u.Host

	// The probe opens the shared subscription, so that what follows
	// measures streams, not the subscription. It is not counted.
	probe, err := openStream(ctx, addr, cfg.Path)
	if err != nil {
		return fmt.Errorf("first stream: %w", err)
	}
	defer probe.close()
	if res.Before, err = scrapeMetrics(ctx, st.GatewayURL); err != nil {
		return err
	}

	streams, readers, err := measureStreams(ctx, cfg, addr, st.procs(), res, logger)
	defer closeStreams(streams, readers)
	if err != nil {
		return err
	}
	established := time.Now().Add(-res.Window)
	if res.After, err = scrapeMetrics(ctx, st.GatewayURL); err != nil {
		return err
	}
	if cfg.GCWait > 0 {
		if res.AfterGC, err = awaitGC(ctx, st.GatewayURL, established, cfg.GCWait, logger); err != nil {
			return err
		}
	}

	closeStreams(streams, readers)
	res.analyse(streams)
	res.Machine.finish()
	writeSSEReport(out, res)
	if cfg.NginxBin == "" {
		return nil
	}
	// The reference: the same streams and events on nchan.
	ref, err := runNchan(ctx, cfg, logger)
	if err != nil {
		return fmt.Errorf("nchan: %w", err)
	}
	writeNchanReport(out, res, ref)
	return nil
}

// measureStreams opens cfg.Streams streams of cfg.Path on addr and
// measures their next cfg.Events events: res gets Connect, FirstSeq,
// LastSeq, Window (from every stream established to the last event) and the
// CPU of procs meanwhile. The caller closes the streams and waits for
// readers, also on error.
func measureStreams(ctx context.Context, cfg sseConfig, addr string, procs map[string]int, res *sseResult, logger *slog.Logger) ([]*sseStream, *sync.WaitGroup, error) {
	connectStart := time.Now()
	streams, readers, err := openStreams(ctx, cfg, addr, logger)
	if err != nil {
		return streams, readers, err
	}
	established := time.Now()
	res.Connect = established.Sub(connectStart)

	// Measure the next Events events: those after the latest any stream
	// has seen.
	cpu := startCPU(procs)
	var latest uint64
	for _, s := range streams {
		latest = max(latest, s.lastSeq.Load())
	}
	res.FirstSeq, res.LastSeq = latest+1, latest+uint64(cfg.Events)
	logger.Info("every stream established; measuring", slog.Int("streams", len(streams)),
		slog.Duration("took", res.Connect.Round(time.Millisecond)),
		slog.Uint64("first_seq", res.FirstSeq), slog.Uint64("last_seq", res.LastSeq))
	if err := awaitEvents(ctx, streams, res.LastSeq, eventsTimeout(cfg), logger); err != nil {
		logger.Warn("not every stream received every event", slog.Any("err", err))
	}
	res.Window = time.Since(established)
	res.CPU = cpu.stop().use()
	return streams, readers, nil
}

// openStreams opens cfg.Streams streams, DialConcurrency at a time, and
// starts a reader for each; readers ends when the streams are closed. It
// fails unless every stream opens.
func openStreams(ctx context.Context, cfg sseConfig, addr string, logger *slog.Logger) ([]*sseStream, *sync.WaitGroup, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	streams := make([]*sseStream, cfg.Streams)
	readers := &sync.WaitGroup{}
	var dials sync.WaitGroup
	var opened, failed atomic.Int64
	var errOnce sync.Once
	var firstErr error
	sem := make(chan struct{}, cfg.DialConcurrency)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range streams {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			dials.Add(1)
			readers.Add(1)
			go func() {
				defer readers.Done()
				s, err := openStreamOf(ctx, addr, cfg.Path, cfg.dataIDs)
				<-sem
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err; cancel() })
					dials.Done()
					return
				}
				streams[i] = s
				opened.Add(1)
				dials.Done()
				s.read(func(uint64) {})
			}()
		}
	}()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			logger.Info("opening streams", slog.Int64("open", opened.Load()), slog.Int("want", cfg.Streams))
		}
	}
	dials.Wait()
	if n := opened.Load(); n < int64(cfg.Streams) {
		err := firstErr
		if err == nil {
			err = ctx.Err()
		}
		return streams, readers, fmt.Errorf("opened %d of %d streams (%d failed): %w", n, cfg.Streams, failed.Load(), err)
	}
	return streams, readers, nil
}

// eventsTimeout is how long to wait for the measured events: twice their
// expected time, plus a margin.
func eventsTimeout(cfg sseConfig) time.Duration {
	interval := max(cfg.Stack.BlockInterval, time.Second)
	return 2*time.Duration(cfg.Events)*interval + 30*time.Second
}

// awaitEvents waits until every stream has received event last, or a
// stream has ended, or timeout.
func awaitEvents(ctx context.Context, streams []*sseStream, last uint64, timeout time.Duration, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	logged := time.Now()
	for {
		behind := 0
		for _, s := range streams {
			if s.lastSeq.Load() < last {
				behind++
			}
		}
		if behind == 0 {
			return nil
		}
		if time.Since(logged) >= 5*time.Second {
			logger.Info("waiting for events", slog.Int("streams_behind", behind), slog.Uint64("last_seq", last))
			logged = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d streams without event %d: %w", behind, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// awaitGC waits until the gateway has collected garbage after since, and
// returns its metrics then.
func awaitGC(ctx context.Context, base string, since time.Time, timeout time.Duration, logger *slog.Logger) (metricSet, error) {
	logger.Info("waiting for the gateway's next garbage collection", slog.Duration("at_most", timeout))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	for {
		m, err := scrapeMetrics(ctx, base)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil // timed out: no figures after GC
			}
			return nil, err
		}
		if m[metricLastGC] > float64(since.UnixNano())/1e9 {
			return m, nil
		}
		select {
		case <-ctx.Done():
			logger.Warn("no garbage collection in time; reporting the figures without one")
			return nil, nil
		case <-tick.C:
		}
	}
}

// analyse computes the figures from the streams' deliveries.
func (r *sseResult) analyse(streams []*sseStream) {
	events := int(r.LastSeq - r.FirstSeq + 1)
	latest := make([]time.Duration, events)
	var all []time.Duration
	for _, s := range streams {
		got := 0
		for _, d := range s.deliveries {
			if d.Seq < r.FirstSeq || d.Seq > r.LastSeq {
				continue
			}
			got++
			all = append(all, d.Latency)
			i := d.Seq - r.FirstSeq
			latest[i] = max(latest[i], d.Latency)
		}
		if got == events {
			r.Complete++
		}
		if s.err != nil && !isClosedErr(s.err) {
			r.Failed++
			if r.FirstErr == nil {
				r.FirstErr = s.err
			}
		}
	}
	r.Latency = summarize(all)
	r.FanOut = summarize(latest)
}

// isClosedErr reports whether err is the end of a stream that the load
// test closed itself.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// closeStreams closes the streams opened (nil for those that failed) and
// waits for their readers.
func closeStreams(streams []*sseStream, readers *sync.WaitGroup) {
	for _, s := range streams {
		if s != nil {
			s.close()
		}
	}
	readers.Wait()
}
