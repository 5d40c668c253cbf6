package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// These tests are the holes of the security review, each over real
// sockets: each fails if its hole reopens.

// TestNoModuleHijackThroughTheGateway is hole 1: POST /rpc/RegisterAPI
// with a role table naming the caller's module reached the Manager, which
// then routed getBalance and ac_transfer, password included, to it.
func TestNoModuleHijackThroughTheGateway(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), manager: true})

	// The attacker's module, which would take the ledger and account roles.
	var hijacked atomic.Int64
	evil, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "evil"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { evil.Close() })
	for _, name := range []string{"getBalance", "ac_transfer"} {
		if err := evil.Register(bridge.Method{Name: name, Handler: func(context.Context, *bridge.Call) (any, error) {
			hijacked.Add(1)
			return map[string]any{"stolen": true}, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	evilURL := newWSServer(t, evil)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(evilURL, "ws://"))
	reg := fmt.Sprintf(`{"Abbreviation":"evil","ModuleName":"evil","ModuleDomain":"Nuls","ModuleVersion":"1.0",
		"ModuleRoles":{"ledger":["1.0"],"account":["1.0"]},"Dependencies":{},
		"ConnectionInformation":{"IP":"127.0.0.1","Port":%q},
		"Methods":[{"MethodName":"getBalance","MethodScope":"public"},{"MethodName":"ac_transfer","MethodScope":"public"}]}`, port)
	for _, method := range []string{"RegisterAPI", "registerapi", "Nulstar.RegisterAPI", "GetConsolidatedAPI", "ListAPI", "ForwardMessage", "RegisterCompoundMethod"} {
		status, _, body := post(t, tg.url+"/rpc/"+method, reg)
		if status != http.StatusNotFound {
			t.Fatalf("%s over HTTP: %d %s, want 404", method, status, body)
		}
		if status, _, body := post(t, tg.url+"/rpc", `{"latestHeight":{"chainId":2},"`+method+`":`+reg+`}`); status != http.StatusNotFound {
			t.Fatalf("%s in a batch: %d %s, want 404", method, status, body)
		}
		s := openSSE(t, tg.url+"/rpc/"+method+"/stream", "")
		if s.resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s as a stream: %d, want 404", method, s.resp.StatusCode)
		}
	}
	// Nor are they listed.
	if _, methods := get(t, tg.url+"/methods"); strings.Contains(methods, `"RegisterAPI"`) || strings.Contains(methods, `"ListAPI"`) {
		t.Fatalf("/methods lists the protocol's commands: %s", methods)
	}
	// The Manager's role table never named the attacker, and the calls go
	// to the node's modules.
	raw, err := tg.client.Call(t.Context(), "ListAPI", nil)
	if err != nil || strings.Contains(string(raw), "evil") {
		t.Fatalf("the Manager knows the attacker's module: %v %s", err, raw)
	}
	acct := node.GenesisAccounts()[0]
	status, _, body := post(t, tg.url+"/rpc/getBalance", `{"chainId":2,"assetChainId":2,"assetId":1,"address":"`+acct.Address+`"}`)
	if status != http.StatusOK || strings.Contains(body, "stolen") || hijacked.Load() != 0 {
		t.Fatalf("getBalance: %d %s, %d calls reached the attacker", status, body, hijacked.Load())
	}
}

// TestKernelCommandsFailClosed is hole 2: in front of an upstream that lists
// no methods (the node's module endpoint, as a real Java module), confSet
// changed the node's configuration and terminate stopped it.
func TestKernelCommandsFailClosed(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	moduleURL := node.ModuleURLs()["block"]
	direct := startRawClient(t, moduleURL)
	before, err := direct.Call(t.Context(), "confGet", nil)
	if err != nil {
		t.Fatal(err)
	}
	stillUp := func() {
		t.Helper()
		after, err := direct.Call(t.Context(), "confGet", nil)
		if err != nil || string(after) != string(before) {
			t.Fatalf("the node's configuration changed or it stopped: %s %v (was %s)", after, err, before)
		}
	}
	kernel := []string{"confSet", "confReset", "terminate", "shutdown", "status", "confGet"}

	// No listing: the kernel commands, the catalog's private commands
	// and the names it lacks are not callable.
	closed := startGateway(t, gatewayOptions{nodeURL: moduleURL, noWait: true})
	waitFor(t, "connected", closed.client.Ready)
	for _, m := range append(kernel, "receivePackingBlock", "noSuchCommand") {
		if status, _, body := post(t, closed.url+"/rpc/"+m, `{"chainId":2,"blockInterval":"1ms"}`); status != http.StatusNotFound {
			t.Fatalf("%s with no listing: %d %s, want 404", m, status, body)
		}
	}
	stillUp()

	// The operator opens the unlisted methods: the catalog's public
	// reads are callable, but still not the kernel commands, nor the
	// catalog's private commands.
	ta := newTestAuth(t, auth.Config{})
	open := startGateway(t, gatewayOptions{nodeURL: moduleURL, noWait: true, cfg: Config{UnlistedScope: bridge.ScopePublic, Auth: ta}})
	waitFor(t, "connected", open.client.Ready)
	if status, _, body := post(t, open.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusOK {
		t.Fatalf("a public read: %d %s", status, body)
	}
	for _, m := range append(kernel, "receivePackingBlock") {
		if status, _, body := postWith(t, open.url+"/rpc/"+m, `{"blockInterval":"1ms"}`, bearer(ta.admin)); status != http.StatusNotFound {
			t.Fatalf("%s with unlisted methods open, admin key: %d %s, want 404", m, status, body)
		}
	}
	stillUp()

	// Allowed by the operator: only for the admin scope.
	admin := startGateway(t, gatewayOptions{nodeURL: moduleURL, noWait: true, cfg: Config{AllowKernelCommands: true, Auth: ta}})
	waitFor(t, "connected", admin.client.Ready)
	if status, h, _ := post(t, admin.url+"/rpc/confSet", `{"blockInterval":"1ms"}`); status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous confSet: %d, want 401 with a challenge", status)
	}
	if status, _, _ := postWith(t, admin.url+"/rpc/terminate", `{}`, bearer(ta.public)); status != http.StatusForbidden {
		t.Fatalf("terminate with the public scope: %d, want 403", status)
	}
	stillUp()
	if status, _, body := postWith(t, admin.url+"/rpc/confGet", `{}`, bearer(ta.admin)); status != http.StatusOK || body != string(before) {
		t.Fatalf("confGet with the admin scope: %d %s", status, body)
	}
}

// TestUndeclaredParameters: when the upstream lists a method's parameters,
// others are refused: they would make distinct subscriptions (hole 5) and
// reach modules that do not expect them.
func TestUndeclaredParameters(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2,"junk":1}`)
	if p := problemOf(t, body); status != http.StatusBadRequest || p.Detail != "parameter junk: not a parameter of latestHeight" {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2,"version":1.0}`); status != http.StatusOK {
		t.Fatalf("the version selector: %d %s", status, body)
	}
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2&junk=1", "")
	if s.resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("stream with junk: %d", s.resp.StatusCode)
	}
	// A period stream re-runs its method: not for methods that offer none.
	s = openSSE(t, tg.url+"/rpc/getBlockByHeight/stream?period=1&chainId=2&height=0", "")
	if s.resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("period stream of getBlockByHeight: %d", s.resp.StatusCode)
	}
	if n := tg.hub.Stats().Topics; n != 0 {
		t.Fatalf("%d topics opened by refused streams", n)
	}
}

