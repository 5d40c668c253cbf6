package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// The children pass compares, per child method, what the gateway spends on
// a batch (POST /rpc) and on a compound method with what it spends on
// plain calls of the same methods (issue 10: no more per child).

// childMethods are the children: cheap methods of the node, called with
// the pass's parameters.
var childMethods = []string{"latestHeight", "info", "getStatus"}

// compoundName is the compound method the pass creates.
const compoundName = "loadtestChildren"

// childrenResult is the pass's measurement of each way.
type childrenResult struct {
	Workers int
	// Plain, Batch and Compound are the passes; a request of Plain runs
	// one child, of Batch and Compound len(childMethods).
	Plain, Batch, Compound passResult
}

// perChild is a process's CPU time per child method of a pass, in µs.
func perChild(p passResult, proc string, children int) float64 {
	return perCall(p, proc) / float64(children)
}

// createCompound makes the compound method of childMethods, their
// parameters passed on by name.
func createCompound(ctx context.Context, base string, params json.RawMessage) error {
	var names map[string]json.RawMessage
	if err := json.Unmarshal(params, &names); err != nil {
		return err
	}
	aliases := map[string]string{}
	for k := range names {
		aliases[k] = k
	}
	type child struct {
		Method string            `json:"method"`
		Params map[string]string `json:"params"`
	}
	def := struct {
		Name    string  `json:"name"`
		Methods []child `json:"methods"`
	}{Name: compoundName}
	for _, m := range childMethods {
		def.Methods = append(def.Methods, child{m, aliases})
	}
	body, _ := json.Marshal(def)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/compound-methods", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := controlClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusConflict {
		return fmt.Errorf("POST /compound-methods: %s: %s", resp.Status, b)
	}
	return nil
}

// chainOnly keeps the chainId of params: {"chainId": N}, or {} without
// one.
func chainOnly(params json.RawMessage) json.RawMessage {
	var p struct {
		ChainID json.RawMessage `json:"chainId"`
	}
	if json.Unmarshal(params, &p) != nil || p.ChainID == nil {
		return json.RawMessage(`{}`)
	}
	return json.RawMessage(`{"chainId":` + string(p.ChainID) + `}`)
}

// runChildren measures the three ways with workers closed-loop workers, in
// rounds that rotate them.
func runChildren(ctx context.Context, cfg rpcConfig, st *stack, workers int, logger *slog.Logger) (*childrenResult, error) {
	// The child methods take the chain alone, whatever --method takes.
	cfg.Params = chainOnly(cfg.Params)
	if err := createCompound(ctx, st.GatewayURL, cfg.Params); err != nil {
		return nil, err
	}
	var plain []*viaGateway
	defer func() {
		for _, g := range plain {
			g.close()
		}
	}()
	for _, m := range childMethods {
		plain = append(plain, newViaGateway(st.GatewayURL, m, cfg.Params, workers, cfg.CallTimeout))
	}
	var next atomic.Uint64
	plainDo := func(ctx context.Context) error {
		return plain[next.Add(1)%uint64(len(plain))].call(ctx)
	}
	var batch strings.Builder
	batch.WriteByte('{')
	for i, m := range childMethods {
		if i > 0 {
			batch.WriteByte(',')
		}
		fmt.Fprintf(&batch, "%q:%s", m, cfg.Params)
	}
	batch.WriteByte('}')
	b := newViaGateway(st.GatewayURL, "", json.RawMessage(batch.String()), workers, cfg.CallTimeout)
	b.url = st.GatewayURL + "/rpc"
	defer b.close()
	c := newViaGateway(st.GatewayURL, compoundName, cfg.Params, workers, cfg.CallTimeout)
	defer c.close()
	ways := []struct {
		name string
		do   doFunc
	}{{"plain", plainDo}, {"batch", b.call}, {"compound", c.call}}
	for _, w := range ways {
		if err := w.do(ctx); err != nil {
			return nil, fmt.Errorf("children pass, %s: %w", w.name, err)
		}
	}
	round := cfg.Duration / time.Duration(cfg.Rounds)
	acc := make([]pass, len(ways))
	for i := range cfg.Rounds {
		for j := range ways {
			k := (i + j) % len(ways)
			cpu := startCPU(st.procs())
			recs := closedLoop(ctx, ways[k].do, workers, cfg.Warmup, round)
			acc[k].addRound(recs, round, cpu.stop())
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	res := &childrenResult{Workers: workers, Plain: acc[0].result(), Batch: acc[1].result(), Compound: acc[2].result()}
	for k, w := range ways {
		r := acc[k].result()
		logger.Info("pass", slog.String("load", "children"), slog.String("path", w.name),
			slog.String("req_per_s", fmt.Sprintf("%.0f", r.Rate())), slog.Int("errors", r.Errors), slog.String("cpu", r.CPU.String()))
	}
	return res, nil
}

// writeChildrenReport renders the children pass.
func writeChildrenReport(w io.Writer, r *childrenResult) {
	n := len(childMethods)
	fmt.Fprintf(w, "\nBatch and compound calls, per child method (%s, %d workers, closed loop, rotating rounds): plain calls of each in turn, "+
		"one POST /rpc of all %d, one compound method of all %d (POST /rpc/%s):\n\n", strings.Join(childMethods, ", "), r.Workers, n, n, compoundName)
	fmt.Fprintln(w, "| way | req/s | children/s | gateway µs per child | node µs per child | gateway per child / plain's | errors |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	plain := perChild(r.Plain, "gateway", 1)
	worst := 0.0
	for _, x := range []struct {
		name     string
		p        passResult
		children int
	}{{"plain", r.Plain, 1}, {"batch", r.Batch, n}, {"compound", r.Compound, n}} {
		g := perChild(x.p, "gateway", x.children)
		rel := ratio(g, plain)
		if x.name != "plain" {
			worst = max(worst, rel)
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.1f | %.1f | **%.2f** | %d |\n", x.name, x.p.Rate(), x.p.Rate()*float64(x.children), g,
			perChild(x.p, "node", x.children), rel, x.p.Errors)
	}
	fmt.Fprintf(w, "\nWorst per child against a plain call: **%.2f** (target ≤ 1.0: %s).\n", worst, verdict(worst > 0 && worst <= 1.0))
}
