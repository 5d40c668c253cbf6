package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/gateway/documents"
	"github.com/nuls-gateway/nuls-gateway/openapi"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

func TestCall(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	tg.node.ProduceBlock()
	tg.node.ProduceBlock()

	status, h, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`)
	if status != http.StatusOK || body != `{"value":2}` {
		t.Fatalf("%d %s", status, body)
	}
	if h.Get("Content-Type") != "application/json" || h.Get(headerMessageID) == "" || h.Get(headerRequestID) == "" || h.Get(headerProcessingTime) == "" {
		t.Errorf("headers %v", h)
	}
	if !strings.HasPrefix(h.Get("Server-Timing"), "upstream;dur=") {
		t.Errorf("Server-Timing %q", h.Get("Server-Timing"))
	}

	// A missing required parameter is refused by the module, as a
	// parameter error (err_0012): 400. An empty body, with or without a
	// Content-Type, is {}.
	for _, c := range []struct{ body, ct string }{{`{}`, "application/json"}, {``, "application/json"}, {``, ""}, {`{}`, "application/json; charset=utf-8"}} {
		status, _, answer := postWith(t, tg.url+"/rpc/getStatus", c.body, map[string]string{"Content-Type": c.ct})
		if p := problemOf(t, answer); status != http.StatusBadRequest || p.ResponseErrorCode != bridge.CodeParameterError || p.Method != "getStatus" {
			t.Fatalf("missing parameter, body %q, type %q: %d %s", c.body, c.ct, status, answer)
		}
	}

	// The result is the module's, as it returned it.
	acct := tg.node.GenesisAccounts()[0]
	status, _, body = post(t, tg.url+"/rpc/getBalance", fmt.Sprintf(`{"chainId":2,"assetChainId":2,"assetId":1,"address":%q}`, acct.Address))
	if status != http.StatusOK || !strings.Contains(body, fmt.Sprint(devnode.GenesisBalance)) {
		t.Fatalf("getBalance %d %s", status, body)
	}
}

func TestCallMany(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	status, _, body := post(t, tg.url+"/rpc", `{"latestHeight":{"chainId":2},"info":{"chainId":2},"getStatus":{"chainId":2}}`)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	if !strings.HasPrefix(body, `{"latestHeight":{"value":0},"info":{`) || !strings.Contains(body, `"getStatus":{"status":1}`) {
		t.Fatalf("body %s: want the results keyed by method, in order", body)
	}
	// All-or-nothing: one unknown method fails the whole call.
	status, _, body = post(t, tg.url+"/rpc", `{"latestHeight":{"chainId":2},"nope":{}}`)
	if status != http.StatusNotFound {
		t.Fatalf("%d %s", status, body)
	}
}

// TestErrorMapping pins the one mapping of the README: 400, 404, 413, 422,
// 503, 504, as RFC 9457 problem documents with the NULS fields.
func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{MaxBodyBytes: 512}})
	big := `{"chainId":2,"pad":"` + strings.Repeat("x", 600) + `"}`
	tests := []struct {
		name, path, body string
		status           int
		code             string // ResponseErrorCode, when the module answered
	}{
		{"malformed JSON", "/rpc/latestHeight", `{"chainId":`, 400, ""},
		{"body not an object", "/rpc/latestHeight", `[1,2]`, 400, ""},
		{"parameter type", "/rpc/getBalance", `{"chainId":"two"}`, 400, ""},
		{"parameter range", "/rpc/getBalance", `{"chainId":70000,"assetChainId":2,"assetId":1,"address":"a"}`, 400, ""},
		{"invalid method name", "/rpc/bad%20name", `{}`, 400, ""},
		{"unknown method", "/rpc/noSuchMethod", `{}`, 404, ""},
		{"body too large", "/rpc/latestHeight", big, 413, ""},
		{"module failure", "/rpc/getBalance", `{"chainId":2,"assetChainId":2,"assetId":1,"address":"nonsense"}`, 422, "lg_1014"},
		{"many: malformed", "/rpc", `{"a":1}`, 400, ""},
		{"many: empty", "/rpc", `{}`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := post(t, tg.url+tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if ct := h.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			p := problemOf(t, body)
			if p.Status != tt.status || p.Title == "" || p.Type != "about:blank" {
				t.Errorf("problem %+v", p)
			}
			if tt.code != "" && (p.ResponseErrorCode != tt.code || p.ResponseStatus != bridge.StatusFailed || p.ResponseComment == "") {
				t.Errorf("problem %+v, want the module's code %s", p, tt.code)
			}
		})
	}
}

// TestUpstreamDown: 503 while the upstream is unreachable, 504 when it does
// not answer in time.
func TestUpstreamDown(t *testing.T) {
	t.Parallel()
	// No listing from an upstream that is not there: the operator's
	// switch makes the unlisted methods callable.
	tg := startGateway(t, gatewayOptions{nodeURL: "ws://127.0.0.1:1/ws", noWait: true, cfg: Config{UnlistedScope: "public"}})
	status, h, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`)
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("%d %v %s", status, h, body)
	}
	if status, body := get(t, tg.url+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, `"upstream"`) {
		t.Fatalf("readyz %d %s", status, body)
	}
	if status, _ := get(t, tg.url+"/healthz"); status != http.StatusOK {
		t.Fatalf("healthz %d", status)
	}
}

func TestUpstreamTimeout(t *testing.T) {
	t.Parallel()
	// A peer that negotiates and lists its methods, but never answers them.
	node, calls := silentPeer(t)
	tg := startGateway(t, gatewayOptions{nodeURL: node, cfg: Config{CallTimeout: 200 * time.Millisecond, UnlistedScope: "public"}})
	start := time.Now()
	status, _, body := post(t, tg.url+"/rpc/getBlockHeaderByHeight", `{"chainId":2,"height":1}`)
	if status != http.StatusGatewayTimeout {
		t.Fatalf("a read: %d %s", status, body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout after %v", d)
	}
	// A command not known to be a read may have been done: 502, kept
	// for its Idempotency-Key, so that the client's retry does not run
	// it again (as with several nodes, package pool).
	key := map[string]string{"Idempotency-Key": "once"}
	before := calls.Load() // the read's
	for i := range 2 {
		status, _, body = postWith(t, tg.url+"/rpc/hang", `{}`, key)
		if status != http.StatusBadGateway || !strings.Contains(body, "outcome is unknown") {
			t.Fatalf("a command, try %d: %d %s", i+1, status, body)
		}
	}
	if n := calls.Load() - before; n != 1 {
		t.Errorf("the command ran %d times, want once", n)
	}
}

// TestUpstreamTimeoutSelfBounded is TestUpstreamTimeout where the
// upstream client bounds the call itself (its CallTimeout is the
// gateway's), so the gateway gives the call no deadline of its own: the
// client's timer must still end it.
func TestUpstreamTimeoutSelfBounded(t *testing.T) {
	t.Parallel()
	node, _ := silentPeer(t)
	const timeout = 200 * time.Millisecond
	tg := startGateway(t, gatewayOptions{nodeURL: node, cfg: Config{CallTimeout: timeout, UnlistedScope: "public"},
		client: bridge.ClientConfig{CallTimeout: timeout}})
	if b, ok := tg.up.(upstream.SelfBounded); !ok || b.CallTimeout() != timeout {
		t.Fatalf("upstream %T does not bound its calls by %v", tg.up, timeout)
	}
	start := time.Now()
	status, _, body := post(t, tg.url+"/rpc/getBlockHeaderByHeight", `{"chainId":2,"height":1}`)
	if status != http.StatusGatewayTimeout {
		t.Fatalf("%d %s", status, body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout after %v", d)
	}
}

// silentPeer is a module whose "hang" method never returns.
func silentPeer(t *testing.T) (url string, calls *atomic.Int64) {
	t.Helper()
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "silent"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	calls = new(atomic.Int64)
	hang := func(ctx2 context2, _ *bridge.Call) (any, error) {
		calls.Add(1)
		<-ctx2.Done()
		return nil, ctx2.Err()
	}
	must(m.Register(bridge.Method{Name: "hang", Handler: hang}))
	must(m.Register(bridge.Method{Name: "getBlockHeaderByHeight", Handler: hang, Parameters: []bridge.Parameter{
		{Name: "chainId", Type: "int"}, {Name: "height", Type: "long"},
	}}))
	must(m.Register(bridge.Method{Name: "ListAPI", Handler: func(context2, *bridge.Call) (any, error) {
		out := map[string]bridge.MethodInfo{}
		for _, mi := range m.Methods() {
			out["Test."+mi.MethodName] = mi
		}
		return out, nil
	}}))
	srv := newWSServer(t, m)
	t.Cleanup(func() { m.Close() })
	return srv, calls
}

// TestMethods lists what the gateway exposes: public methods only.
func TestMethods(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	status, body := get(t, tg.url+"/methods")
	if status != http.StatusOK {
		t.Fatal(status, body)
	}
	var list documents.MethodList
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	byName := map[string]openapi.Method{}
	for _, m := range list.Methods {
		byName[m.Name] = m
	}
	gb, ok := byName["getBalance"]
	if !list.Discovered || !ok {
		t.Fatalf("methods %s", body)
	}
	if len(gb.Parameters) != 4 || gb.Parameters[0].Name != "chainId" || gb.Parameters[0].JSONType != "integer" || gb.Parameters[0].Range != "[1-65535]" {
		t.Errorf("getBalance %+v", gb)
	}
	if lh := byName["latestHeight"]; lh.MinEvent < 1 {
		t.Errorf("latestHeight %+v: want it event-capable", lh)
	}
	for _, m := range list.Methods {
		if m.Scope != "" && m.Scope != "public" {
			t.Errorf("%s of scope %s exposed", m.Name, m.Scope)
		}
	}
	if _, ok := byName["shutdown"]; ok {
		t.Error("the admin kernel command shutdown is exposed")
	}
	// And not callable either.
	if status, _, _ := post(t, tg.url+"/rpc/shutdown", `{}`); status != http.StatusNotFound {
		t.Errorf("POST /rpc/shutdown: %d, want 404", status)
	}
}