// TestTopicFlood is hole 5: 5,000 streams with distinct junk made 5,000
// upstream subscriptions past --max-streams, and one client could take every
// stream slot. Now a client has a fair share of streams and of distinct
// subscriptions (429), and the instance a cap on subscriptions (503).
func TestTopicFlood(t *testing.T) {
	t.Parallel()
	const perClient, topics = 4, 6
	tg := startGateway(t, gatewayOptions{
		cfg: Config{MaxStreamsPerClient: 5, MaxTopicsPerClient: perClient},
		hub: subscriptions.Config{MaxTopics: topics, Grace: 50 * time.Millisecond},
	})
	// Distinct subscriptions: one per event counter.
	sub := func(i int) string { return fmt.Sprintf("/rpc/latestHeight/stream?chainId=2&eventCounter=%d", i+1) }
	// One client: its 5th distinct subscription is refused.
	for i := range perClient {
		if s := openSSE(t, tg.url+sub(i), ""); s.resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i, s.resp.StatusCode)
		}
	}
	s := openSSE(t, tg.url+sub(perClient), "")
	if s.resp.StatusCode != http.StatusTooManyRequests || s.resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a subscription beyond the client's share: %d, want 429 with Retry-After", s.resp.StatusCode)
	}
	// Another stream of a subscription it follows is fine, up to its
	// share of streams.
	if s := openSSE(t, tg.url+sub(0), ""); s.resp.StatusCode != http.StatusOK {
		t.Fatalf("a second stream of a followed subscription: %d", s.resp.StatusCode)
	}
	if s := openSSE(t, tg.url+sub(0), ""); s.resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a stream beyond the client's share: %d, want 429", s.resp.StatusCode)
	}
	// Other clients (credentials) fill the instance's subscriptions: past
	// the cap, 503.
	ta := newTestAuth(t, auth.Config{})
	tg2 := startGateway(t, gatewayOptions{nodeURL: tg.node.URL(), cfg: Config{Auth: ta, MaxTopicsPerClient: perClient},
		hub: subscriptions.Config{MaxTopics: topics}})
	other := bearer(ta.addKey(t, auth.KeyRecord{Scopes: []string{bridge.ScopePublic}}))
	for i := range topics {
		h := bearer(ta.public)
		if i >= perClient {
			h = other
		}
		if s := openSSEWith(t, tg2.url+sub(i), h); s.resp.StatusCode != http.StatusOK {
			t.Fatalf("subscription %d: %d", i, s.resp.StatusCode)
		}
	}
	s = openSSEWith(t, tg2.url+sub(topics), other)
	if s.resp.StatusCode != http.StatusServiceUnavailable || s.resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a subscription beyond the instance's cap: %d, want 503 with Retry-After", s.resp.StatusCode)
	}
	if n := tg2.hub.Stats().Topics; n != topics {
		t.Fatalf("%d upstream subscriptions, want the cap %d", n, topics)
	}
}

