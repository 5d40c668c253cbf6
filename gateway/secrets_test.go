package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// These tests are the holes of the second security review ("no secret
// leaves the node"), each over real sockets: each fails if its hole
// reopens.

// liveNode is an upstream that lists what a live NULS 2 node listed
// (protocol vectors: 242 of 257 commands public, as Java's annotations
// default), with streams of every one, and answers every one of them,
// counting what reaches it.
type liveNode struct {
	url     string
	mu      sync.Mutex
	reached map[string]int
	// answer, when set, is what a method answers instead of {"ok":true}.
	answer map[string]any
}

func startLiveNode(t *testing.T, answer map[string]any) *liveNode {
	t.Helper()
	b, err := os.ReadFile("../bridge/testdata/vectors/listapi_live_node_2020-01.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "live"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if answer == nil {
		answer = map[string]any{}
	}
	ln := &liveNode{reached: map[string]int{}, answer: answer}
	list, err := bridge.ParseMethodList(b)
	if err != nil {
		t.Fatal(err)
	}
	// And, more generous still, it offers event and period streams of
	// everything.
	listing := map[string]bridge.MethodInfo{}
	for _, mi := range list {
		mi.MethodMinEvent, mi.MethodMinPeriod = "1", "1"
		listing["Nuls."+mi.MethodName] = mi
	}
	for _, mi := range list {
		name := mi.MethodName
		if name == "ListAPI" || name == "RegisterAPI" {
			continue
		}
		if err := m.Register(bridge.Method{Name: name, Handler: func(context.Context, *bridge.Call) (any, error) {
			ln.mu.Lock()
			defer ln.mu.Unlock()
			ln.reached[name]++
			if a, ok := ln.answer[name]; ok {
				return a, nil
			}
			return map[string]bool{"ok": true}, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Register(bridge.Method{Name: "ListAPI", Handler: func(context.Context, *bridge.Call) (any, error) {
		return listing, nil
	}}); err != nil {
		t.Fatal(err)
	}
	ln.url = newWSServer(t, m)
	return ln
}

// set makes method answer a from now on.
func (ln *liveNode) set(method string, a any) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	ln.answer[method] = a
}

func (ln *liveNode) count(method string) int {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return ln.reached[method]
}

// keyAndPasswordCommands are what an anonymous caller reached behind the
// live listing: the wallet's keys, a transfer with a password, and the
// commands that roll the chain back or stop it.
var keyAndPasswordCommands = []string{"ac_getAllPriKey", "ac_getPriKeyByAddress", "ac_importAccountByPriKey", "ac_transfer",
	"rollbackBlock", "cs_chainRollBack", "cs_stopChain", "getCirculat", "ac_exportKeyStoreJson", "cs_getPackerInfo"}

// TestNoListingOpensASecret is hole 1: behind a listing that calls these
// commands public, an anonymous caller reached them, and a public key as
// well, on every door.
func TestNoListingOpensASecret(t *testing.T) {
	t.Parallel()
	ln := startLiveNode(t, nil)
	ta := newTestAuth(t, auth.Config{})
	// The operator exposes every scope and opens the names the catalog
	// lacks: still, a listing cannot loosen a scope.
	tg := startGateway(t, gatewayOptions{nodeURL: ln.url, cfg: Config{Auth: ta, UnlistedScope: bridge.ScopePublic,
		Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin, bridge.ScopePrivate}}})
	params := `{"chainId":1,"password":"x","address":"NULSd6Hg","priKey":"00","height":1,"blockHeader":"00","nodeId":"n","messageBody":"00"}`
	for _, m := range keyAndPasswordCommands {
		for _, who := range []map[string]string{nil, bearer(ta.public)} {
			if status, _, body := postWith(t, tg.url+"/rpc/"+m, params, who); status < 400 {
				t.Errorf("/rpc/%s %v: %d %s", m, who, status, body)
			}
			if status, _, body := postWith(t, tg.url+"/rpc", `{"latestHeight":{"chainId":1},"`+m+`":`+params+`}`, who); status < 400 {
				t.Errorf("/rpc batch with %s: %d %s", m, status, body)
			}
			if _, body := jsonRPCPost(t, tg.url, `{"jsonrpc":"2.0","id":1,"method":"`+m+`","params":`+params+`}`, who); !strings.Contains(body, `"error"`) {
				t.Errorf("/jsonrpc %s: %s", m, body)
			}
			req := `{"MessageID":"1","Timestamp":"0","TimeZone":"0","MessageType":"Request","MessageData":{"RequestAck":"0","SubscriptionEventCounter":"0","SubscriptionPeriod":"0","SubscriptionRange":"0","ResponseMaxSize":"0","RequestMethods":{"` + m + `":` + params + `}}}`
			if _, _, body := postWith(t, tg.url+"/nulstar", req, who); !strings.Contains(body, `"ResponseStatus":2`) {
				t.Errorf("/nulstar %s: %s", m, body)
			}
			s := openSSEWith(t, tg.url+"/rpc/"+m+"/stream?period=1&params="+strings.ReplaceAll(params, `"`, "%22"), who)
			if s.resp.StatusCode < 400 {
				t.Errorf("stream of %s: %d", m, s.resp.StatusCode)
			}
		}
		if n := ln.count(m); n != 0 {
			t.Errorf("%s reached the node %d times", m, n)
		}
	}
	// Nor with a domain, or in another case, which an upstream may route
	// to the same command while the names the catalog lacks are open.
	for _, m := range []string{"Nuls.ac_getAllPriKey", "AC_GETALLPRIKEY", "Nuls.Ac_Transfer", "ROLLBACKBLOCK"} {
		if status, _, body := post(t, tg.url+"/rpc/"+m, `{"chainId":1,"password":"x"}`); status < 400 {
			t.Errorf("/rpc/%s: %d %s", m, status, body)
		}
	}
	// A name only the upstream knows, opened by --unlisted-scope: its
	// parameters may not carry a secret, at any depth, but from the admin
	// scope.
	for _, params := range []string{`{"chainId":1,"password":"x"}`, `{"inputs":[{"address":"a","signPassword":"x"}]}`, `{"k":{"PriKey":"00"}}`} {
		status, _, body := postWith(t, tg.url+"/rpc/getCtx", params, bearer(ta.public))
		if status != http.StatusForbidden {
			t.Errorf("getCtx with %s: %d %s", params, status, body)
		}
	}
	if n := ln.count("getCtx"); n != 0 {
		t.Errorf("getCtx with a secret reached the node %d times", n)
	}
	// (The admin scope may send one: what refuses it then is only that
	// getCtx does not declare k.)
	if status, _, body := postWith(t, tg.url+"/rpc/getCtx", `{"k":{"PriKey":"00"}}`, bearer(ta.admin)); status != http.StatusBadRequest {
		t.Errorf("getCtx with a secret, admin: %d %s", status, body)
	}
	// A public read of the same listing still works, and the method list
	// shows none of them as public.
	if status, _, body := post(t, tg.url+"/rpc/getBalance", `{"chainId":1,"assetChainId":1,"assetId":1,"address":"NULSd6Hg"}`); status != http.StatusOK {
		t.Fatalf("getBalance: %d %s", status, body)
	}
	_, byName := methodList(t, tg.url)
	for _, m := range keyAndPasswordCommands {
		if d, ok := byName[m]; ok && d.Scope == bridge.ScopePublic {
			t.Errorf("/methods lists %s as public", m)
		}
	}
	// The admin scope reaches the secret-bearing ones: the operator's own
	// key, not a stranger.
	if status, _, body := postWith(t, tg.url+"/rpc/ac_getPriKeyByAddress", `{"chainId":1,"address":"NULSd6Hg","password":"x"}`, bearer(ta.admin)); status != http.StatusOK {
		t.Fatalf("ac_getPriKeyByAddress with the admin key: %d %s", status, body)
	}
}

// TestSecretAnswersNeedTheAdminScope is hole 2: with the catalog as the
// source, the reads that answer the packing password or the wallet's
// encrypted keys were public by their names.
func TestSecretAnswersNeedTheAdminScope(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{Mode: devnode.ModeJava}) // lists nothing: the catalog describes it
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), noWait: true,
		cfg: Config{Catalog: catalog.NULS2(), Auth: ta, Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin}, UnlistedScope: bridge.ScopePublic}})
	waitReadyz(t, tg.url)
	// The names the catalog lacks are open, but a domain or another case
	// does not make a command one of them: a credential is asked for (401),
	// rather than the call going to the node as an unlisted name.
	for _, m := range []string{"AC_GETACCOUNTLIST", "Nuls.ac_getAccountList", "Nuls.CS_GETPACKERINFO"} {
		if status, _, body := post(t, tg.url+"/rpc/"+m, `{"chainId":2}`); status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", m, status, body)
		}
	}
	addr := node.GenesisAccounts()[0].Address
	reads := map[string]string{
		"cs_getPackerInfo": `{"chainId":2}`, "cs_getSeedNodeInfo": `{"chainId":2}`, "cs_getConsensusConfig": `{"chainId":2}`,
		"ac_getAccountList": `{"chainId":2}`, "ac_getAccountByAddress": `{"chainId":2,"address":"` + addr + `"}`,
	}
	for m, params := range reads {
		for _, who := range []map[string]string{nil, bearer(ta.public)} {
			status, _, body := postWith(t, tg.url+"/rpc/"+m, params, who)
			if status < 400 || strings.Contains(body, devnode.GenesisPassword) || strings.Contains(body, "encryptedPrikeyHex") {
				t.Errorf("%s %v: %d %s", m, who, status, body)
			}
		}
		status, _, body := postWith(t, tg.url+"/rpc/"+m, params, bearer(ta.admin))
		if status != http.StatusOK {
			t.Errorf("%s with the admin key: %d %s", m, status, body)
		}
	}
	// The method list says so.
	_, byName := methodList(t, tg.url)
	for m := range reads {
		if byName[m].Scope != bridge.ScopeAdmin {
			t.Errorf("/methods: %s is %q, want admin", m, byName[m].Scope)
		}
	}
}

