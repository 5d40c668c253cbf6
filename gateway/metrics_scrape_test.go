package gateway

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// scrape reads GET /metrics over the test's socket: each sample by its
// series as exposed (name{labels} with the labels in order).
func scrape(t *testing.T, baseURL string) map[string]float64 {
	t.Helper()
	status, body := get(t, baseURL+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sample is one series of a scrape; it fails the test when the scrape
// lacks it.
func sample(t *testing.T, m map[string]float64, series string) float64 {
	t.Helper()
	v, ok := m[series]
	if !ok {
		t.Fatalf("/metrics has no %s", series)
	}
	return v
}

// TestOperatorMetricsMove scrapes /metrics over the socket and sees each
// series an operator's dashboard and alerts read move: requests in flight
// (streams apart), authentication failures by reason, the upstream
// connection's health, and the lifetimes of streams and sockets, which the
// request latency no longer holds.
func TestOperatorMetricsMove(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta, Registry: prometheus.NewRegistry()}})
	m := scrape(t, tg.url)
	// The scrape is a request in flight itself.
	if v := sample(t, m, "nuls_gateway_http_requests_in_flight"); v != 1 {
		t.Errorf("in flight at rest: %v, want 1 (the scrape)", v)
	}
	waitFor(t, "upstream connected", func() bool { return tg.client.Ready() })
	if v := sample(t, scrape(t, tg.url), `nuls_gateway_upstream_module_up{role="direct"}`); v != 1 {
		t.Errorf("direct upstream up: %v, want 1", v)
	}

	// A request whose body is slow to come is in flight.
	conn, err := net.Dial("tcp", strings.TrimPrefix(tg.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /rpc/latestHeight HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{")
	waitFor(t, "the slow request in flight", func() bool {
		return scrape(t, tg.url)["nuls_gateway_http_requests_in_flight"] == 2
	})
	conn.Close()
	waitFor(t, "the slow request done", func() bool {
		return scrape(t, tg.url)["nuls_gateway_http_requests_in_flight"] == 1
	})

	// Authentication failures, by reason.
	unknown, _, err := auth.NewKey(auth.KeyRecord{Scopes: []string{bridge.ScopePublic}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, reason string
		header       map[string]string
		status       int
	}{
		{"/rpc/latestHeight", "invalid_key", bearer(unknown), http.StatusUnauthorized},
		{"/rpc/latestHeight", "malformed", map[string]string{"Authorization": "Basic eDp5"}, http.StatusUnauthorized},
		{"/rpc/latestHeight", "malformed", bearer("neither-a-key-nor-a-jwt"), http.StatusUnauthorized},
		{"/notifications", "forbidden", bearer(ta.public), http.StatusForbidden},
		{"/notifications", "missing", nil, http.StatusUnauthorized},
	} {
		before := sample(t, scrape(t, tg.url), `nuls_gateway_auth_failures_total{reason="`+c.reason+`"}`)
		var status int
		if c.path == "/notifications" {
			status = openSSEWith(t, tg.url+c.path, c.header).resp.StatusCode
		} else {
			status, _, _ = postWith(t, tg.url+c.path, `{"chainId":2}`, c.header)
		}
		if status != c.status {
			t.Fatalf("%s as %s: %d, want %d", c.path, c.reason, status, c.status)
		}
		if after := sample(t, scrape(t, tg.url), `nuls_gateway_auth_failures_total{reason="`+c.reason+`"}`); after != before+1 {
			t.Errorf("auth failures %s: %v then %v, want one more", c.reason, before, after)
		}
	}
	if v := sample(t, scrape(t, tg.url), `nuls_gateway_auth_failures_total{reason="other"}`); v != 0 {
		t.Errorf("auth failures other: %v", v)
	}

	// A stream: out of the requests in flight while open, its lifetime
	// in its own histogram when it ends, and not in the request latency.
	const route = `route="/rpc/{method}/stream"`
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	s.next(2 * time.Second)
	m = scrape(t, tg.url)
	if v := sample(t, m, "nuls_gateway_active_streams"); v != 1 {
		t.Errorf("active streams %v, want 1", v)
	}
	if v := sample(t, m, "nuls_gateway_http_requests_in_flight"); v != 1 {
		t.Errorf("in flight with a stream open: %v, want 1 (the scrape)", v)
	}
	time.Sleep(1100 * time.Millisecond) // a lifetime past the first bucket
	s.close()
	waitFor(t, "the stream's lifetime observed", func() bool {
		return scrape(t, tg.url)[`nuls_gateway_stream_duration_seconds_count{kind="sse"}`] == 1
	})
	m = scrape(t, tg.url)
	if v := sample(t, m, `nuls_gateway_stream_duration_seconds_bucket{kind="sse",le="1"}`); v != 0 {
		t.Errorf("a stream open over a second counted within 1s: %v", v)
	}
	if v := sample(t, m, `nuls_gateway_http_requests_total{code="200",method="GET",`+route+`}`); v != 1 {
		t.Errorf("stream requests counted: %v, want 1", v)
	}
	if v, ok := m[`nuls_gateway_http_request_duration_seconds_count{`+route+`}`]; ok && v != 0 {
		t.Errorf("the stream in the request latency: %v observations", v)
	}
	if v := sample(t, m, "nuls_gateway_active_streams"); v != 0 {
		t.Errorf("active streams after close: %v", v)
	}

	// A JSON-RPC socket: a lifetime of kind websocket.
	ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), "ws"+strings.TrimPrefix(tg.url, "http")+"/jsonrpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","method":"latestHeight","params":[2],"id":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if v := sample(t, scrape(t, tg.url), "nuls_gateway_http_requests_in_flight"); v != 1 {
		t.Errorf("in flight with a socket open: %v, want 1 (the scrape)", v)
	}
	ws.Close()
	waitFor(t, "the socket's lifetime observed", func() bool {
		return scrape(t, tg.url)[`nuls_gateway_stream_duration_seconds_count{kind="websocket"}`] == 1
	})
	if v := sample(t, scrape(t, tg.url), "nuls_gateway_http_requests_in_flight"); v != 1 {
		t.Errorf("in flight at the end: %v, want 1 (the scrape)", v)
	}
}

// TestModuleHealthMetric: in the manager topology, each upstream
// connection has its series, by role, that goes to 0 when it is lost.
func TestModuleHealthMetric(t *testing.T) {
	t.Parallel()
	node, stop := startStoppableNode(t, "127.0.0.1:0")
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), manager: true, cfg: Config{Registry: prometheus.NewRegistry()}})
	modules := func() map[string]float64 {
		out := map[string]float64{}
		for series, v := range scrape(t, tg.url) {
			if role, ok := strings.CutPrefix(series, `nuls_gateway_upstream_module_up{role="`); ok {
				out[strings.TrimSuffix(role, `"}`)] = v
			}
		}
		return out
	}
	waitFor(t, "the manager and its modules up", func() bool {
		m := modules()
		if len(m) < 2 {
			return false
		}
		for _, v := range m {
			if v != 1 {
				return false
			}
		}
		return true
	})
	m := modules()
	if _, ok := m["manager"]; !ok {
		t.Fatalf("no manager series: %v", m)
	}
	for role := range m {
		if role == "other" || role == "direct" {
			t.Errorf("role %q in the manager topology", role)
		}
	}
	stop()
	waitFor(t, "every connection down", func() bool {
		for _, v := range modules() {
			if v != 0 {
				return false
			}
		}
		return true
	})
}
