package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/gateway/streams"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// TestManagedTopology covers T2: the gateway registers with the Manager,
// learns the role table, connects to the modules at /ws and routes each
// method to a module that serves it, with no per-method configuration.
func TestManagedTopology(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{Strict: true}) // strict: we send only what Java knows
	// The account module answers secrets (ac_getAccountList): an admin
	// key reaches it.
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), manager: true,
		cfg: Config{Auth: ta, Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin}}})
	admin := bearer(ta.admin)
	managed := tg.up.(*upstream.Managed)
	waitFor(t, "module connections", func() bool { return managed.Ready() == nil })

	node.ProduceBlock()
	acct := node.GenesisAccounts()[0]
	calls := map[string]string{
		"latestHeight":      `{"chainId":2}`,
		"getBalance":        `{"chainId":2,"assetChainId":2,"assetId":1,"address":"` + acct.Address + `"}`,
		"ac_getAccountList": `{"chainId":2}`,
	}
	for method, params := range calls {
		status, _, body := postWith(t, tg.url+"/rpc/"+method, params, admin)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", method, status, body)
		}
	}
	// Each method went to the module that serves it, not to the Manager.
	moduleURLs := map[string]bool{}
	for _, u := range node.ModuleURLs() {
		moduleURLs[u] = true
	}
	for method := range calls {
		if url, ok := managed.Route(method); !ok || !moduleURLs[url] {
			t.Errorf("%s routed to %q, want one of the modules %v", method, url, node.ModuleURLs())
		}
	}
	// An unknown method is a 404, whoever is asked.
	if status, _, body := post(t, tg.url+"/rpc/nope", `{}`); status != http.StatusNotFound {
		t.Fatalf("unknown: %d %s", status, body)
	}
	// Several methods of several modules in one call.
	status, _, body := postWith(t, tg.url+"/rpc", `{"latestHeight":{"chainId":2},"ac_getAccountList":{"chainId":2}}`, admin)
	if status != http.StatusOK || !strings.HasPrefix(body, `{"latestHeight":{"value":1},"ac_getAccountList":`) {
		t.Fatalf("multi: %d %s", status, body)
	}

	// Streams subscribe on the module directly.
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	if got := height(t, s.next(2*time.Second)); got != 1 {
		t.Fatalf("stream starts at %d", got)
	}
	node.ProduceBlock()
	if got := height(t, s.next(2*time.Second)); got != 2 {
		t.Fatalf("stream push %d", got)
	}
}

// TestManagedRegistersCompound: a compound method created over HTTP is
// announced to the Manager with RegisterAPI (D14), and other modules can
// call it on the gateway's own module endpoint.
func TestManagedRegistersCompound(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), manager: true, cfg: Config{Auth: ta}})
	status, _, body := postWith(t, tg.url+"/compound-methods", `{"name":"heightAndStatus","description":"both","methods":[
		{"method":"latestHeight","params":{"chainId":"chain"}},
		{"method":"getStatus","params":{"chainId":"chain"}}]}`, bearer(ta.admin))
	if status != http.StatusCreated {
		t.Fatalf("%d %s", status, body)
	}
	// The Manager lists it once the gateway re-registered.
	waitFor(t, "RegisterAPI with the compound method", func() bool {
		raw, err := tg.client.Call(t.Context(), "ListAPI", nil)
		return err == nil && strings.Contains(string(raw), `heightAndStatus`)
	})
	// Another module calls it on the gateway's module endpoint, which is
	// not on the HTTP listener.
	if status, _ := get(t, tg.url+"/ws"); status != http.StatusNotFound {
		t.Fatalf("GET /ws on the HTTP listener: %d, want 404", status)
	}
	other := startRawClient(t, tg.moduleURL)
	raw, err := other.Call(t.Context(), "heightAndStatus", map[string]int{"chain": 2})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(raw, &got); err != nil || string(got["latestHeight"]) != `{"value":0}` || string(got["getStatus"]) != `{"status":1}` {
		t.Fatalf("compound over /ws: %s", raw)
	}
	// Deleting it withdraws it.
	if status := deleteWith(t, tg.url+"/compound-methods/heightAndStatus", bearer(ta.admin)); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	waitFor(t, "RegisterAPI without it", func() bool {
		raw, err := tg.client.Call(t.Context(), "ListAPI", nil)
		return err == nil && !strings.Contains(string(raw), `heightAndStatus`)
	})
	if _, err := other.Call(t.Context(), "heightAndStatus", map[string]int{"chain": 2}); err == nil {
		t.Fatal("deleted compound method still callable")
	}
}