// TestNulsAPIInfoHasNoPassword is hole 3: the nuls-api profile's info
// copied the consensus configuration minus two fields, so the packing
// password went out with it.
func TestNulsAPIInfoHasNoPassword(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{ChainID: 2}})
	for _, body := range []string{`{"jsonrpc":"2.0","method":"info","params":[],"id":1}`, `{"jsonrpc":"2.0","method":"info","params":[2],"id":1}`} {
		_, _, answer := post(t, tg.url+"/nuls-api/jsonrpc", body)
		if strings.Contains(answer, "password") || strings.Contains(answer, devnode.GenesisPassword) || !strings.Contains(answer, `"agentChainId":2`) {
			t.Fatalf("info: %s", answer)
		}
		var a struct{ Result map[string]any }
		if err := json.Unmarshal([]byte(answer), &a); err != nil {
			t.Fatal(err)
		}
		for k := range a.Result {
			switch k {
			case "chainId", "assetId", "inflationAmount", "agentChainId", "agentAssetId", "addressPrefix", "symbol", "commissionMin":
			default:
				t.Errorf("info passes on %s", k)
			}
		}
	}
	// The command itself is not public.
	if status, _, body := post(t, tg.url+"/rpc/cs_getConsensusConfig", `{"chainId":2}`); status < 400 {
		t.Fatalf("cs_getConsensusConfig: %d %s", status, body)
	}
}

