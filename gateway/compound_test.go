package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway/compoundhttp"
)

// deleteWith sends a DELETE and returns the status.
func deleteWith(t *testing.T, url string, header map[string]string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCompoundMethods(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	admin := bearer(ta.admin)
	acct := tg.node.GenesisAccounts()[0]
	def := `{"name":"walletInfo","description":"balance and nonce","methods":[
		{"method":"getBalance","params":{"chainId":"chain","assetChainId":"chain","assetId":"asset","address":"address"}},
		{"method":"getNonce","params":{"chainId":"chain","assetChainId":"chain","assetId":"asset","address":"address"}},
		{"method":"latestHeight","params":{"chainId":"chain"}}]}`
	status, h, body := postWith(t, tg.url+"/compound-methods", def, admin)
	if status != http.StatusCreated || h.Get("Location") != "/compound-methods/walletInfo" {
		t.Fatalf("create: %d %v %s", status, h, body)
	}
	status, _, body = post(t, tg.url+"/rpc/walletInfo", `{"chain":2,"asset":1,"address":"`+acct.Address+`"}`)
	if status != http.StatusOK {
		t.Fatalf("call: %d %s", status, body)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 3 || !strings.HasPrefix(body, `{"getBalance":`) {
		t.Fatalf("result %s: want the children's results in order", body)
	}
	if !strings.Contains(string(got["getBalance"]), "100000000000000") || string(got["latestHeight"]) != `{"value":0}` {
		t.Fatalf("result %s", body)
	}
	// A child failure fails the whole, with the child's NULS error.
	status, _, body = post(t, tg.url+"/rpc/walletInfo", `{"chain":2,"asset":1,"address":"nonsense"}`)
	if p := problemOf(t, body); status != http.StatusUnprocessableEntity || p.ResponseErrorCode == "" {
		t.Fatalf("child failure: %d %s", status, body)
	}
	// Listed in /methods, typed by the child parameters, and in OpenAPI.
	_, methods := get(t, tg.url+"/methods")
	if !strings.Contains(methods, `"name":"walletInfo"`) || !strings.Contains(methods, `"compound":true`) {
		t.Fatalf("methods: %s", methods)
	}
	_, doc := get(t, tg.url+"/openapi.json")
	if !strings.Contains(doc, `"/rpc/walletInfo"`) {
		t.Error("compound method missing from the OpenAPI document")
	}
	_, list := get(t, tg.url+"/compound-methods")
	if !strings.Contains(list, `"walletInfo"`) {
		t.Fatalf("list: %s", list)
	}

	tests := []struct {
		name, body string
		status     int
	}{
		{"name taken", def, http.StatusConflict},
		{"upstream name", `{"name":"getBalance","methods":[{"method":"latestHeight"}]}`, http.StatusConflict},
		{"unknown child", `{"name":"x1","methods":[{"method":"nope"}]}`, http.StatusNotFound},
		{"no children", `{"name":"x2","methods":[]}`, http.StatusBadRequest},
		{"alias of two types in a child", `{"name":"x3","methods":[{"method":"getBalance","params":{"chainId":"a","address":"a"}}]}`, http.StatusBadRequest},
		{"alias of two types", `{"name":"x4","methods":[{"method":"getBalance","params":{"address":"a"}},{"method":"latestHeight","params":{"chainId":"a"}}]}`, http.StatusBadRequest},
		{"bad name", `{"name":"bad name","methods":[{"method":"latestHeight"}]}`, http.StatusBadRequest},
		{"unknown field", `{"name":"x5","methods":[],"extra":1}`, http.StatusBadRequest},
		{"not JSON", `{`, http.StatusBadRequest},
		{"trailing data", `{"name":"x6","methods":[{"method":"latestHeight"}]} {"more":1}`, http.StatusBadRequest},
		{"protocol command child", `{"name":"x7","methods":[{"method":"RegisterAPI"}]}`, http.StatusNotFound},
		{"protocol command name", `{"name":"ListAPI","methods":[{"method":"latestHeight"}]}`, http.StatusBadRequest},
		{"kernel command child", `{"name":"x8","methods":[{"method":"terminate"}]}`, http.StatusBadRequest},
		{"too many children", `{"name":"x9","methods":[` + strings.TrimSuffix(strings.Repeat(`{"method":"latestHeight"},`, compound.MaxChildren+1), ",") + `]}`, http.StatusBadRequest},
		{"too large", `{"name":"x10","description":"` + strings.Repeat("x", compound.MaxBytes) + `","methods":[{"method":"latestHeight"}]}`, http.StatusRequestEntityTooLarge},
		{"long description", `{"name":"x11","description":"` + strings.Repeat("é", 1024+1) + `","methods":[{"method":"latestHeight"}]}`, http.StatusBadRequest},
		{"bad alias", `{"name":"x12","methods":[{"method":"latestHeight","params":{"chainId":"a b"}}]}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _, body := postWith(t, tg.url+"/compound-methods", tt.body, admin); status != tt.status {
				t.Fatalf("%d %s, want %d", status, body, tt.status)
			}
		})
	}

	if status := deleteWith(t, tg.url+"/compound-methods/walletInfo", nil); status != http.StatusUnauthorized {
		t.Fatalf("anonymous delete: %d, want 401", status)
	}
	if status := deleteWith(t, tg.url+"/compound-methods/walletInfo", bearer(ta.public)); status != http.StatusForbidden {
		t.Fatalf("delete without the admin scope: %d, want 403", status)
	}
	if status := deleteWith(t, tg.url+"/compound-methods/walletInfo", admin); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	if status, _, _ := post(t, tg.url+"/rpc/walletInfo", `{}`); status != http.StatusNotFound {
		t.Fatalf("deleted method: %d", status)
	}
	if status := deleteWith(t, tg.url+"/compound-methods/walletInfo", admin); status != http.StatusNotFound {
		t.Fatalf("delete again: %d", status)
	}
}

// TestCompoundMethodsNeedAdmin is hole 4 of the security review: anybody
// could define compound methods (announced to the Manager, kept by every
// instance, described in every OpenAPI document) and fill the memory with
// them. Now only the admin scope can, within bounds.
// TestCompoundPassesUnaliasedParameters is the compound example of docs/api.md: only the
// address is aliased, and the children's other declared parameters reach
// them under their own names. The compound method declares them too, so
// that a caller sending them is not refused.
func TestCompoundPassesUnaliasedParameters(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	acct := tg.node.GenesisAccounts()[0]
	def := `{"name":"walletInfo","methods":[{"method":"getBalance","params":{"address":"addr"}},{"method":"latestHeight"}]}`
	if status, _, body := postWith(t, tg.url+"/compound-methods", def, bearer(ta.admin)); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	status, _, body := post(t, tg.url+"/rpc/walletInfo", `{"addr":"`+acct.Address+`","chainId":2,"assetChainId":2,"assetId":1}`)
	if status != http.StatusOK || !strings.Contains(body, "100000000000000") || !strings.Contains(body, `"latestHeight":{"value":`) {
		t.Fatalf("call: %d %s", status, body)
	}
	// A parameter neither aliased nor declared by a child is still refused.
	status, _, body = post(t, tg.url+"/rpc/walletInfo", `{"addr":"`+acct.Address+`","chainId":2,"assetChainId":2,"assetId":1,"extra":1}`)
	if status != http.StatusBadRequest {
		t.Fatalf("undeclared parameter: %d %s, want 400", status, body)
	}
	_, methods := get(t, tg.url+"/methods")
	for _, p := range []string{"addr", "chainId", "assetChainId", "assetId"} {
		if !strings.Contains(methods, `"name":"`+p+`"`) {
			t.Errorf("/methods does not list walletInfo's parameter %s: %.300s", p, methods)
		}
	}
}

func TestCompoundMethodsNeedAdmin(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta, MaxCompounds: 3}})
	def := func(i int) string {
		return fmt.Sprintf(`{"name":"c%d","methods":[{"method":"latestHeight","params":{"chainId":"chain"}}]}`, i)
	}
	status, h, body := post(t, tg.url+"/compound-methods", def(0))
	if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), `Bearer realm="nuls-gateway"`) {
		t.Fatalf("anonymous create: %d %v %s, want 401 with a challenge", status, h, body)
	}
	if p := problemOf(t, body); p.Status != 401 || h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("not a problem document: %s", body)
	}
	status, h, _ = postWith(t, tg.url+"/compound-methods", def(0), bearer(ta.public))
	if status != http.StatusForbidden || !strings.Contains(h.Get("WWW-Authenticate"), `error="insufficient_scope", scope="admin"`) {
		t.Fatalf("create without the admin scope: %d %v, want 403 insufficient_scope", status, h)
	}
	for i := range 3 {
		if status, _, body := postWith(t, tg.url+"/compound-methods", def(i), bearer(ta.admin)); status != http.StatusCreated {
			t.Fatalf("create %d: %d %s", i, status, body)
		}
	}
	if status, _, body := postWith(t, tg.url+"/compound-methods", def(3), bearer(ta.admin)); status != http.StatusConflict {
		t.Fatalf("beyond --max-compound-methods: %d %s, want 409", status, body)
	}
	// A declared Content-Length of a terabyte is refused at once.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, tg.url+"/compound-methods", strings.NewReader(def(9)))
	req.Header.Set("Authorization", "Bearer "+ta.admin)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = 1 << 40
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("a terabyte declared: %d, want 413", resp.StatusCode)
		}
	}
	// The compound methods are callable by anybody with their scope: they
	// are public here, as their children.
	if status, _, body := post(t, tg.url+"/rpc/c0", `{"chain":2}`); status != http.StatusOK {
		t.Fatalf("anonymous call of a public compound method: %d %s", status, body)
	}
	// And an undeclared parameter is refused, as for any listed method.
	if status, _, body := post(t, tg.url+"/rpc/c0", `{"chain":2,"junk":1}`); status != http.StatusBadRequest {
		t.Fatalf("undeclared parameter: %d %s", status, body)
	}
}

// unreachableCompounds is a compound.Store whose shared state cannot be
// reached, as Redis while it is down.
type unreachableCompounds struct{}

func (unreachableCompounds) Add(context.Context, compound.Definition) error {
	return compound.ErrUnavailable
}
func (unreachableCompounds) Get(context.Context, string) (compound.Definition, bool, error) {
	return compound.Definition{}, false, compound.ErrUnavailable
}
func (unreachableCompounds) List(context.Context) ([]compound.Definition, error) {
	return nil, compound.ErrUnavailable
}
func (unreachableCompounds) Delete(context.Context, string) (bool, error) {
	return false, compound.ErrUnavailable
}

// TestCallWithoutCompoundStore: a call of an upstream method does not ask
// the compound store, so it works while the store (Redis) is unreachable;
// a name that may be a compound method gets the store's 503.
func TestCallWithoutCompoundStore(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{Compounds: unreachableCompounds{}}})
	if status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusOK || body != `{"value":0}` {
		t.Fatalf("upstream method: %d %s, want 200", status, body)
	}
	if status, _, body := post(t, tg.url+"/rpc/walletInfo", `{}`); status != http.StatusServiceUnavailable {
		t.Fatalf("maybe a compound method: %d %s, want 503", status, body)
	}
}

// watchedCompounds is a compound store that counts its lists, those made
// with a context that never ends (I/O outside Run) apart, and fails the
// first failures of them (a Redis not up yet).
type watchedCompounds struct {
	compound.Store
	failures         atomic.Int64
	lists, unbounded atomic.Int64
}

func (w *watchedCompounds) List(ctx context.Context) ([]compound.Definition, error) {
	w.lists.Add(1)
	if ctx.Done() == nil {
		w.unbounded.Add(1)
	}
	if w.failures.Add(-1) >= 0 {
		return nil, fmt.Errorf("%w: not up yet", compound.ErrUnavailable)
	}
	return w.Store.List(ctx)
}

// TestCompoundsRestoredByRun: New does no I/O; Run announces the compound
// methods the store holds (another instance's, a previous process's) on
// the gateway's module, with its own context, and, when the store does not
// answer yet, once it does.
func TestCompoundsRestoredByRun(t *testing.T) {
	t.Parallel()
	for _, failures := range []int64{0, 1} {
		t.Run(fmt.Sprintf("%d failures", failures), func(t *testing.T) {
			t.Parallel()
			store := &watchedCompounds{Store: compound.NewMemoryStore()}
			store.failures.Store(failures)
			if err := store.Add(t.Context(), compound.Definition{Name: "storedHeight",
				Methods: []compound.Child{{Method: "latestHeight", Params: map[string]string{"chainId": "chain"}}}}); err != nil {
				t.Fatal(err)
			}
			node := startNode(t, devnode.Config{})
			tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), manager: true, cfg: Config{Compounds: store}})
			// At once when the store answers, before the first sync;
			// else at the next sync, compoundhttp.SyncInterval later.
			wait := compoundhttp.SyncInterval / 2
			if failures > 0 {
				wait = compoundhttp.SyncInterval + 5*time.Second
			}
			for deadline := time.Now().Add(wait); !slices.ContainsFunc(tg.module.Methods(),
				func(mi bridge.MethodInfo) bool { return mi.MethodName == "storedHeight" }); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the stored compound method is not on the module after %v (%d lists)", wait, store.lists.Load())
				}
			}
			if n := store.unbounded.Load(); n != 0 {
				t.Errorf("%d of %d lists of the store with a context that never ends: New or Run did I/O outside Run's context", n, store.lists.Load())
			}
		})
	}
}
