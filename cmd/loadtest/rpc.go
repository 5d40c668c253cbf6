package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// rpcRow is one concurrency's closed-loop passes.
type rpcRow struct {
	Workers         int
	Direct, Gateway passResult
	// Floor is the same load on the reference endpoint (loadtest floor),
	// and Proxy on nginx reverse-proxying to it (with --nginx).
	Floor, Proxy passResult
}

// rpcResult is everything the rpc subcommand measured.
type rpcResult struct {
	Machine *machine
	Config  rpcConfig
	Layout  []string
	Rows    []rpcRow
	// Peak is the index in Rows of the gateway's highest throughput, and
	// PeakDirect of the direct client's.
	Peak, PeakDirect int
	// HalfRate is the open-loop rate: half the gateway's peak, in req/s.
	HalfRate    float64
	OpenWorkers int
	// HalfDirect, HalfGateway and HalfFloor are the open-loop passes at
	// HalfRate: the same rate on every path, which is where their CPU per
	// call compares fairly (a process spends more per call when it is
	// idler, waking for each).
	HalfDirect, HalfGateway, HalfFloor, HalfProxy passResult
	// AllocsGateway and AllocsFloor are the heap allocations per call of
	// the gateway's process and the floor's (allocsPerCall).
	AllocsGateway, AllocsFloor float64
	// Children is the batch and compound calls' pass.
	Children *childrenResult
}

// rpcPath is one way of making the calls, by name.
type rpcPath struct {
	name string
	do   doFunc
}

// runRPC measures the direct client and the gateway under the same load.
func runRPC(ctx context.Context, cfg rpcConfig, out io.Writer, logger *slog.Logger) (err error) {
	res := &rpcResult{Machine: newMachine(), Config: cfg}
	st, err := startStack(ctx, cfg.Stack, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	res.Layout = st.layout()

	d, err := dialDirect(ctx, st.NodeURL, cfg.Method, cfg.Params, cfg.CallTimeout)
	if err != nil {
		return err
	}
	defer d.close()
	maxWorkers := slices.Max(cfg.Concurrency)
	res.OpenWorkers = cfg.OpenWorkers
	if res.OpenWorkers == 0 {
		res.OpenWorkers = maxWorkers
	}
	g := newViaGateway(st.GatewayURL, cfg.Method, cfg.Params, max(maxWorkers, res.OpenWorkers), cfg.CallTimeout)
	defer g.close()
	// The floor is called like the gateway, by the same kind of client.
	f := newViaGateway(st.FloorURL, cfg.Method, cfg.Params, maxWorkers, cfg.CallTimeout)
	defer f.close()
	paths := []rpcPath{{"direct", d.call}, {"gateway", g.call}, {"floor", f.call}}
	procs := st.procs()
	if cfg.NginxBin != "" {
		px, err := startProxy(ctx, cfg.NginxBin, strings.TrimPrefix(st.FloorURL, "http://"), logger)
		if err != nil {
			return err
		}
		defer px.stop()
		procs["proxy"] = px.pid()
		res.Layout = append(res.Layout, fmt.Sprintf("proxy (%s, one process: master_process off, one worker, keep-alive to the floor): pid %d, %s", cfg.NginxBin, px.pid(), px.addr))
		p := newViaGateway("http://"+px.addr, cfg.Method, cfg.Params, max(maxWorkers, res.OpenWorkers), cfg.CallTimeout)
		defer p.close()
		paths = append(paths, rpcPath{"proxy", p.call})
	}
	// Every path must work before anything is measured.
	for _, p := range paths {
		if err := p.do(ctx); err != nil {
			return fmt.Errorf("%s call: %w", p.name, err)
		}
	}

	// Each load runs in rounds that alternate the paths and which goes
	// first, so that a disturbance of the shared machine (another
	// process, a busy host) falls on every path rather than on one. The
	// floor and the proxy are the references for CPU per call, the direct
	// client for latency and for the node's CPU per call.
	round := cfg.Duration / time.Duration(cfg.Rounds)
	interleave := func(what string, run func(do doFunc) []*recorder) map[string]passResult {
		acc := make([]pass, len(paths))
		for i := range cfg.Rounds {
			// Rotate which goes first from round to round.
			for j := range paths {
				k := (i + j) % len(paths)
				cpu := startCPU(procs)
				recs := run(paths[k].do)
				acc[k].addRound(recs, round, cpu.stop())
			}
		}
		out := make(map[string]passResult, len(paths))
		for k, p := range paths {
			r := acc[k].result()
			out[p.name] = r
			logger.Info("pass", slog.String("load", what), slog.String("path", p.name),
				slog.String("req_per_s", fmt.Sprintf("%.0f", r.Rate())), slog.String("p99_ms", ms(r.Latency.P99)),
				slog.Int("errors", r.Errors), slog.String("cpu", r.CPU.String()))
		}
		return out
	}
	for _, n := range cfg.Concurrency {
		p := interleave(fmt.Sprintf("%d workers", n), func(do doFunc) []*recorder {
			return closedLoop(ctx, do, n, cfg.Warmup, round)
		})
		res.Rows = append(res.Rows, rpcRow{Workers: n, Direct: p["direct"], Gateway: p["gateway"], Floor: p["floor"], Proxy: p["proxy"]})
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	// Allocations per call, in the gateway's process and the floor's, by
	// the largest closed loop.
	if res.AllocsGateway, err = allocsPerCall(ctx, st.GatewayURL, g.call, cfg.AllocCalls, maxWorkers); err != nil {
		return fmt.Errorf("allocation pass, gateway: %w", err)
	}
	if res.AllocsFloor, err = allocsPerCall(ctx, st.FloorURL, f.call, cfg.AllocCalls, maxWorkers); err != nil {
		return fmt.Errorf("allocation pass, floor: %w", err)
	}
	if res.Children, err = runChildren(ctx, cfg, st, maxWorkers, logger); err != nil {
		return err
	}
	for i, r := range res.Rows {
		if r.Gateway.Rate() > res.Rows[res.Peak].Gateway.Rate() {
			res.Peak = i
		}
		if r.Direct.Rate() > res.Rows[res.PeakDirect].Direct.Rate() {
			res.PeakDirect = i
		}
	}

	res.HalfRate = res.Rows[res.Peak].Gateway.Rate() / 2
	if cfg.OpenRate > 0 {
		res.HalfRate = cfg.OpenRate
	}
	half := interleave("half the gateway's peak", func(do doFunc) []*recorder {
		return openLoop(ctx, do, res.HalfRate, res.OpenWorkers, cfg.Warmup, round)
	})
	res.HalfDirect, res.HalfGateway, res.HalfFloor, res.HalfProxy = half["direct"], half["gateway"], half["floor"], half["proxy"]
	if err := ctx.Err(); err != nil {
		return err
	}
	res.Machine.finish()
	writeRPCReport(out, res)
	return nil
}
