package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/gateway/documents"
	"github.com/nuls-gateway/nuls-gateway/gateway/streams"
	"github.com/nuls-gateway/nuls-gateway/openapi"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// waitReadyz waits for /readyz to answer 200: the upstream connected and
// asked for its methods.
func waitReadyz(t *testing.T, url string) {
	t.Helper()
	waitFor(t, "ready", func() bool { status, _ := get(t, url+"/readyz"); return status == http.StatusOK })
}

// methodList reads GET /methods.
func methodList(t *testing.T, url string) (documents.MethodList, map[string]openapi.Method) {
	t.Helper()
	status, body := get(t, url+"/methods")
	var ml documents.MethodList
	if status != http.StatusOK || json.Unmarshal([]byte(body), &ml) != nil {
		t.Fatalf("/methods: %d %s", status, body)
	}
	byName := map[string]openapi.Method{}
	for _, m := range ml.Methods {
		byName[m.Name] = m
	}
	return ml, byName
}

// TestCatalogWhenUpstreamListsNothing: in front of a module that answers no
// ListAPI (as a real Java module), the catalog of the NULS 2 commands
// describes it: the public reads are callable and listed, with their
// parameters checked by type; the modules' internal commands and those
// taking a password are not public; names the catalog lacks are unlisted.
func TestCatalogWhenUpstreamListsNothing(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: node.ModuleURLs()["account"], noWait: true,
		cfg: Config{Catalog: catalog.NULS2(), Auth: ta, Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin}}})
	waitReadyz(t, tg.url)

	ml, byName := methodList(t, tg.url)
	if ml.Source != upstream.SourceCatalog || ml.Discovered {
		t.Fatalf("/methods source %q discovered %v, want the catalog", ml.Source, ml.Discovered)
	}
	// The account module's reads answer the wallet's encrypted keys:
	// admin, whatever the Java annotation says.
	acct, ok := byName["ac_getAccountByAddress"]
	if !ok || acct.Scope != bridge.ScopeAdmin || acct.Module != "account" || len(acct.Parameters) != 2 || !acct.Parameters[0].Required {
		t.Fatalf("ac_getAccountByAddress %+v", acct)
	}
	if tr := byName["ac_transfer"]; tr.Scope != bridge.ScopeAdmin {
		t.Errorf("ac_transfer (inputs with passwords) scope %q, want admin", tr.Scope)
	}
	for _, internal := range []string{"newBlockHeight", "commitTx", "rollbackTx"} {
		if _, listed := byName[internal]; listed {
			t.Errorf("%s, a command only modules call, is listed", internal)
		}
	}

	addr := node.GenesisAccounts()[0].Address
	admin := bearer(ta.admin)
	if status, _, body := post(t, tg.url+"/rpc/ac_getAccountByAddress", `{"chainId":2,"address":"`+addr+`"}`); status != http.StatusUnauthorized {
		t.Fatalf("anonymous ac_getAccountByAddress: %d %s", status, body)
	}
	if status, _, body := postWith(t, tg.url+"/rpc/ac_getAccountByAddress", `{"chainId":2,"address":"`+addr+`"}`, admin); status != http.StatusOK {
		t.Fatalf("with an admin key: %d %s", status, body)
	}
	// Types are known: a wrong one is 400 here, not the module's err_0002.
	status, _, body := postWith(t, tg.url+"/rpc/ac_getAccountByAddress", `{"chainId":"two","address":"`+addr+`"}`, admin)
	if p := problemOf(t, body); status != http.StatusBadRequest || p.ResponseErrorCode != "" || strings.Contains(p.Detail, "bridge") {
		t.Fatalf("wrong type: %d %s", status, body)
	}
	if status, _, _ := postWith(t, tg.url+"/rpc/ac_getAccountByAddress", `{"chainId":2,"address":"`+addr+`","junk":1}`, admin); status != http.StatusBadRequest {
		t.Fatalf("undeclared parameter: %d", status)
	}
	// A password method: not for anonymous callers, nor public keys.
	if status, _, _ := post(t, tg.url+"/rpc/ac_createAccount", `{"chainId":2,"count":1,"password":"nuls123456"}`); status != http.StatusUnauthorized {
		t.Fatalf("anonymous ac_createAccount: %d, want 401", status)
	}
	if status, _, _ := postWith(t, tg.url+"/rpc/ac_createAccount", `{"chainId":2,"count":1,"password":"nuls123456"}`, bearer(ta.public)); status != http.StatusForbidden {
		t.Fatalf("ac_createAccount with a public key: %d, want 403", status)
	}
	if status, _, body := postWith(t, tg.url+"/rpc/ac_createAccount", `{"chainId":2,"count":1,"password":"nuls123456"}`, bearer(ta.admin)); status != http.StatusOK {
		t.Fatalf("ac_createAccount with an admin key: %d %s", status, body)
	}
	// Internal commands and names the catalog lacks are not callable.
	for _, m := range []string{"newBlockHeight", "noSuchCommand", "confSet"} {
		if status, _, _ := postWith(t, tg.url+"/rpc/"+m, `{}`, bearer(ta.admin)); status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", m, status)
		}
	}
}