// TestLastLineOnTheWayOut: when an upstream answers a secret from a
// method the policy let through (a module of another version, a lying
// one), the answer is withheld from callers without the admin scope on
// every door, and counted; the admin scope reads it.
func TestLastLineOnTheWayOut(t *testing.T) {
	t.Parallel()
	leak := map[string]any{"total": 1, "password": "nuls123456"}
	ln := startLiveNode(t, map[string]any{"getBalance": leak, "latestHeight": map[string]any{"value": 1, "priKey": "00"}})
	ta := newTestAuth(t, auth.Config{})
	reg := prometheus.NewRegistry()
	tg := startGateway(t, gatewayOptions{nodeURL: ln.url, cfg: Config{Auth: ta, Registry: reg}})
	params := `{"chainId":1,"assetChainId":1,"assetId":1,"address":"NULSd6Hg"}`
	status, _, body := post(t, tg.url+"/rpc/getBalance", params)
	if status != http.StatusForbidden || strings.Contains(body, "nuls123456") {
		t.Fatalf("/rpc: %d %s", status, body)
	}
	if status, _, body := post(t, tg.url+"/rpc", `{"getBalance":`+params+`}`); status != http.StatusForbidden || strings.Contains(body, "nuls123456") {
		t.Fatalf("/rpc batch: %d %s", status, body)
	}
	if _, body := jsonRPCPost(t, tg.url, `{"jsonrpc":"2.0","id":1,"method":"getBalance","params":`+params+`}`, nil); strings.Contains(body, "nuls123456") || !strings.Contains(body, `"error"`) {
		t.Fatalf("/jsonrpc: %s", body)
	}
	req := `{"MessageID":"1","Timestamp":"0","TimeZone":"0","MessageType":"Request","MessageData":{"RequestAck":"0","SubscriptionEventCounter":"0","SubscriptionPeriod":"0","SubscriptionRange":"0","ResponseMaxSize":"0","RequestMethods":{"getBalance":` + params + `}}}`
	if _, _, body := post(t, tg.url+"/nulstar", req); strings.Contains(body, "nuls123456") {
		t.Fatalf("/nulstar: %s", body)
	}
	_, h, _ := postWith(t, tg.url+"/rpc/getBalance", params, map[string]string{"Prefer": "respond-async"})
	if status, body := awaitRequest(t, tg.url+h.Get("Location")); status != http.StatusForbidden || strings.Contains(body, "nuls123456") {
		t.Fatalf("async: %d %s", status, body)
	}
	// A stream never carries one, whoever reads it: its event is an
	// error, and the stream ends.
	// (Its first answer is awaited before the stream is answered: so the
	// stream is refused.)
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=1&period=1", "")
	if s.resp.StatusCode != http.StatusForbidden {
		t.Fatalf("stream: %d", s.resp.StatusCode)
	}
	if b, _ := io.ReadAll(s.resp.Body); strings.Contains(string(b), "priKey\":") || strings.Contains(string(b), `"00"`) {
		t.Fatalf("the refusal carried the secret: %s", b)
	}
	// A stream whose answers start clean ends at the first that is not.
	s = openSSE(t, tg.url+"/rpc/getBalanceNonce/stream?period=1&params="+strings.ReplaceAll(params, `"`, "%22"), "")
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("getBalanceNonce stream: %d", s.resp.StatusCode)
	}
	s.next(3 * time.Second)
	ln.set("getBalanceNonce", leak)
	var last sseEvent
	for ev := range s.events {
		if strings.Contains(ev.Data, "nuls123456") {
			t.Fatalf("the stream carried %+v", ev)
		}
		last = ev
	}
	if last.Type != "end" && last.Type != "upstream-error" {
		t.Fatalf("the stream ended with %+v", last)
	}
	if got := metric(t, tg, "nuls_gateway_secret_answers_withheld_total"); got < 5 {
		t.Errorf("secret answers withheld: %v, want at least 5", got)
	}
	// The admin scope may read secrets.
	tgAdmin := startGateway(t, gatewayOptions{nodeURL: ln.url, cfg: Config{Auth: ta}})
	if status, _, body := postWith(t, tgAdmin.url+"/rpc/getBalance", params, bearer(ta.admin)); status != http.StatusOK || !strings.Contains(body, "nuls123456") {
		t.Fatalf("admin: %d %s", status, body)
	}
}