// TestModuleEndpointStrangers: whoever reached the module endpoint could
// negotiate and stop the gateway (terminate, shutdown), change its settings
// (confSet), and register compound methods the gateway then announced to
// the Manager as its own. Now the kernel commands answer only on the
// Manager link, the connection the gateway opened to the Manager: a
// stranger gets "Cmd not found" and the gateway goes on; it cannot register
// compound methods; it can still call the gateway's compound methods.
func TestModuleEndpointStrangers(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), manager: true, cfg: Config{Auth: ta}})
	if status, _, body := postWith(t, tg.url+"/compound-methods", `{"name":"heightOf","methods":[{"method":"latestHeight","params":{"chainId":"chain"}}]}`, bearer(ta.admin)); status != http.StatusCreated {
		t.Fatalf("%d %s", status, body)
	}
	waitFor(t, "the compound method on the module", func() bool {
		for _, mi := range tg.module.Methods() {
			if mi.MethodName == "heightOf" {
				return true
			}
		}
		return false
	})

	stranger := startRawClient(t, tg.moduleURL)
	for _, method := range []string{"terminate", "shutdown", "confSet", "confReset", "confGet", "status"} {
		_, err := stranger.Call(t.Context(), method, map[string]any{"logLevel": "debug"})
		var rpcErr *bridge.RPCError
		if !errors.As(err, &rpcErr) || !rpcErr.MethodNotFound() {
			t.Errorf("%s from a stranger: %v, want Cmd not found", method, err)
		}
	}
	// A compound method of its own, over the same connection: refused
	// (the registration runs before the call that follows it).
	p := stranger.Peer()
	if err := p.Send(t.Context(), p.NewMessage(&bridge.RegisterCompoundMethod{CompoundMethodName: "mine",
		CompoundMethods: []bridge.CompoundChild{{Method: "heightOf", Aliases: []bridge.ParamAlias{{Param: "chain", Alias: "c"}}}}})); err != nil {
		t.Fatal(err)
	}
	if raw, err := stranger.Call(t.Context(), "mine", map[string]int{"c": 2}); err == nil {
		t.Errorf("a stranger registered a compound method on the gateway's module: it answers %s", raw)
	}
	// What other modules are there for: the gateway's compound methods.
	if raw, err := stranger.Call(t.Context(), "heightOf", map[string]int{"chain": 2}); err != nil || !strings.Contains(string(raw), `"latestHeight":{"value":0}`) {
		t.Errorf("the gateway's compound method from another module: %s %v", raw, err)
	}
	select {
	case <-tg.module.Done():
		t.Fatal("a stranger stopped the gateway's module")
	default:
	}
	if len(tg.module.Settings()) != 0 {
		t.Errorf("a stranger changed the settings: %v", tg.module.Settings())
	}
	if status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusOK {
		t.Fatalf("the gateway after the strangers: %d %s", status, body)
	}

	// The Manager, over the connection the gateway registered on.
	if _, err := node.CallModule(t.Context(), "gw", "status", map[string]any{}); err != nil {
		t.Fatalf("status from the Manager: %v", err)
	}
	if raw, err := node.CallModule(t.Context(), "gw", "confSet", map[string]any{"logLevel": "debug"}); err != nil || string(raw) != `{"logLevel":"debug"}` {
		t.Fatalf("confSet from the Manager: %s %v", raw, err)
	}
	if _, err := node.CallModule(t.Context(), "gw", "shutdown", nil); err != nil {
		t.Fatalf("shutdown from the Manager: %v", err)
	}
	select {
	case <-tg.module.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the Manager's shutdown did not stop the module")
	}
}

