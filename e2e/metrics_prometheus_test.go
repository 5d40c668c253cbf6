package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPrometheusSeesDashboardAndAlerts runs the gateway binary with Redis
// and the simulated node, sends it some traffic (calls, a stream, an
// authentication failure, rate-limited calls), and has Debian's real
// Prometheus scrape it every second with deployments/prometheus/alerts.yml
// loaded. Then every query of every panel of the Grafana dashboard, and
// every alert's expression (its comparisons made `bool`, so that it returns
// the series it compares rather than only those past the threshold), must
// return series: a dashboard or an alert that reads a metric the gateway
// does not export, or a label it does not set, fails here.
func TestPrometheusSeesDashboardAndAlerts(t *testing.T) {
	t.Parallel()
	prom := needTool(t, "prometheus", "scripts/ensure-prometheus.sh installs Debian's (apt-get install prometheus)")
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	r := startRedis(t)
	node := startDevnode(t, "--block-interval", "200ms")
	// Two upstream nodes of one chain (a follower of the first) and a
	// chain to follow: the nodes' and the answer cache's metrics are
	// exported too.
	follower := startDevnode(t, "--follow", node.URL)
	gw := startGateway(t, "--upstream", node.URL+","+follower.URL, "--chain-id", "2", "--redis-url", r.URL, "--redis-prefix", "promtest-"+randomHex(4),
		"--rate-plans", "anonymous=1/h:60,default=100/s:200")

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	promTraffic(ctx, t, gw.URL, false)

	// Prometheus on a free port, scraping the gateway every second.
	dir := t.TempDir()
	addr := localAddr(freePort(t))
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: nuls-gateway
    static_configs:
      - targets: [%q]
`, filepath.Join(root, "deployments", "prometheus", "alerts.yml"), strings.TrimPrefix(gw.URL, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	promURL := "http://" + addr
	ready := func(ctx context.Context) error {
		status, _, err := httpGet(ctx, promURL+"/-/ready")
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("/-/ready: %d", status)
		}
		return err
	}
	newDaemon(t, "prometheus", prom, addr, []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}, ready).start(t)

	// What to ask: every panel query, the dashboard's variable, every
	// alert as Prometheus loaded it.
	queries := dashboardQueries(t, filepath.Join(root, "deployments", "grafana", "dashboards", "nuls-gateway.json"))
	alerts := loadedAlerts(ctx, t, promURL)
	if len(alerts) == 0 {
		t.Fatal("Prometheus loaded no alert from alerts.yml")
	}
	for name, expr := range alerts {
		queries["alert "+name] = boolComparisons(expr)
	}

	// Traffic again once Prometheus scrapes, so that rates see it move.
	pollUntil(ctx, t, "the first scrapes", func() bool {
		n, err := promSeries(ctx, promURL, `up{job="nuls-gateway"} == 1`)
		return err == nil && n > 0
	})
	promTraffic(ctx, t, gw.URL, true)

	// The gateway's own /metrics moved as the traffic says; and with
	// Redis answering, no rate-limit check fell back to the instance.
	m, err := metrics(ctx, gw.URL, "nuls_gateway_redis_command_duration_seconds_count", "nuls_gateway_auth_failures_total",
		"nuls_gateway_rate_limited_total", "nuls_gateway_stream_duration_seconds_count", "nuls_gateway_rate_limit_local_total")
	if err != nil {
		t.Fatal(err)
	}
	for name, atLeast := range map[string]float64{"nuls_gateway_redis_command_duration_seconds_count": 1,
		"nuls_gateway_auth_failures_total": 2, "nuls_gateway_rate_limited_total": 1, "nuls_gateway_stream_duration_seconds_count": 1} {
		if m[name] < atLeast {
			t.Errorf("%s = %v, want at least %v", name, m[name], atLeast)
		}
	}
	if v, ok := m["nuls_gateway_rate_limit_local_total"]; !ok || v != 0 {
		t.Errorf("nuls_gateway_rate_limit_local_total = %v (exported: %v) with Redis up, want 0", v, ok)
	}

	var failing []string
	for {
		failing = failing[:0]
		for what, q := range queries {
			n, err := promSeries(ctx, promURL, q)
			if err != nil {
				t.Fatalf("%s: %s: %v", what, q, err)
			}
			if n == 0 {
				failing = append(failing, what+": "+q)
			}
		}
		if len(failing) == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	if len(failing) > 0 {
		t.Fatalf("%d of %d queries return no series:\n%s", len(failing), len(queries), strings.Join(failing, "\n"))
	}
	values, err := promLabelValues(ctx, promURL, "instance", "nuls_gateway_build_info")
	if err != nil || len(values) == 0 {
		t.Fatalf("the dashboard's $instance variable finds no instance: %v %v", values, err)
	}
	t.Logf("%d dashboard and alert queries return series", len(queries))
}

// promTraffic sends the gateway an authentication failure, a stream and
// calls; with untilLimited, anonymous calls until the anonymous plan's
// burst is spent (429), else 20 that pass.
func promTraffic(ctx context.Context, t *testing.T, base string, untilLimited bool) {
	t.Helper()
	post := func(path, body string, header map[string]string) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := post("/rpc/latestHeight", `{"chainId":2}`, map[string]string{"Authorization": "Bearer not-a-credential"}); status != http.StatusUnauthorized {
		t.Fatalf("a malformed credential: %d, want 401", status)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	s, err := openSSE(sctx, base+"/rpc/latestHeight/stream?chainId=2", "")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Events():
	case <-sctx.Done():
		t.Fatal("no event on the stream")
	}
	scancel() // the stream ends: its lifetime is observed
	for i := range 100 {
		switch status := post("/rpc/latestHeight", `{"chainId":2}`, nil); {
		case status == http.StatusTooManyRequests && untilLimited:
			return
		case status != http.StatusOK:
			t.Fatalf("latestHeight: %d", status)
		case !untilLimited && i == 19:
			return
		}
	}
	t.Fatal("100 anonymous calls and no 429")
}

// dashboardQueries reads the dashboard's panel queries, by panel, with its
// variables as Grafana would set them: every instance, and a rate interval
// for a 1 s scrape.
func dashboardQueries(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		ID      int
		Title   string
		Targets []struct{ RefID, Expr string }
		Panels  []json.RawMessage
	}
	var d struct{ Panels []panel }
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("$__rate_interval", "15s", "${__rate_interval}", "15s", "$instance", ".*", "${instance}", ".*")
	out := map[string]string{}
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			out[fmt.Sprintf("panel %d %q %s", p.ID, p.Title, q.RefID)] = vars.Replace(q.Expr)
		}
	}
	if len(out) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	return out
}

// loadedAlerts returns the alerting rules Prometheus loaded, by name.
func loadedAlerts(ctx context.Context, t *testing.T, promURL string) map[string]string {
	t.Helper()
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct{ Name, Query, Type string }
			}
		}
	}
	status, body, err := httpGet(ctx, promURL+"/api/v1/rules")
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &rules) != nil {
		t.Fatalf("/api/v1/rules: %d %v %.300s", status, err, body)
	}
	out := map[string]string{}
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" {
				out[r.Name] = r.Query
			}
		}
	}
	return out
}

// promComparison finds PromQL's comparison operators.
var promComparison = regexp.MustCompile(`==|!=|>=|<=|>|<`)

// boolComparisons turns every comparison of expr outside label matchers and
// strings into its bool form: `x > 0.05` keeps every series of x (valued 0
// or 1) instead of those above 0.05.
func boolComparisons(expr string) string {
	var b strings.Builder
	depth, quote := 0, byte(0)
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(expr) {
				b.WriteByte(c)
				i++
				c = expr[i]
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0:
			if m := promComparison.FindString(expr[i:min(i+2, len(expr))]); m != "" && strings.HasPrefix(expr[i:], m) {
				b.WriteString(m + " bool")
				i += len(m) - 1
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// promSeries runs an instant query and returns how many series it answered.
func promSeries(ctx context.Context, promURL, query string) (int, error) {
	status, body, err := httpGet(ctx, promURL+"/api/v1/query?query="+url.QueryEscape(query))
	if err != nil {
		return 0, err
	}
	var res struct {
		Status, Error string
		Data          struct {
			ResultType string
			Result     json.RawMessage
		}
	}
	if err := json.Unmarshal(body, &res); err != nil || status != http.StatusOK || res.Status != "success" {
		return 0, fmt.Errorf("status %d: %s %.300s", status, res.Error, body)
	}
	if res.Data.ResultType != "vector" {
		return 1, nil // a scalar is one value
	}
	var v []json.RawMessage
	if err := json.Unmarshal(res.Data.Result, &v); err != nil {
		return 0, err
	}
	return len(v), nil
}

// promLabelValues returns the values of label on the series of match, as
// Grafana's label_values(match, label) asks them.
func promLabelValues(ctx context.Context, promURL, label, match string) ([]string, error) {
	status, body, err := httpGet(ctx, promURL+"/api/v1/label/"+label+"/values?match[]="+url.QueryEscape(match))
	if err != nil {
		return nil, err
	}
	var res struct{ Data []string }
	if status != http.StatusOK || json.Unmarshal(body, &res) != nil {
		return nil, fmt.Errorf("status %d: %.300s", status, body)
	}
	return res.Data, nil
}

// pollUntil polls cond every 200 ms until it holds; the test fails when ctx
// ends first.
func pollUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
