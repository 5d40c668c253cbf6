package gateway

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/nulsapi"
	"github.com/nuls-gateway/nuls-gateway/nulsdata"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

// TestNulsAPIProfile replays requests as nuls-api's documentation writes
// them (params by position, chainId first) and checks what its clients
// read: the result's shape, the id as a string, string error codes, a
// batch of one as an object; and the same methods in strict mode.
func TestNulsAPIProfile(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	addr := tg.node.GenesisAccounts()[0].Address
	call := func(body, query string) (int, string) {
		t.Helper()
		status, _, b := postWith(t, tg.url+"/nuls-api/jsonrpc"+query, body, map[string]string{"Content-Type": "application/json;charset=UTF-8"})
		return status, b
	}
	status, b := call(`{"jsonrpc":"2.0","method":"getAccountBalance","params":[2,2,1,"`+addr+`"],"id":1234}`, "")
	var bal struct {
		JSONRPC, ID string
		Result      map[string]any
	}
	if err := json.Unmarshal([]byte(b), &bal); status != http.StatusOK || err != nil || bal.ID != "1234" {
		t.Fatalf("getAccountBalance: %d %v %s", status, err, b)
	}
	// The documented answer's fields, and no others.
	var keys []string
	for k := range bal.Result {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "balance,consensusLock,freeze,nonce,nonceType,timeLock,totalBalance" || bal.Result["totalBalance"] != "100000000000000" {
		t.Errorf("getAccountBalance result %v", bal.Result)
	}
	for _, tt := range []struct{ name, body, query, want string }{
		{"latest height", `{"jsonrpc":"2.0","method":"getLatestHeight","params":[2],"id":7}`, "", `{"jsonrpc":"2.0","id":"7","result":`},
		{"balance list", `{"jsonrpc":"2.0","method":"getBalanceList","params":[2,"` + addr + `",[{"chainId":2,"assetId":1}]],"id":"a"}`, "", `"result":[{"assetChainId":2,"assetId":1,"totalBalance":"100000000000000"`},
		{"batch of one", `[{"jsonrpc":"2.0","method":"getLatestHeight","params":[2],"id":1}]`, "", `{"jsonrpc":"2.0","id":"1","result":`},
		{"no id", `{"jsonrpc":"2.0","method":"getLatestHeight","params":[2]}`, "", `{"jsonrpc":"2.0","id":"null","result":`},
		{"module failure", `{"jsonrpc":"2.0","method":"getAccountBalance","params":[2,2,1,"bad"],"id":1}`, "", `"error":{"code":"lg_1014"`},
		{"missing params", `{"jsonrpc":"2.0","method":"getAccountBalance","params":[2],"id":1}`, "", `"error":{"code":"1000","message":"Parameters is wrong!"`},
		{"wallet-password method", `{"jsonrpc":"2.0","method":"createAccount","params":[2,1,"abcd1234"],"id":1}`, "", `"error":{"code":"-32601","message":"Can't find the method"}`},
		{"not JSON", `{`, "", `{"jsonrpc":"2.0","id":"0","error":{"code":"-32700"`},
		{"empty batch", `[]`, "", `[]`},
		{"strict", `{"jsonrpc":"2.0","method":"getLatestHeight","params":[2],"id":7}`, "?strict=true", `{"jsonrpc":"2.0","result":`},
		{"strict error", `{"jsonrpc":"2.0","method":"getAccountBalance","params":[2],"id":7}`, "?strict=true", `"error":{"code":-32602`},
	} {
		status, b := call(tt.body, tt.query)
		if status != http.StatusOK || !strings.Contains(b, tt.want) {
			t.Errorf("%s: %d %s, want %s", tt.name, status, b, tt.want)
		}
	}
	// Strict mode leaves notifications unanswered, and keeps ids as sent.
	if status, b := call(`[{"jsonrpc":"2.0","method":"getLatestHeight","params":[2]},{"jsonrpc":"2.0","method":"getLatestHeight","params":[2],"id":9}]`, "?strict=true"); status != http.StatusOK || !strings.HasPrefix(b, `[{"jsonrpc":"2.0","result":`) || !strings.HasSuffix(b, `"id":9}]`) {
		t.Errorf("strict batch: %d %s", status, b)
	}
	// Its own listener answers at /jsonrpc.
	status, _, b = postWith(t, newHTTPServer(t, tg.NulsAPIHandler())+"/jsonrpc", `{"jsonrpc":"2.0","method":"getLatestHeight","params":[2],"id":1}`, nil)
	if status != http.StatusOK || !strings.HasPrefix(b, `{"jsonrpc":"2.0","id":"1","result":`) {
		t.Errorf("own listener: %d %s", status, b)
	}
}

// TestNulsAPIHeaders: the block module's hex comes back decoded as
// nuls-api's BlockHeaderDto; its hash finds the same header again.
func TestNulsAPIHeaders(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	tg.node.ProduceBlock()
	call := func(body string) map[string]any {
		t.Helper()
		status, _, b := postWith(t, tg.url+"/nuls-api/jsonrpc", body, map[string]string{"Content-Type": "application/json"})
		var a struct {
			Result map[string]any
			Error  any
		}
		if err := json.Unmarshal([]byte(b), &a); status != http.StatusOK || err != nil || a.Error != nil {
			t.Fatalf("%s: %d %s", body, status, b)
		}
		return a.Result
	}
	best := call(`{"jsonrpc":"2.0","method":"getBestBlockHeader","params":[2],"id":1}`)
	for _, k := range []string{"hash", "preHash", "merkleHash", "time", "height", "txCount", "blockSignature", "size", "packingAddress",
		"roundIndex", "consensusMemberCount", "roundStartTime", "packingIndexOfRound", "mainVersion", "blockVersion", "stateRoot"} {
		if _, ok := best[k]; !ok {
			t.Errorf("getBestBlockHeader lacks %s: %v", k, best)
		}
	}
	if best["height"] != float64(1) || !strings.HasPrefix(best["packingAddress"].(string), "tNULSe") {
		t.Errorf("best header %v", best)
	}
	byHash := call(`{"jsonrpc":"2.0","method":"getHeaderByHash","params":[2,"` + best["hash"].(string) + `"],"id":2}`)
	byHeight := call(`{"jsonrpc":"2.0","method":"getHeaderByHeight","params":[2,1],"id":3}`)
	if byHash["hash"] != best["hash"] || byHeight["hash"] != best["hash"] || byHeight["merkleHash"] != best["merkleHash"] {
		t.Errorf("by hash %v, by height %v, best %v", byHash["hash"], byHeight["hash"], best["hash"])
	}
	if r := call(`{"jsonrpc":"2.0","method":"getHeaderByHeight","params":[2,99999],"id":4}`); r != nil {
		t.Errorf("a height with no block: %v, want no result", r)
	}
}

// TestNulsAPITxAndBlocks: a transfer made through the gateway is found by
// getTx (unconfirmed, then in its block), and getBestBlock,
// getBlockByHeight and getBlockByHash decode the block with it.
func TestNulsAPITxAndBlocks(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{Policy: devWallet(t)}})
	from := tg.node.GenesisAccounts()[0]
	transfer := `{"chainId":2,"remark":"hello","inputs":[{"address":"` + from.Address + `","assetsChainId":2,"assetsId":1,"amount":"100100000","password":"` + from.Password + `"}],` +
		`"outputs":[{"address":"` + from.Address + `","assetsChainId":2,"assetsId":1,"amount":"100000000"}]}`
	status, _, body := post(t, tg.url+"/rpc/ac_transfer", transfer)
	var sent struct{ Value string }
	if err := json.Unmarshal([]byte(body), &sent); status != http.StatusOK || err != nil || len(sent.Value) != 64 {
		t.Fatalf("transfer: %d %s", status, body)
	}
	getTx := func() map[string]any {
		t.Helper()
		_, _, b := postWith(t, tg.url+"/nuls-api/jsonrpc", `{"jsonrpc":"2.0","method":"getTx","params":[2,"`+sent.Value+`"],"id":1}`, map[string]string{"Content-Type": "application/json"})
		var a struct{ Result map[string]any }
		if err := json.Unmarshal([]byte(b), &a); err != nil || a.Result == nil {
			t.Fatalf("getTx: %v %s", err, b)
		}
		return a.Result
	}
	tx := getTx()
	if tx["hash"] != sent.Value || tx["type"] != float64(2) || tx["remark"] != "hello" || tx["blockHeight"] != float64(-1) || tx["status"] != float64(0) {
		t.Errorf("unconfirmed tx %v", tx)
	}
	if from, _ := tx["from"].([]any); len(from) != 1 || from[0].(map[string]any)["amount"] != "100100000" || from[0].(map[string]any)["address"] != tg.node.GenesisAccounts()[0].Address {
		t.Errorf("tx inputs %v", tx["from"])
	}
	tg.node.ProduceBlock()
	if tx := getTx(); tx["blockHeight"] != float64(1) || tx["status"] != float64(1) {
		t.Errorf("confirmed tx %v", tx)
	}
	var blocks []map[string]any
	for _, req := range []string{`"getBestBlock","params":[2]`, `"getBlockByHeight","params":[2,1]`} {
		_, _, b := postWith(t, tg.url+"/nuls-api/jsonrpc", `{"jsonrpc":"2.0","method":`+req+`,"id":1}`, map[string]string{"Content-Type": "application/json"})
		var a struct{ Result map[string]any }
		if err := json.Unmarshal([]byte(b), &a); err != nil || a.Result == nil {
			t.Fatalf("%s: %v %s", req, err, b)
		}
		blocks = append(blocks, a.Result)
	}
	hdr := blocks[0]["header"].(map[string]any)
	txs := blocks[0]["txs"].([]any)
	if hdr["height"] != float64(1) || len(txs) != 2 || txs[1].(map[string]any)["hash"] != sent.Value || txs[1].(map[string]any)["blockHash"] != hdr["hash"] {
		t.Errorf("best block: header %v, %d txs", hdr, len(txs))
	}
	if blocks[1]["header"].(map[string]any)["hash"] != hdr["hash"] {
		t.Error("getBlockByHeight is not the best block")
	}
	_, _, b := postWith(t, tg.url+"/nuls-api/jsonrpc", `{"jsonrpc":"2.0","method":"getTx","params":[2,"`+strings.Repeat("ab", 32)+`"],"id":1}`, map[string]string{"Content-Type": "application/json"})
	if !strings.Contains(b, `"error":{"code":"404","message":"Data not found!"}`) {
		t.Errorf("unknown tx: %s", b)
	}
}

