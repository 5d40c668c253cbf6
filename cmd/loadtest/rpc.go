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
	// HalfDirect and HalfGateway are the open-loop passes at HalfRate.
	HalfDirect, HalfGateway passResult
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
	// Both paths must work before anything is measured.
	if err := d.call(ctx); err != nil {
		return fmt.Errorf("direct call: %w", err)
	}
	if err := g.call(ctx); err != nil {
		return fmt.Errorf("call through the gateway: %w", err)
	}

	// Each load runs in rounds that alternate the paths and which goes
	// first, so that a disturbance of the shared machine (another
	// process, a busy host) falls on both paths rather than on one.
	round := cfg.Duration / time.Duration(cfg.Rounds)
	interleave := func(what string, run func(do doFunc) []*recorder) (direct, gateway passResult) {
		var pd, pg pass
		for i := range cfg.Rounds {
			paths := []struct {
				do doFunc
				p  *pass
			}{{d.call, &pd}, {g.call, &pg}}
			if i%2 == 1 {
				paths[0], paths[1] = paths[1], paths[0]
			}
			for _, path := range paths {
				cpu := startCPU(st.procs())
				recs := run(path.do)
				path.p.addRound(recs, round, cpu.stop())
			}
		}
		direct, gateway = pd.result(), pg.result()
		for _, x := range []struct {
			name string
			r    passResult
		}{{"direct", direct}, {"gateway", gateway}} {
			logger.Info("pass", slog.String("load", what), slog.String("path", x.name),
				slog.String("req_per_s", fmt.Sprintf("%.0f", x.r.Rate())), slog.String("p99_ms", ms(x.r.Latency.P99)),
				slog.Int("errors", x.r.Errors), slog.String("cpu", x.r.CPU.String()))
		}
		return direct, gateway
	}
	for _, n := range cfg.Concurrency {
		row := rpcRow{Workers: n}
		row.Direct, row.Gateway = interleave(fmt.Sprintf("%d workers", n), func(do doFunc) []*recorder {
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
	res.HalfDirect, res.HalfGateway = interleave("half the gateway's peak", func(do doFunc) []*recorder {
		return openLoop(ctx, do, res.HalfRate, res.OpenWorkers, cfg.Warmup, round)
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	res.Machine.finish()
	writeRPCReport(out, res)
	return nil
}