// TestCatalogEventsOnAListing: a listing wins over the catalog, which adds
// what the listing cannot say: the block module raises latestHeight's
// events although Java declares MethodMinEvent 0; required parameters and
// result types reach /methods and the OpenAPI document.
func TestCatalogEventsOnAListing(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	blockURL := node.ModuleURLs()["block"]
	// The block module lists nothing: from the catalog, latestHeight is
	// streamable by events and by periods.
	tg := startGateway(t, gatewayOptions{nodeURL: blockURL, noWait: true, cfg: Config{Catalog: catalog.NULS2()}})
	waitReadyz(t, tg.url)
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	if got := height(t, s.next(3*time.Second)); got != 0 {
		t.Fatalf("first %d", got)
	}
	node.ProduceBlock()
	if got := height(t, s.next(3*time.Second)); got != 1 {
		t.Fatalf("push %d", got)
	}
	if p := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2&period=1", ""); p.resp.StatusCode != http.StatusOK {
		t.Fatalf("period stream: %d", p.resp.StatusCode)
	}

	listed := startGateway(t, gatewayOptions{nodeURL: node.URL(), cfg: Config{Catalog: catalog.NULS2()}})
	ml, byName := methodList(t, listed.url)
	if ml.Source != upstream.SourceUpstream || !ml.Discovered {
		t.Fatalf("source %q", ml.Source)
	}
	gb := byName["getBalance"]
	if gb.Result == nil || gb.Result.Fields["total"] == nil || len(gb.Parameters) != 4 || !gb.Parameters[3].Required {
		t.Fatalf("getBalance %+v", gb)
	}
	_, doc := get(t, listed.url+"/openapi.json")
	var oa struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct{ Required []string }
				}
			}
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Properties map[string]struct{ Type string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(doc), &oa); err != nil {
		t.Fatal(err)
	}
	op := oa.Paths["/rpc/getBalance"]["post"]
	if req := op.RequestBody.Content["application/json"].Schema.Required; strings.Join(req, ",") != "chainId,assetChainId,assetId,address" {
		t.Errorf("getBalance required %v", req)
	}
	// An amount: a string of digits, which no generated client rounds.
	if typ := op.Responses["200"].Content["application/json"].Schema.Properties["total"].Type; typ != "string" {
		t.Errorf("getBalance 200 total: type %q, want string", typ)
	}
}

