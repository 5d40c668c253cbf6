package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nuls-gateway/nuls-gateway/gateway/metrics"
)

// labelValues gathers reg and returns, per metric and label, the values
// exported, and the number of series of each metric.
func labelValues(t *testing.T, reg *prometheus.Registry) (map[string]map[string]map[string]bool, map[string]int) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values, series := map[string]map[string]map[string]bool{}, map[string]int{}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "nuls_gateway_") {
			continue
		}
		values[name] = map[string]map[string]bool{}
		for _, m := range mf.GetMetric() {
			series[name]++
			for _, l := range m.GetLabel() {
				if values[name][l.GetName()] == nil {
					values[name][l.GetName()] = map[string]bool{}
				}
				values[name][l.GetName()][l.GetValue()] = true
			}
		}
	}
	return values, series
}

// metric is the value of the counter or gauge name of tg's registry, as a
// scrape of /metrics would show it; labels are name/value pairs the
// series must have. It is 0 when no series matches.
func metric(t *testing.T, tg *testGateway, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := tg.cfg.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// TestMetricLabelsBounded: every label of every metric the gateway exports
// comes from a bounded set, whatever callers send. Odd HTTP method tokens
// on known and unknown routes, and calls of methods nobody lists, add no
// series: /metrics is as large after 300 of them as after 20.
func TestMetricLabelsBounded(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	tg := startGateway(t, gatewayOptions{cfg: Config{Registry: reg}})
	send := func(from, to int) {
		for i := from; i < to; i++ {
			paths := []string{"/rpc/latestHeight", fmt.Sprintf("/nope/%d", i), "/openapi.json", fmt.Sprintf("/rpc/m%d/stream", i)}
			req, err := http.NewRequestWithContext(t.Context(), fmt.Sprintf("X-ODD-%d", i), tg.url+paths[i%len(paths)], nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// A method no listing has: refused, never labelled.
			if code, _, _ := post(t, fmt.Sprintf("%s/rpc/unlisted%d", tg.url, i), `{}`); code != http.StatusNotFound {
				t.Fatalf("an unlisted method: %d", code)
			}
		}
		if code, _, _ := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); code != http.StatusOK {
			t.Fatalf("latestHeight: %d", code)
		}
	}
	send(0, 20)
	_, before := labelValues(t, reg)
	send(20, 300)
	values, after := labelValues(t, reg)
	for name, n := range after {
		if n != before[name] {
			t.Errorf("%s: %d series after 20 odd requests, %d after 300", name, before[name], n)
		}
	}
	allowed := map[string]func(string) bool{
		"method": func(v string) bool {
			return strings.Contains(" GET HEAD POST PUT PATCH DELETE OPTIONS other ", " "+v+" ")
		},
		"route": func(v string) bool {
			return v == metrics.Other || !strings.Contains(v, "nope") && !strings.Contains(v, "/m1")
		},
		"code": func(v string) bool {
			var c int
			_, err := fmt.Sscanf(v, "%d", &c)
			return v == metrics.Other || err == nil && (http.StatusText(c) != "" || c == 499)
		},
		"nuls_method": func(v string) bool { return !strings.HasPrefix(v, "unlisted") },
	}
	for name, labels := range values {
		for label, vals := range labels {
			ok := allowed[label]
			for v := range vals {
				if ok != nil && !ok(v) {
					t.Errorf("%s{%s=%q}: a caller's text in a label", name, label, v)
				}
			}
		}
	}
	if !values["nuls_gateway_http_requests_total"]["method"][metrics.Other] {
		t.Error("the odd methods are not counted under method=\"other\"")
	}
	if !values["nuls_gateway_upstream_calls_total"]["nuls_method"]["latestHeight"] {
		t.Error("a listed method has no label of its own")
	}
}

// TestMetricsRegistryTaken: a registry that already holds the gateway's
// metrics (another Server's) is refused: the second Server's counts would
// go nowhere while /metrics showed the first one's.
func TestMetricsRegistryTaken(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	tg := startGateway(t, gatewayOptions{cfg: Config{Registry: reg}})
	_, err := New(Config{Upstream: tg.up, Hub: tg.hub, Registry: reg}, testLogger(t))
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Fatalf("a second Server on the same registry: %v, want an AlreadyRegisteredError", err)
	}
}
