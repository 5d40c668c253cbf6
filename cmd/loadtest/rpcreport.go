package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Targets of the issues behind make bench.
const (
	targetThroughputRatio = 0.8
	// targetAddedP99 is issue 10's: the p99 the gateway adds over the
	// direct client at half its peak (the issue asks it at 1,000 calls/s).
	targetAddedP99       = 150 * time.Microsecond
	targetDeliveryP99    = 100 * time.Millisecond
	targetBytesPerStream = 20 << 10
	// targetGatewayOverFloor: the gateway's CPU per call at most this
	// many times the floor's (issue 10).
	targetGatewayOverFloor = 1.6
	// targetNodeThroughGateway: the node's CPU per call through the
	// gateway at most this many times its CPU per direct call (issue 10).
	targetNodeThroughGateway = 1.0
	// targetAllocsPerCall: the gateway's heap allocations per call
	// (issue 10).
	targetAllocsPerCall = 80
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

// writeMachine renders where and when a run happened.
func writeMachine(w io.Writer, m *machine, layout []string) {
	fmt.Fprintf(w, "- machine: %d × %s, %s, %s\n", m.CPUs, m.Model, m.GoVersion, m.Start.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- load average (1, 5, 15 min): %s at the start, %s at the end\n", m.LoadStart, m.LoadEnd)
	fmt.Fprintf(w, "- CPU speed check (one bridge.Encode+Decode of a Response, best of 5×200): %.1f µs at the start, %.1f µs at the end\n",
		float64(m.SpeedStart)/1e3, float64(m.SpeedEnd)/1e3)
	for _, l := range layout {
		fmt.Fprintf(w, "- %s\n", l)
	}
}

func writeRPCReport(w io.Writer, r *rpcResult) {
	c := r.Config
	fmt.Fprintf(w, "## rpc: %s %s\n\n", c.Method, c.Params)
	writeMachine(w, r.Machine, r.Layout)
	fmt.Fprintf(w, "- closed loop: N workers each make one request after another; each pass %v measured in %d rounds that rotate the paths (direct, gateway, floor, proxy), each round after a %v warm-up\n", c.Duration, c.Rounds, c.Warmup)
	fmt.Fprintf(w, "- direct: one bridge.Client (one WebSocket) to the node, shared by the workers; gateway: POST /rpc/%s, keep-alive connections (one per worker); floor: the same calls to a minimal net/http JSON endpoint; proxy (with --nginx): to the floor through nginx\n\n", c.Method)

	fmt.Fprintln(w, "| workers | path | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | CPUs used | CPU µs per request |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
	row := func(workers, path string, p passResult) {
		l := p.Latency
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s | %d | %s | %s |\n",
			workers, path, p.Rate(), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), p.Errors, p.CPU, p.CPU.perRequest(p.Rate()))
	}
	for _, x := range r.Rows {
		n := fmt.Sprint(x.Workers)
		row(n, "direct", x.Direct)
		row(n, "gateway", x.Gateway)
		if x.Floor.Rate() > 0 {
			row(n, "floor", x.Floor)
		}
		if x.Proxy.Rate() > 0 {
			row(n, "proxy", x.Proxy)
		}
		fmt.Fprintf(w, "| %s | gateway/direct | **%.2f** | | | | | | | | |\n", n, ratio(x.Gateway.Rate(), x.Direct.Rate()))
	}
	writeCostRatios(w, r)
	fmt.Fprintf(w, "\nHeap allocations per call of the serving process (%s over %d calls by %d workers): gateway **%.0f** (target ≤ %d: %s), floor %.0f.\n",
		metricMallocs, c.AllocCalls, slices.Max(c.Concurrency), r.AllocsGateway, targetAllocsPerCall, verdict(r.AllocsGateway <= targetAllocsPerCall), r.AllocsFloor)
	if r.Children != nil {
		writeChildrenReport(w, r.Children)
	}
	peak, peakDirect := r.Rows[r.Peak], r.Rows[r.PeakDirect]
	peakRatio := ratio(peak.Gateway.Rate(), peakDirect.Direct.Rate())
	fmt.Fprintf(w, "\nPeak throughput: gateway %.0f req/s (%d workers), direct %.0f req/s (%d workers): ratio **%.2f** (target ≥ %.1f: %s).\n\n",
		peak.Gateway.Rate(), peak.Workers, peakDirect.Direct.Rate(), peakDirect.Workers, peakRatio,
		targetThroughputRatio, verdict(peakRatio >= targetThroughputRatio))
	if gw, d := peak.Gateway, peakDirect.Direct; gw.CPU.total() > 0 && d.CPU.total() > 0 {
		gwCost, dCost := gw.CPU.total()*1e6/gw.Rate(), d.CPU.total()*1e6/d.Rate()
		fmt.Fprintf(w, "CPU per request at the peaks, all processes together: %.0f µs through the gateway, %.0f µs direct. "+
			"Where the processes share the same CPUs and those are saturated, the throughput ratio is about their inverse ratio, %.2f.\n\n",
			gwCost, dCost, dCost/gwCost)
	}

	what := "half the gateway's peak"
	if c.OpenRate > 0 {
		what = "--open-rate"
	}
	fmt.Fprintf(w, "Half load: open loop at %.0f req/s (%s) on up to %d workers, %v measured in %d alternating rounds; "+
		"latency from each request's scheduled start (includes up to ~1 ms of the dispatcher's timer lateness), service time from its actual start.\n\n",
		r.HalfRate, what, r.OpenWorkers, c.Duration, c.Rounds)
	fmt.Fprintln(w, "| path | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | service p50 ms | service p99 ms | errors | CPUs used |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	half := func(path string, p passResult) {
		l, s := p.Latency, p.Service
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %d | %s |\n",
			path, p.Rate(), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), ms(s.P50), ms(s.P99), p.Errors, p.CPU)
	}
	half("direct", r.HalfDirect)
	half("gateway", r.HalfGateway)
	if r.HalfFloor.Rate() > 0 {
		half("floor", r.HalfFloor)
	}
	if r.HalfProxy.Rate() > 0 {
		half("proxy", r.HalfProxy)
	}
	writeSameRateCost(w, r)
	added := r.HalfGateway.Latency.P99 - r.HalfDirect.Latency.P99
	addedSvc := r.HalfGateway.Service.P99 - r.HalfDirect.Service.P99
	fmt.Fprintf(w, "\nAdded p99 latency at half load (gateway − direct): **%s ms** from schedule, %s ms service time (target < %s ms: %s).\n",
		ms(added), ms(addedSvc), ms(targetAddedP99), verdict(added < targetAddedP99 && addedSvc < targetAddedP99))

	var errs []string
	note := func(what string, p passResult) {
		if p.FirstErr != nil {
			errs = append(errs, fmt.Sprintf("- %s: %d errors, first: %v", what, p.Errors, p.FirstErr))
		}
	}
	for _, x := range r.Rows {
		note(fmt.Sprintf("direct, %d workers", x.Workers), x.Direct)
		note(fmt.Sprintf("gateway, %d workers", x.Workers), x.Gateway)
	}
	note("direct, half load", r.HalfDirect)
	note("gateway, half load", r.HalfGateway)
	if len(errs) > 0 {
		fmt.Fprintf(w, "\nErrors:\n%s\n", strings.Join(errs, "\n"))
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// perCall is a process's CPU time per request of a pass, in µs; 0 when
// unknown.
func perCall(p passResult, proc string) float64 {
	if p.Rate() <= 0 {
		return 0
	}
	return p.CPU[proc] * 1e6 / p.Rate()
}

// writeCostRatios compares, at each concurrency, the gateway's CPU per call
// with the floor's (the least a Go HTTP JSON endpoint spends), and the
// node's CPU per call through the gateway with its CPU per direct call.
func writeCostRatios(w io.Writer, r *rpcResult) {
	proxied := r.HalfProxy.Rate() > 0
	fmt.Fprintln(w, "\nCPU per call of the middle process, from /proc (user+system), in the same rounds:")
	if proxied {
		fmt.Fprintln(w, "\n| workers | gateway µs | floor µs | gateway/floor | nginx µs (proxy) | gateway/nginx | node µs via gateway | node µs direct | node via gateway/direct |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	} else {
		fmt.Fprintln(w, "\n| workers | gateway µs | floor µs | gateway/floor | node µs via gateway | node µs direct | node via gateway/direct |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
	}
	var worstFloor, worstNode float64
	for _, x := range r.Rows {
		gw, fl := perCall(x.Gateway, "gateway"), perCall(x.Floor, "floor")
		nv, nd := perCall(x.Gateway, "node"), perCall(x.Direct, "node")
		rf, rn := ratio(gw, fl), ratio(nv, nd)
		worstFloor, worstNode = max(worstFloor, rf), max(worstNode, rn)
		if proxied {
			px := perCall(x.Proxy, "proxy")
			fmt.Fprintf(w, "| %d | %.1f | %.1f | **%.2f** | %.1f | %.2f | %.1f | %.1f | **%.2f** |\n", x.Workers, gw, fl, rf, px, ratio(gw, px), nv, nd, rn)
			continue
		}
		fmt.Fprintf(w, "| %d | %.1f | %.1f | **%.2f** | %.1f | %.1f | **%.2f** |\n", x.Workers, gw, fl, rf, nv, nd, rn)
	}
	fmt.Fprintf(w, "\nThe paths run at their own rates here, and a process spends more per call when idler (it wakes for each): "+
		"the targets are judged at one rate for all, in the half-load pass below. Worst here: gateway/floor %.2f, node via gateway/direct %.2f.\n", worstFloor, worstNode)
}

// writeSameRateCost judges the CPU targets in the half-load pass, where
// every path runs at the same rate.
func writeSameRateCost(w io.Writer, r *rpcResult) {
	gw, fl := perCall(r.HalfGateway, "gateway"), perCall(r.HalfFloor, "floor")
	nv, nd := perCall(r.HalfGateway, "node"), perCall(r.HalfDirect, "node")
	rf := ratio(gw, fl)
	fmt.Fprintf(w, "\nCPU per call at the same rate (%.0f req/s): gateway %.1f µs, floor %.1f µs: gateway/floor **%.2f** (target ≤ %.1f: %s); ",
		r.HalfRate, gw, fl, rf, targetGatewayOverFloor, verdict(rf > 0 && rf <= targetGatewayOverFloor))
	if r.HalfProxy.Rate() > 0 {
		// Reported even when too small for /proc's 10 ms ticks (0).
		px := perCall(r.HalfProxy, "proxy")
		fmt.Fprintf(w, "nginx proxying to the floor %.1f µs (gateway/nginx %.2f); ", px, ratio(gw, px))
	}
	if nd == 0 {
		// --embedded-node: the node's CPU is the gateway's.
		fmt.Fprintln(w, "the node's n/a (not a process of its own).")
		return
	}
	rn := ratio(nv, nd)
	fmt.Fprintf(w, "the node's %.1f µs through the gateway, %.1f µs direct: **%.2f** (target ≤ %.1f: %s).\n",
		nv, nd, rn, targetNodeThroughGateway, verdict(rn <= targetNodeThroughGateway))
}
