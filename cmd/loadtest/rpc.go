package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"
)

// rpcRow is one concurrency's closed-loop passes.
type rpcRow struct {
	Workers         int
	Direct, Gateway passResult
	// Floor is the same load on the reference endpoint (loadtest floor).
	Floor passResult
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
	HalfDirect, HalfGateway, HalfFloor passResult
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
	// Both paths must work before anything is measured.
	if err := d.call(ctx); err != nil {
		return fmt.Errorf("direct call: %w", err)
	}
	if err := g.call(ctx); err != nil {
		return fmt.Errorf("call through the gateway: %w", err)
	}
	if err := f.call(ctx); err != nil {
		return fmt.Errorf("call to the floor: %w", err)
	}

	// Each load runs in rounds that alternate the paths and which goes
	// first, so that a disturbance of the shared machine (another
	// process, a busy host) falls on both paths rather than on one.
	round := cfg.Duration / time.Duration(cfg.Rounds)
	// The floor is the reference for CPU per call, the direct client
	// for latency and for the node's CPU per call.
	interleave := func(what string, floor bool, run func(do doFunc) []*recorder) (direct, gateway, floorRes passResult) {
		var pd, pg, pf pass
		for i := range cfg.Rounds {
			type path struct {
				do doFunc
				p  *pass
			}
			paths := []path{{d.call, &pd}, {g.call, &pg}}
			if floor {
				paths = append(paths, path{f.call, &pf})
			}
			// Rotate which goes first from round to round.
			k := i % len(paths)
			paths = append(paths[k:], paths[:k]...)
			for _, path := range paths {
				cpu := startCPU(st.procs())
				recs := run(path.do)
				path.p.addRound(recs, round, cpu.stop())
			}
		}
		direct, gateway = pd.result(), pg.result()
		results := []struct {
			name string
			r    passResult
		}{{"direct", direct}, {"gateway", gateway}}
		if floor {
			floorRes = pf.result()
			results = append(results, struct {
				name string
				r    passResult
			}{"floor", floorRes})
		}
		for _, x := range results {
			logger.Info("pass", slog.String("load", what), slog.String("path", x.name),
				slog.String("req_per_s", fmt.Sprintf("%.0f", x.r.Rate())), slog.String("p99_ms", ms(x.r.Latency.P99)),
				slog.Int("errors", x.r.Errors), slog.String("cpu", x.r.CPU.String()))
		}
		return direct, gateway, floorRes
	}
	for _, n := range cfg.Concurrency {
		row := rpcRow{Workers: n}
		row.Direct, row.Gateway, row.Floor = interleave(fmt.Sprintf("%d workers", n), true, func(do doFunc) []*recorder {
			return closedLoop(ctx, do, n, cfg.Warmup, round)
		})
		res.Rows = append(res.Rows, row)
		if err := ctx.Err(); err != nil {
			return err
		}
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
	res.HalfDirect, res.HalfGateway, res.HalfFloor = interleave("half the gateway's peak", true, func(do doFunc) []*recorder {
		return openLoop(ctx, do, res.HalfRate, res.OpenWorkers, cfg.Warmup, round)
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	res.Machine.finish()
	writeRPCReport(out, res)
	return nil
}