// TestMethodsFile: a custom module's methods, in the RegisterAPI format,
// describe it when it lists nothing, with the scopes it declares; but a
// file that names a NULS 2 command answering secrets does not open it.
func TestMethodsFile(t *testing.T) {
	t.Parallel()
	pol, custom := customMethods(t, `{"Methods":[{"MethodName":"getBalance","MethodScope":"public",
		"Parameters":[{"ParameterName":"chainId","ParameterType":"int","ParameterValidRange":"[1-65535]"},
		{"ParameterName":"assetChainId","ParameterType":"int"},{"ParameterName":"assetId","ParameterType":"int"},
		{"ParameterName":"address","ParameterType":"String"}]},
		{"MethodName":"ac_getAccountList","MethodScope":"public","Parameters":[{"ParameterName":"chainId","ParameterType":"int"}]}]}`, policy.Config{})
	node := startNode(t, devnode.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: node.ModuleURLs()["ledger"], noWait: true, cfg: Config{Catalog: custom, Policy: pol}})
	waitReadyz(t, tg.url)
	addr := node.GenesisAccounts()[0].Address
	if status, _, body := post(t, tg.url+"/rpc/getBalance", `{"chainId":2,"assetChainId":2,"assetId":1,"address":"`+addr+`"}`); status != http.StatusOK {
		t.Fatalf("a method of the file: %d %s", status, body)
	}
	if status, _, _ := post(t, tg.url+"/rpc/getBalance", `{"chainId":70000,"assetChainId":2,"assetId":1,"address":"`+addr+`"}`); status != http.StatusBadRequest {
		t.Fatalf("out of the file's range: %d", status)
	}
	if status, _, body := post(t, tg.url+"/rpc/ac_getAccountList", `{"chainId":2}`); status != http.StatusNotFound {
		t.Fatalf("ac_getAccountList, public in the file, answers encrypted keys: %d %s, want 404 (admin)", status, body)
	}
}

// TestInFrontOfAJavaLikeNode: the devnode playing a Java node (no ListAPI)
// is described by the catalog: calls, bad types (400), event and period
// streams behave as in front of the simulated node.
func TestInFrontOfAJavaLikeNode(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{Mode: devnode.ModeJava})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), noWait: true, cfg: Config{Catalog: catalog.NULS2()}})
	waitReadyz(t, tg.url)
	if ml, _ := methodList(t, tg.url); ml.Source != upstream.SourceCatalog {
		t.Fatalf("source %q", ml.Source)
	}
	addr := node.GenesisAccounts()[0].Address
	if status, _, body := post(t, tg.url+"/rpc/getBalance", `{"chainId":2,"assetChainId":2,"assetId":1,"address":"`+addr+`"}`); status != http.StatusOK {
		t.Fatalf("getBalance: %d %s", status, body)
	}
	if status, _, body := post(t, tg.url+"/rpc/getBlockHeaderByHeight", `{"chainId":2,"height":"one"}`); status != http.StatusBadRequest {
		t.Fatalf("bad type: %d %s", status, body)
	}
	if status, _, body := post(t, tg.url+"/rpc", `{"latestHeight":{"chainId":2},"info":{"chainId":2}}`); status != http.StatusOK {
		t.Fatalf("two methods: %d %s", status, body)
	}
	if status, _, _ := post(t, tg.url+"/rpc/noSuchMethod", `{}`); status != http.StatusNotFound {
		t.Fatalf("unknown method: %d", status)
	}
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	h0 := height(t, s.next(3*time.Second))
	node.ProduceBlock()
	if h1 := height(t, s.next(3*time.Second)); h1 != h0+1 {
		t.Fatalf("event stream: %d after %d", h1, h0)
	}
	if u := openSSE(t, tg.url+"/rpc/noSuchMethod/stream?chainId=2", ""); u.resp.StatusCode != http.StatusNotFound {
		t.Fatalf("stream of an unknown method: %d", u.resp.StatusCode)
	}
}

// TestInFrontOfAConnectorLikeNode: the devnode playing Nulstar's Connector
// (no pushes): with --event-poll-interval, event streams still rise.
func TestInFrontOfAConnectorLikeNode(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{Mode: devnode.ModeConnector})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), cfg: Config{Catalog: catalog.NULS2(), EventPollInterval: 50 * time.Millisecond},
		feeds: func(up upstream.Upstream) subscriptions.Source {
			return feeds(up, 50*time.Millisecond)
		}})
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", "")
	if m := s.resp.Header.Get(streams.HeaderSubscription); m != "polled" {
		t.Errorf("%s %q", streams.HeaderSubscription, m)
	}
	h0 := height(t, s.next(3*time.Second))
	for i := int64(1); i <= 3; i++ {
		node.ProduceBlock()
		if h := height(t, s.next(3*time.Second)); h != h0+i {
			t.Fatalf("event %d: height %d, want %d", i, h, h0+i)
		}
	}
}