// TestNulsAPIPublicService: a read method only public-service answers is
// forwarded to the configured one, its answer and its errors passed on; a
// method that steers public-service is not; without one it is refused,
// saying so.
func TestNulsAPIPublicService(t *testing.T) {
	t.Parallel()
	var got []string
	var mu sync.Mutex
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Method string
			Params json.RawMessage
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		got = append(got, req.Method+" "+string(req.Params))
		mu.Unlock()
		if req.Method == "getAccountTxs" {
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"pageNumber":1,"list":[]}}`)
			return
		}
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"error":{"code":"err_0014","message":"data not found"}}`)
	}))
	defer ps.Close()
	tg := startGateway(t, gatewayOptions{cfg: Config{PublicServiceURL: ps.URL}})
	call := func(url, body string) string {
		t.Helper()
		_, _, b := postWith(t, url+"/nuls-api/jsonrpc", body, map[string]string{"Content-Type": "application/json"})
		return b
	}
	if b := call(tg.url, `{"jsonrpc":"2.0","method":"getAccountTxs","params":[2,1,10,"tNULSe",0],"id":5}`); b != `{"jsonrpc":"2.0","id":"5","result":{"pageNumber":1,"list":[]}}` {
		t.Errorf("forwarded: %s", b)
	}
	if b := call(tg.url, `{"jsonrpc":"2.0","method":"getConsensusNodes","params":[2],"id":6}`); !strings.Contains(b, `"error":{"code":"err_0014","message":"data not found"}`) {
		t.Errorf("public-service's error: %s", b)
	}
	if b := call(tg.url, `{"jsonrpc":"2.0","method":"rollbackBestBlocks","params":[2,100],"id":7}`); !strings.Contains(b, `"code":"-32601"`) {
		t.Errorf("a method that steers public-service: %s", b)
	}
	mu.Lock()
	if len(got) != 2 || got[0] != `getAccountTxs [2,1,10,"tNULSe",0]` {
		t.Errorf("public-service was asked %q", got)
	}
	mu.Unlock()
	bare := startGateway(t, gatewayOptions{})
	if b := call(bare.url, `{"jsonrpc":"2.0","method":"getAccountTxs","params":[2],"id":8}`); !strings.Contains(b, `"code":"-32601","message":"only NULS public-service answers this method`) {
		t.Errorf("without a public-service: %s", b)
	}
}