// captureLog is a slog handler that keeps every record.
type captureLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (c *captureLog) Enabled(context.Context, slog.Level) bool { return true }
func (c *captureLog) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.records = append(c.records, r)
	c.mu.Unlock()
	return nil
}
func (c *captureLog) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *captureLog) WithGroup(string) slog.Handler      { return c }

func (c *captureLog) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.records {
		if r.Level >= slog.LevelError {
			out = append(out, r.Message)
		}
	}
	return out
}

// serverErrors counts the 5xx answers in the gateway's request metric.
func serverErrors(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "nuls_gateway_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && strings.HasPrefix(l.GetValue(), "5") {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// rawRequest writes req on a new connection and returns the status line,
// or "" when the gateway closed the connection without one.
func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestBrokenClients is hole 7: a malformed chunk size, or a client that
// leaves mid-body, got a 500 and an ERROR line. They are the client's
// fault: 4xx (or a closed connection), below ERROR, and no 5xx counted.
func TestBrokenClients(t *testing.T) {
	t.Parallel()
	logs := &captureLog{}
	reg := prometheus.NewRegistry()
	tg := startGateway(t, gatewayOptions{cfg: Config{Registry: reg}})
	tg.Server.logger = slog.New(logs)
	addr := strings.TrimPrefix(tg.url, "http://")
	head := "POST /rpc/latestHeight HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

	if got := rawRequest(t, addr, head+"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"); got != "HTTP/1.1 400 Bad Request" {
		t.Errorf("malformed chunk size: %q, want 400", got)
	}
	if got := rawRequest(t, addr, head+"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"cha\r\nffffffffffffffffff\r\n"); got != "HTTP/1.1 400 Bad Request" && got != "HTTP/1.1 413 Request Entity Too Large" {
		t.Errorf("chunk size overflow: %q, want a 4xx", got)
	}
	// A client that sends half its body and leaves.
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "%sContent-Length: 100\r\n\r\n{\"chainId\":", head)
		time.Sleep(5 * time.Millisecond)
		c.Close()
	}
	// A body shorter than declared, then silence, then gone.
	waitFor(t, "the requests answered", func() bool {
		return testutil.CollectAndCount(reg, "nuls_gateway_http_requests_total") > 0
	})
	time.Sleep(200 * time.Millisecond)
	if n := serverErrors(t, reg); n != 0 {
		t.Errorf("%v answers counted as 5xx", n)
	}
	if errs := logs.errors(); len(errs) > 0 {
		t.Errorf("ERROR lines for the clients' faults: %q", errs)
	}
	// Unknown routes and methods are problem documents too, nosniff.
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{{http.MethodGet, "/nope", 404, ""}, {http.MethodGet, "/rpc/latestHeight", 405, "POST"}, {http.MethodPut, "/methods", 405, "GET, HEAD"}} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, tg.url+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/problem+json" ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || problemOf(t, string(body)).Status != c.status {
			t.Errorf("%s %s: %d %v %s", c.method, c.path, resp.StatusCode, resp.Header, body)
		}
		if c.allow != "" && resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, resp.Header.Get("Allow"), c.allow)
		}
	}
	for _, path := range []string{"/healthz", "/methods", "/openapi.json"} {
		resp, err := http.Get(tg.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s without nosniff", path)
		}
	}
}