// startRawClient runs a bridge client until the test ends.
func startRawClient(t *testing.T, url string) *bridge.Client {
	t.Helper()
	c, err := bridge.NewClient(bridge.ClientConfig{URL: url, FirstDialJitter: -1}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCtx(t, c.Run)
	waitFor(t, "client ready", c.Ready)
	return c
}

// TestManagedWaitsForItsModules plays a Java Manager: RegisterAPI is
// answered at once with a role table whose module is not up yet, and the
// Manager itself serves no module's method. The gateway is not ready until
// the module is connected, and a call made meanwhile waits for it rather
// than going to the Manager or failing.
func TestManagedWaitsForItsModules(t *testing.T) {
	t.Parallel()
	ledger, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "ledger"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ledger.Close() })
	if err := ledger.Register(bridge.Method{Name: "getBalance", Handler: func(context.Context, *bridge.Call) (any, error) {
		return map[string]int{"total": 7}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	late := httptest.NewUnstartedServer(ledger) // bound, not answering yet
	t.Cleanup(late.Close)
	_, port, _ := net.SplitHostPort(late.Listener.Addr().String())

	var managerCalls atomic.Int64
	mgr, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "kernel"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	if err := mgr.Register(bridge.Method{Name: "RegisterAPI", MinEvent: 1, Handler: func(context.Context, *bridge.Call) (any, error) {
		return map[string]any{"Dependencies": map[string]any{"ledger": map[string]string{"IP": "127.0.0.1", "Port": port}}}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	if err := mgr.Register(bridge.Method{Name: "getBalance", Handler: func(context.Context, *bridge.Call) (any, error) {
		managerCalls.Add(1)
		return nil, bridge.Fail(bridge.CodeMethodNotFound, "Cmd not found:getBalance,1.0")
	}}); err != nil {
		t.Fatal(err)
	}
	tg := startGateway(t, gatewayOptions{nodeURL: newWSServer(t, mgr), manager: true, noWait: true,
		cfg: Config{UnlistedScope: "public", CallTimeout: 5 * time.Second}})
	waitFor(t, "the Manager link", tg.client.Ready)
	if status, body := get(t, tg.url+"/readyz"); status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the module down: %d %s", status, body)
	}
	answered := make(chan string, 1)
	go func() {
		_, _, body := post(t, tg.url+"/rpc/getBalance", `{}`)
		answered <- body
	}()
	time.Sleep(300 * time.Millisecond)
	late.Start()
	select {
	case body := <-answered:
		if body != `{"total":"7"}` { // an amount: a string of digits
			t.Fatalf("the call made before the module was up: %s", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not wait for its module")
	}
	if n := managerCalls.Load(); n != 0 {
		t.Fatalf("%d calls went to the Manager", n)
	}
	waitFor(t, "ready", func() bool { status, _ := get(t, tg.url+"/readyz"); return status == http.StatusOK })
}

// TestCallEach is RPC-TOOL's callMultiplyRpc: in the manager topology an
// admin calls one command on every module and gets each one's answer under
// its role; others may not, and the direct topology has no such route.
func TestCallEach(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), manager: true, cfg: Config{Auth: ta, AllowKernelCommands: true}})
	waitFor(t, "ready", func() bool { return tg.up.Ready() == nil })
	status, _, body := postWith(t, tg.url+"/rpc/confGet/each", `{}`, bearer(ta.admin))
	var got map[string]ModuleAnswer
	if status != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("%d %s", status, body)
	}
	for role := range node.ModuleURLs() {
		if a, ok := got[role]; !ok || a.Error != nil || !strings.Contains(string(a.Result), `"chainId":2`) {
			t.Errorf("%s: %+v", role, a)
		}
	}
	if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight/each", `{"chainId":2}`, bearer(ta.public)); status != http.StatusForbidden {
		t.Fatalf("without the admin scope: %d", status)
	}
	// A module that does not serve the method answers its failure.
	status, _, body = postWith(t, tg.url+"/rpc/latestHeight/each", `{"chainId":2}`, bearer(ta.admin))
	if status != http.StatusOK || !strings.Contains(body, `"block":{"result":{"value":0}}`) || !strings.Contains(body, `"responseErrorCode":"err_0021"`) {
		t.Fatalf("latestHeight on each: %d %s", status, body)
	}
	direct := startGateway(t, gatewayOptions{nodeURL: node.URL(), cfg: Config{Auth: ta}})
	if status, _, _ := postWith(t, direct.url+"/rpc/status/each", `{}`, bearer(ta.admin)); status != http.StatusNotFound {
		t.Fatalf("direct topology: %d", status)
	}
}

// TestBehindNulstarServiceManager plays Nulstar's ServiceManager: its role
// table is empty (the gateway depends on no role), it lists its modules'
// methods only through a GetConsolidatedAPI subscription, and routes calls
// itself (ForwardMessage). The gateway learns the methods the way the
// Connector does, lists them, forwards the calls, and answers 404 for the
// others.
func TestBehindNulstarServiceManager(t *testing.T) {
	t.Parallel()
	sm, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "NSM"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sm.Close() })
	var forwarded atomic.Int64
	methods := []bridge.Method{
		{Name: "RegisterAPI", MinEvent: 1, Handler: func(context.Context, *bridge.Call) (any, error) { return map[string]any{}, nil }},
		{Name: "GetConsolidatedAPI", MinEvent: 1, Handler: func(context.Context, *bridge.Call) (any, error) {
			return map[string]any{"Public": map[string]any{"Nuls.getThing": map[string]any{
				"MethodName": "getThing", "MethodScope": "public", "MethodMinEvent": "1", "MethodMinPeriod": "1",
				"Parameters": []map[string]string{{"ParameterName": "n", "ParameterType": "int"}}}}}, nil
		}},
		{Name: "ForwardMessage", Handler: func(_ context.Context, c *bridge.Call) (any, error) {
			forwarded.Add(1)
			var p map[string]struct{ N int }
			if err := c.Bind(&p); err != nil {
				return nil, err
			}
			if _, ok := p["getThing"]; !ok {
				return nil, bridge.Fail(bridge.CodeMethodNotFound, "not available")
			}
			return map[string]int{"thing": p["getThing"].N * 2}, nil
		}},
	}
	for _, m := range methods {
		if err := sm.Register(m); err != nil {
			t.Fatal(err)
		}
	}
	// getThing is no NULS 2 command: the operator describes it, as a read
	// the gateway may poll, in a methods file.
	pol, _ := customMethods(t, `[{"MethodName":"getThing","MethodScope":"public","MethodMinEvent":"1","MethodMinPeriod":"1",
		"Parameters":[{"ParameterName":"n","ParameterType":"int"}]}]`, policy.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: newWSServer(t, sm), manager: true, cfg: Config{Policy: pol}})
	ml, byName := methodList(t, tg.url)
	if ml.Source != upstream.SourceUpstream || byName["getThing"].Name == "" {
		t.Fatalf("/methods %+v", ml)
	}
	if status, _, body := post(t, tg.url+"/rpc/getThing", `{"n":21}`); status != http.StatusOK || body != `{"thing":42}` {
		t.Fatalf("a forwarded call: %d %s", status, body)
	}
	if status, _, _ := post(t, tg.url+"/rpc/getThing", `{"n":"x"}`); status != http.StatusBadRequest {
		t.Fatalf("bad type: %d", status)
	}
	if status, _, _ := post(t, tg.url+"/rpc/nope", `{}`); status != http.StatusNotFound {
		t.Fatalf("unknown: %d", status)
	}
	if n := forwarded.Load(); n != 1 {
		t.Fatalf("%d ForwardMessage, want 1", n)
	}
	// A period stream is polled through ForwardMessage too.
	s := openSSE(t, tg.url+"/rpc/getThing/stream?n=1&period=1", "")
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("period stream: %d", s.resp.StatusCode)
	}
	if ev := s.next(3 * time.Second); ev.Data != `{"thing":2}` {
		t.Fatalf("event %+v", ev)
	}
	// An event stream too: no module connection can carry its pushes.
	e := openSSE(t, tg.url+"/rpc/getThing/stream?n=2", "")
	if e.resp.StatusCode != http.StatusOK || e.resp.Header.Get(streams.HeaderSubscription) != "polled" {
		t.Fatalf("event stream: %d %v", e.resp.StatusCode, e.resp.Header)
	}
	if ev := e.next(3 * time.Second); ev.Data != `{"thing":4}` {
		t.Fatalf("event %+v", ev)
	}
}