// TestNulsAPIBroadcastTx: a transfer a client built and signed itself
// (here with package nulsdata) is validated, broadcast, and found; the
// receiver's balance shows it; a second broadcast of it, whose nonce is
// now spent, and bytes that are not a transaction are refused.
func TestNulsAPIBroadcastTx(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	accts := tg.node.GenesisAccounts()
	from, to := accts[0].Address, accts[1].Address
	rpc := func(method, params string) (json.RawMessage, *nulsapi.Error) {
		t.Helper()
		_, _, b := postWith(t, tg.url+"/nuls-api/jsonrpc", `{"jsonrpc":"2.0","method":"`+method+`","params":`+params+`,"id":1}`, map[string]string{"Content-Type": "application/json"})
		var a struct {
			Result json.RawMessage
			Error  *nulsapi.Error
		}
		if err := json.Unmarshal([]byte(b), &a); err != nil {
			t.Fatalf("%s: %v %s", method, err, b)
		}
		return a.Result, a.Error
	}
	bal, _ := rpc("getAccountBalance", `[2,2,1,"`+from+`"]`)
	var b struct{ Nonce string }
	_ = json.Unmarshal(bal, &b)
	nonce, _ := hex.DecodeString(b.Nonce)
	_, fromRaw, _ := nulsdata.ParseAddress(from)
	_, toRaw, _ := nulsdata.ParseAddress(to)
	cd := nulsdata.CoinData{
		From: []nulsdata.CoinFrom{{Address: fromRaw, AssetChainID: 2, AssetID: 1, Amount: big.NewInt(100_100_000), Nonce: nonce}},
		To:   []nulsdata.CoinTo{{Address: toRaw, AssetChainID: 2, AssetID: 1, Amount: big.NewInt(100_000_000)}},
	}
	tx := nulsdata.Transaction{Type: 2, Time: uint32(time.Now().Unix()), Remark: []byte("from a wallet"), CoinData: cd.Bytes(), Signature: []byte{0x21, 1, 2, 3}}
	txHex := hex.EncodeToString(tx.Bytes())
	for _, method := range []string{"validateTx", "broadcastTx"} {
		res, e := rpc(method, `[2,"`+txHex+`"]`)
		var r struct {
			Value bool
			Hash  string
		}
		if err := json.Unmarshal(res, &r); e != nil || err != nil || !r.Value || r.Hash != tx.Hash().String() {
			t.Fatalf("%s: %s %+v", method, res, e)
		}
	}
	if got, _ := rpc("getTx", `[2,"`+tx.Hash().String()+`"]`); !strings.Contains(string(got), `"remark":"from a wallet"`) {
		t.Errorf("getTx of the broadcast transfer: %s", got)
	}
	if got, _ := rpc("getAccountBalance", `[2,2,1,"`+to+`"]`); !strings.Contains(string(got), `"totalBalance":"100000100000000"`) {
		t.Errorf("receiver's balance: %s", got)
	}
	if _, e := rpc("broadcastTx", `[2,"`+txHex+`"]`); e == nil || e.Code != "tx_0013" {
		t.Errorf("the same transfer again: %+v", e)
	}
	if _, e := rpc("broadcastTx", `[2,"00ff"]`); e == nil || e.Code != "999" {
		t.Errorf("bytes that are not a transaction: %+v", e)
	}
}