// TestSlowBodies is hole 6: 300 stalled and 300 dribbled bodies were all
// still open after 75 s, and a declared Content-Length of 10^12 hung. Now a
// body has BodyTimeout to arrive whole, and a declared size beyond the
// limit is refused at once.
func TestSlowBodies(t *testing.T) {
	t.Parallel()
	const bodyTimeout = time.Second
	tg := startGateway(t, gatewayOptions{cfg: Config{BodyTimeout: bodyTimeout}})
	addr := strings.TrimPrefix(tg.url, "http://")
	head := "POST /rpc/latestHeight HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"

	// A terabyte declared: 413 at once, nothing read.
	start := time.Now()
	got := rawRequest(t, addr, "POST /rpc/latestHeight HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{")
	if got != "HTTP/1.1 413 Request Entity Too Large" || time.Since(start) > time.Second {
		t.Fatalf("a terabyte declared: %q after %v, want an immediate 413", got, time.Since(start))
	}

	const n = 300
	var closed atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer close(stop)
	start = time.Now()
	for i := range 2 * n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, head+"{"); err != nil {
			t.Fatal(err)
		}
		dribble := i%2 == 1
		wg.Go(func() {
			if dribble {
				// One byte every 100ms: never idle, never done.
				go func() {
					tick := time.NewTicker(100 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							if _, err := c.Write([]byte(" ")); err != nil {
								return
							}
						}
					}
				}()
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * bodyTimeout))
			_, _ = io.Copy(io.Discard, c) // until the gateway closes
			closed.Add(1)
		})
	}
	wg.Wait()
	if d := time.Since(start); closed.Load() != 2*n || d > 6*bodyTimeout {
		t.Fatalf("%d of %d slow bodies closed in %v, want all within a few body timeouts (%v)", closed.Load(), 2*n, d, bodyTimeout)
	}
	// The gateway still answers.
	if status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusOK {
		t.Fatalf("after the slow bodies: %d %s", status, body)
	}
}