// TestStreamsCannotWrite is hole 4: period streams were offered for
// writes (tx_newTx, tx_broadcast), a cross-chain message handler and
// contract validation; a 3-second stream of tx_broadcast broadcast 14
// times. Event streams too, pushed or not: a Java module runs the command
// once when a subscription opens. And hole 5: an unbounded range of
// headers was one call.
func TestStreamsCannotWrite(t *testing.T) {
	t.Parallel()
	ln := startLiveNode(t, nil)
	for _, events := range []time.Duration{0, 50 * time.Millisecond} {
		tg := startGateway(t, gatewayOptions{nodeURL: ln.url, cfg: Config{EventPollInterval: events},
			feeds: func(up upstream.Upstream) subscriptions.Source { return feeds(up, events) }})
		for _, m := range []string{"tx_newTx", "tx_broadcast", "getCirculat", "sc_validate_call", "sc_invoke_view", "getBlockByHeight", "getBlockHeadersByHeightRange"} {
			for _, mode := range []string{"period=1", "eventCounter=1"} {
				s := openSSE(t, tg.url+"/rpc/"+m+"/stream?"+mode+"&chainId=1", "")
				if s.resp.StatusCode < 400 {
					t.Errorf("%s stream (%s, polled events %v): %d", m, mode, events, s.resp.StatusCode)
				}
			}
		}
		// A read the gateway may poll still streams.
		s := openSSE(t, tg.url+"/rpc/latestHeight/stream?period=1&chainId=1", "")
		if s.resp.StatusCode != http.StatusOK {
			t.Fatalf("latestHeight period stream: %d", s.resp.StatusCode)
		}
		s.next(3 * time.Second)
	}
	for _, m := range []string{"tx_newTx", "tx_broadcast", "getCirculat", "sc_validate_call"} {
		if n := ln.count(m); n != 0 {
			t.Errorf("%s reached the node %d times through streams", m, n)
		}
	}

	tg := startGateway(t, gatewayOptions{nodeURL: ln.url})
	huge := `{"chainId":1,"begin":0,"end":99999999}`
	if status, _, body := post(t, tg.url+"/rpc/getBlockHeadersByHeightRange", huge); status != http.StatusBadRequest || !strings.Contains(body, "at most 100") {
		t.Fatalf("an unbounded range: %d %s", status, body)
	}
	if _, body := jsonRPCPost(t, tg.url, `{"jsonrpc":"2.0","id":1,"method":"getBlockHeadersByHeightRange","params":`+huge+`}`, nil); !strings.Contains(body, "-32602") {
		t.Fatalf("an unbounded range over JSON-RPC: %s", body)
	}
	if n := ln.count("getBlockHeadersByHeightRange"); n != 0 {
		t.Fatalf("the unbounded range reached the node %d times", n)
	}
	if status, _, body := post(t, tg.url+"/rpc/getBlockHeadersByHeightRange", `{"chainId":1,"begin":0,"end":99}`); status != http.StatusOK {
		t.Fatalf("a bounded range: %d %s", status, body)
	}
	// Nor is the cross-chain message handler callable at all.
	if status, _, body := post(t, tg.url+"/rpc/getCirculat", `{"chainId":1,"nodeId":"n","messageBody":"00"}`); status != http.StatusNotFound {
		t.Fatalf("getCirculat: %d %s", status, body)
	}
}