// TestNulsAPINetworkInfo: getNetworkInfo and info take no chainId in nuls-api,
// which reads its chain from its configuration: the gateway's --chain-id;
// without one, a chainId given first, or a clear refusal.
func TestNulsAPINetworkInfo(t *testing.T) {
	t.Parallel()
	call := func(url, params string) string {
		t.Helper()
		_, _, b := postWith(t, url+"/nuls-api/jsonrpc", `{"jsonrpc":"2.0","method":"getNetworkInfo","params":`+params+`,"id":1}`, map[string]string{"Content-Type": "application/json"})
		return b
	}
	configured := startGateway(t, gatewayOptions{cfg: Config{ChainID: 2}})
	if b := call(configured.url, `[]`); !strings.Contains(b, `"result":{"inCount":0,"localBestHeight":0,"netBestHeight":0,"outCount":0,"timeOffset":0}`) {
		t.Errorf("with --chain-id: %s", b)
	}
	// info too: the consensus configuration, and the chain's own facts.
	_, _, info := postWith(t, configured.url+"/nuls-api/jsonrpc", `{"jsonrpc":"2.0","method":"info","params":[],"id":1}`, map[string]string{"Content-Type": "application/json"})
	for _, want := range []string{`"chainId":2`, `"assetId":1`, `"addressPrefix":"tNULS"`, `"symbol":"NULS"`, `"agentChainId":2`, `"inflationAmount":`} {
		if !strings.Contains(info, want) {
			t.Errorf("info lacks %s: %s", want, info)
		}
	}
	if strings.Contains(info, "seedNodes") || strings.Contains(info, "awardAssetId") {
		t.Errorf("info keeps what nuls-api removes: %s", info)
	}
	bare := startGateway(t, gatewayOptions{})
	if b := call(bare.url, `[2]`); !strings.Contains(b, `"netBestHeight":0`) {
		t.Errorf("chainId given: %s", b)
	}
	if b := call(bare.url, `[]`); !strings.Contains(b, `"code":"1000"`) || !strings.Contains(b, "--chain-id") {
		t.Errorf("no chain anywhere: %s", b)
	}
}

// TestNulsAPIPaysPerCall: a getBalanceList of many assets spends a unit of
// the caller's quota per ledger call, so that one request cannot call the
// module more than the caller's plan allows.
func TestNulsAPIPaysPerCall(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: limitedConfig(ta, ratelimit.NewLocal())})
	addr := tg.node.GenesisAccounts()[0].Address
	assets := strings.TrimSuffix(strings.Repeat(`{"chainId":2,"assetId":1},`, 8), ",")
	// The anonymous quota is 5 units: 8 calls do not fit.
	_, _, b := postWith(t, tg.url+"/nuls-api/jsonrpc", `{"jsonrpc":"2.0","method":"getBalanceList","params":[2,"`+addr+`",[`+assets+`]],"id":1}`,
		from("203.0.113.7", map[string]string{"Content-Type": "application/json"}))
	if !strings.Contains(b, `"code":"-32029"`) {
		t.Errorf("8 ledger calls on a quota of 5: %s", b)
	}
}
