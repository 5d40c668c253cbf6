package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// targetNchanRatio is issue 10's fan-out goal: the gateway's p99 delivery
// at most this many times nchan's, with the same streams and events.
const targetNchanRatio = 0.8

// nchanConf is the reference's configuration: one nginx process (no
// master), one channel, a publisher and an EventSource subscriber location
// whose new subscribers get the newest message first, as a new gateway
// stream gets the subscription's current state. nchan keeps its
// subscribers in shared memory, 32 MiB by default: about 7,600 streams.
const nchanConf = `load_module %s;
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile %d;
pid %s/nginx.pid;
error_log stderr warn;
events { worker_connections %d; multi_accept on; }
http {
	access_log off;
	nchan_max_reserved_memory 1024M;
	client_body_temp_path %s/body;
	server {
		listen %s;
		location = /pub {
			nchan_publisher;
			nchan_channel_id bench;
			nchan_message_buffer_length 16;
		}
		location = /sub {
			nchan_subscriber eventsource;
			nchan_channel_id bench;
			nchan_subscriber_first_message newest;
		}
	}
}
`

// startNchan runs nginx with nchan for cfg's streams.
func startNchan(ctx context.Context, cfg sseConfig, logger *slog.Logger) (*nginxServer, error) {
	// nginx counts more than one connection per subscriber ("worker
	// connections are not enough" at about one per stream).
	conns := 2*cfg.Streams + 64
	files := conns + 64
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Max < uint64(files) {
		files = int(lim.Max)
	}
	return startNginx(ctx, "nchan", cfg.NginxBin, func(dir, addr string) string {
		return fmt.Sprintf(nchanConf, cfg.NchanModule, files, dir, conns, dir, addr)
	}, logger)
}

// publish posts a message "<ms>-<seq>" every interval, the first at once,
// until ctx ends: the positions and times the readers measure, as the
// gateway's event ids carry them.
func (s *nginxServer) publish(ctx context.Context, interval time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		body := strconv.FormatInt(time.Now().UnixMilli(), 10) + "-" + strconv.FormatUint(seq, 10)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.addr+"/pub", strings.NewReader(body))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("publish: %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// vmRSS returns a process's resident memory in bytes (/proc/<pid>/status).
func vmRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// runNchan measures cfg's streams and events on nchan, the fan-out
// reference of issue 10: the same readers (which take an event's position
// from its data), the same number of streams opened the same way, and a
// message every block interval.
func runNchan(ctx context.Context, cfg sseConfig, logger *slog.Logger) (res *sseResult, err error) {
	res = &sseResult{Machine: newMachine(), Config: cfg}
	srv, err := startNchan(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	pid := srv.pid()
	res.Layout = []string{fmt.Sprintf("nchan (%s, one process: master_process off, one worker): pid %d, %s", cfg.NginxBin, pid, srv.addr)}

	pubCtx, stopPub := context.WithCancel(ctx)
	pubDone := make(chan error, 1)
	go func() { pubDone <- srv.publish(pubCtx, max(cfg.Stack.BlockInterval, time.Millisecond)) }()
	defer func() {
		stopPub()
		if perr := <-pubDone; perr != nil && err == nil {
			err = perr
		}
	}()

	cfg.Path, cfg.dataIDs = "/sub", true
	probe, err := openStreamOf(ctx, srv.addr, cfg.Path, true)
	if err != nil {
		return nil, fmt.Errorf("first stream: %w", err)
	}
	defer probe.close()
	if res.RSSBefore, err = vmRSS(pid); err != nil {
		return nil, err
	}
	streams, readers, err := measureStreams(ctx, cfg, srv.addr, map[string]int{"loadtest": os.Getpid(), "nchan": pid}, res, logger)
	defer closeStreams(streams, readers)
	if err != nil {
		return nil, fmt.Errorf("%w; nginx said: %s", err, lastLines(srv.output(), 10))
	}
	if res.RSSAfter, err = vmRSS(pid); err != nil {
		return nil, err
	}
	closeStreams(streams, readers)
	res.analyse(streams)
	res.Machine.finish()
	return res, nil
}

// writeNchanReport renders the reference's figures beside the gateway's.
func writeNchanReport(w io.Writer, gw, ref *sseResult) {
	c := ref.Config
	fmt.Fprintf(w, "\n## sse: the same on nchan\n\n")
	writeMachine(w, ref.Machine, ref.Layout)
	fmt.Fprintf(w, "- a message \"<ms>-<seq>\" published every %v; new subscribers get the newest first; the %d streams opened %d at a time in %v\n",
		c.Stack.BlockInterval, c.Streams, c.DialConcurrency, ref.Connect.Round(time.Millisecond))
	fmt.Fprintf(w, "- measured messages %d to %d, over %v; CPUs used meanwhile: %s\n\n", ref.FirstSeq, ref.LastSeq, ref.Window.Round(time.Millisecond), ref.CPU)
	fmt.Fprintln(w, "| | deliveries | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, x := range []struct {
		name string
		s    summary
	}{{"gateway: delivery latency", gw.Latency}, {"nchan: delivery latency", ref.Latency}, {"gateway: fan-out, last delivery per event", gw.FanOut}, {"nchan: fan-out, last delivery per event", ref.FanOut}} {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", x.name, x.s.N, ms(x.s.P50), ms(x.s.P90), ms(x.s.P99), ms(x.s.P999), ms(x.s.Max))
	}
	fmt.Fprintf(w, "\nnchan streams that received every message: **%d of %d**; ended early: %d.", ref.Complete, c.Streams, ref.Failed)
	if ref.FirstErr != nil {
		fmt.Fprintf(w, " First error: %v.", ref.FirstErr)
	}
	r := ratio(float64(gw.Latency.P99), float64(ref.Latency.P99))
	fmt.Fprintf(w, "\n\np99 delivery, gateway/nchan: **%.2f** (target ≤ %.1f: %s); fan-out p99 %.2f; streams opened %.0f/s by the gateway, %.0f/s by nchan.\n",
		r, targetNchanRatio, verdict(r > 0 && r <= targetNchanRatio), ratio(float64(gw.FanOut.P99), float64(ref.FanOut.P99)),
		ratio(float64(c.Streams), gw.Connect.Seconds()), ratio(float64(c.Streams), ref.Connect.Seconds()))
	fmt.Fprintf(w, "RSS per stream: nchan %.1f KiB (its process's VmRSS, Δ over the streams).\n", (ref.RSSAfter-ref.RSSBefore)/float64(c.Streams)/1024)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
