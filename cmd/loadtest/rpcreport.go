package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Targets of the issue behind make bench.
const (
	targetThroughputRatio = 0.8
	targetAddedP99        = time.Millisecond
	targetDeliveryP99     = 100 * time.Millisecond
	targetBytesPerStream  = 20 << 10
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
	fmt.Fprintf(w, "- closed loop: N workers each make one request after another; each pass %v measured in %d rounds that alternate direct and gateway, each round after a %v warm-up\n", c.Duration, c.Rounds, c.Warmup)
	fmt.Fprintf(w, "- direct: one bridge.Client (one WebSocket) to the node, shared by the workers; gateway: POST /rpc/%s, keep-alive connections (one per worker)\n\n", c.Method)

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
		fmt.Fprintf(w, "| %s | gateway/direct | **%.2f** | | | | | | | | |\n", n, ratio(x.Gateway.Rate(), x.Direct.Rate()))
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

	fmt.Fprintf(w, "Half load: open loop at %.0f req/s (half the gateway's peak) on up to %d workers, %v measured in %d alternating rounds; "+
		"latency from each request's scheduled start (includes up to ~1 ms of the dispatcher's timer lateness), service time from its actual start.\n\n",
		r.HalfRate, r.OpenWorkers, c.Duration, c.Rounds)
	fmt.Fprintln(w, "| path | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | service p50 ms | service p99 ms | errors | CPUs used |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	half := func(path string, p passResult) {
		l, s := p.Latency, p.Service
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %d | %s |\n",
			path, p.Rate(), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), ms(s.P50), ms(s.P99), p.Errors, p.CPU)
	}
	half("direct", r.HalfDirect)
	half("gateway", r.HalfGateway)
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