// TestForwardedMethodsArePaid is hole 6: a JSON-RPC batch of 100 methods
// forwarded to public-service cost one rate unit, large forwarded answers
// grew the gateway without bound, and forwarded methods ignored
// --anonymous-methods and a key's method allow-list.
func TestForwardedMethodsArePaid(t *testing.T) {
	t.Parallel()
	var forwarded atomic.Int64
	big := strings.Repeat("x", 1<<20)
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forwarded.Add(1)
		var q struct {
			Method string          `json:"method"`
			ID     json.RawMessage `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&q)
		result := `{"ok":true}`
		if q.Method == "getAccountList" {
			result = `"` + big + `"`
		}
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, q.ID, result)
	}))
	t.Cleanup(ps.Close)

	ta := newTestAuth(t, auth.Config{Anonymous: auth.AnonymousPolicy{Scopes: []string{bridge.ScopePublic}, Methods: []string{"latestHeight", "getChainInfo"}}})
	narrow := ta.addKey(t, auth.KeyRecord{Name: "narrow", Scopes: []string{bridge.ScopePublic}, Methods: []string{"getChainInfo"}})
	cfg := limitedConfig(ta, ratelimit.NewLocal())
	cfg.PublicServiceURL = ps.URL
	cfg.MaxBatchAnswerBytes = 4 << 20
	tg := startGateway(t, gatewayOptions{cfg: cfg})
	call := func(method string) string { return `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":[2]}` }

	// The allow-lists hold for forwarded methods: sendCrossTx is in
	// neither.
	for _, who := range []map[string]string{from("10.0.0.1", nil), from("10.0.0.2", bearer(narrow))} {
		_, _, body := postWith(t, tg.url+"/nuls-api/jsonrpc", call("sendCrossTx"), who)
		if !strings.Contains(body, `"error"`) {
			t.Fatalf("sendCrossTx outside the allow-list: %s", body)
		}
		_, _, body = postWith(t, tg.url+"/nuls-api/jsonrpc", call("getChainInfo"), who)
		if strings.Contains(body, `"error"`) {
			t.Fatalf("getChainInfo inside the allow-list: %s", body)
		}
	}
	if n := forwarded.Load(); n != 2 {
		t.Fatalf("%d calls forwarded, want 2 (the allowed ones)", n)
	}

	// A batch costs each forwarded method: 100 of them are beyond an
	// anonymous address's 5 units.
	var batch []string
	for range 100 {
		batch = append(batch, call("getChainInfo"))
	}
	status, _, body := postWith(t, tg.url+"/nuls-api/jsonrpc", "["+strings.Join(batch, ",")+"]", from("10.0.0.3", nil))
	if status != http.StatusTooManyRequests {
		t.Fatalf("a batch of 100 forwarded calls: %d %.200s", status, body)
	}
	if n := forwarded.Load(); n != 2 {
		t.Fatalf("the refused batch forwarded %d calls", n-2)
	}

	// A batch's answers are bounded together: 4 MiB here, and each answer
	// is 1 MiB.
	admin := ta.addKey(t, auth.KeyRecord{Name: "big", Scopes: []string{bridge.ScopePublic}, Plan: "unlimited"})
	cfg.Plans = map[string]ratelimit.Plan{"anonymous": testPlans["anonymous"], "default": testPlans["default"], "unlimited": {Name: "unlimited"}}
	tgBig := startGateway(t, gatewayOptions{cfg: cfg})
	batch = batch[:0]
	for range 20 {
		batch = append(batch, `{"jsonrpc":"2.0","id":1,"method":"getAccountList","params":[2]}`)
	}
	_, _, body = postWith(t, tgBig.url+"/nuls-api/jsonrpc", "["+strings.Join(batch, ",")+"]", bearer(admin))
	var answers []struct {
		Result json.RawMessage
		Error  *struct{ Code string }
	}
	if err := json.Unmarshal([]byte(body), &answers); err != nil || len(answers) != 20 {
		t.Fatalf("%v %.300s", err, body)
	}
	ok, refused := 0, 0
	for _, a := range answers {
		switch {
		case a.Error != nil && a.Error.Code == "-32008":
			refused++
		case a.Error == nil:
			ok++
		}
	}
	if ok > 4 || refused < 16 || len(body) > 5<<20 {
		t.Fatalf("%d answered, %d refused, %d bytes: the batch's answers are not bounded", ok, refused, len(body))
	}
}