// TestCallerData: an Idempotency-Key and an asynchronous answer belong to
// the credential that made them; another caller gets neither.
func TestCallerData(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	alice, mallory := bearer(ta.public), bearer(ta.addKey(t, auth.KeyRecord{Scopes: []string{bridge.ScopePublic}}))
	with := func(h map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	acct := tg.node.GenesisAccounts()[0]
	params := `{"chainId":2,"assetChainId":2,"assetId":1,"address":"` + acct.Address + `"}`
	status, _, first := postWith(t, tg.url+"/rpc/getBalance", params, with(alice, "Idempotency-Key", "k-1"))
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, first)
	}
	_, h, _ := postWith(t, tg.url+"/rpc/getBalance", params, with(mallory, "Idempotency-Key", "k-1"))
	if h.Get(calls.HeaderReplayed) != "" {
		t.Fatal("another credential's Idempotency-Key replayed its answer")
	}
	_, h, _ = postWith(t, tg.url+"/rpc/getBalance", params, with(alice, "Idempotency-Key", "k-1"))
	if h.Get(calls.HeaderReplayed) != "true" {
		t.Fatal("the owner's retry was not replayed")
	}

	_, h, _ = postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, with(alice, "Prefer", "respond-async"))
	loc := h.Get("Location")
	if loc == "" {
		t.Fatal("no Location")
	}
	read := func(hdr map[string]string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, tg.url+loc, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "the answer", func() bool { return read(alice) == http.StatusOK })
	if st := read(mallory); st != http.StatusNotFound {
		t.Fatalf("another credential read the answer: %d", st)
	}
	if st := read(nil); st != http.StatusNotFound {
		t.Fatalf("an anonymous caller read the answer: %d", st)
	}
}

// TestNetworkCommandsNotPublic: a live node lists the network module's
// commands that change its peers (nw_delNodes, nw_reconnect, …) with the
// public scope. They are kernel-like: not callable by a stranger, nor by
// anyone unless the operator allowed kernel commands; nw_info, which only
// reads, stays public.
func TestNetworkCommandsNotPublic(t *testing.T) {
	t.Parallel()
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "nw"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	var called atomic.Int32
	for _, name := range []string{"nw_delNodes", "nw_reconnect", "nw_broadcast", "nw_info"} {
		if err := m.Register(bridge.Method{Name: name, Scope: bridge.ScopePublic, Handler: func(context.Context, *bridge.Call) (any, error) {
			if name != "nw_info" {
				called.Add(1)
			}
			return map[string]int{"ok": 1}, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Register(bridge.Method{Name: "ListAPI", Handler: func(context.Context, *bridge.Call) (any, error) {
		out := map[string]bridge.MethodInfo{}
		for _, mi := range m.Methods() {
			out["Nuls."+mi.MethodName] = mi
		}
		return out, nil
	}}); err != nil {
		t.Fatal(err)
	}
	tg := startGateway(t, gatewayOptions{nodeURL: newWSServer(t, m)})
	if status, _, body := post(t, tg.url+"/rpc/nw_info", `{}`); status != http.StatusOK {
		t.Fatalf("nw_info: %d %s", status, body)
	}
	for _, name := range []string{"nw_delNodes", "nw_reconnect", "nw_broadcast"} {
		if status, _, body := post(t, tg.url+"/rpc/"+name, `{}`); status != http.StatusNotFound {
			t.Errorf("%s, listed public upstream: %d %s, want 404", name, status, body)
		}
	}
	if n := called.Load(); n != 0 {
		t.Errorf("the node's peers were changed %d times", n)
	}
}
