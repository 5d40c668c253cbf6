package devnode

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// parsedHeader is what a client can read from a header's hex.
type parsedHeader struct {
	PreHash, MerkleHash string
	Time, Height        uint32
	TxCount             uint32
}

// parseHeader reads the fixed part of a serialized header, in the layout of
// the captured headers of a live node.
func parseHeader(t *testing.T, value string) parsedHeader {
	t.Helper()
	b, err := hex.DecodeString(value)
	if err != nil || len(b) < 76 {
		t.Fatalf("header %q: %v", value, err)
	}
	return parsedHeader{
		PreHash:    hex.EncodeToString(b[:32]),
		MerkleHash: hex.EncodeToString(b[32:64]),
		Time:       binary.LittleEndian.Uint32(b[64:]),
		Height:     binary.LittleEndian.Uint32(b[68:]),
		TxCount:    binary.LittleEndian.Uint32(b[72:]),
	}
}

func hexValueOf(t *testing.T, raw []byte) string {
	t.Helper()
	return decode[struct{ Value string }](t, raw).Value
}

// TestBlockMethods covers the block module's methods on the main endpoint.
func TestBlockMethods(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	p := obj{"chainId": chainID}

	for method, want := range map[string]string{
		"getStatus":    `{"status":1}`,
		"info":         `{"localHeight":0,"networkHeight":0}`,
		"latestHeight": `{"value":0}`,
	} {
		if diff := jsonDiff(t, want, call(t, c, method, p)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", method, diff)
		}
	}
	genesis := hexValueOf(t, call(t, c, "latestBlockHeader", p))
	gh := parseHeader(t, genesis)
	if diff := cmp.Diff(parsedHeader{PreHash: strings.Repeat("0", 64), MerkleHash: gh.MerkleHash, Time: uint32(genesisTime.Unix()), Height: 0, TxCount: 1}, gh); diff != "" {
		t.Errorf("genesis header (-want +got):\n%s", diff)
	}

	if h := n.ProduceBlock(); h != 1 {
		t.Fatalf("ProduceBlock made height %d", h)
	}
	if diff := jsonDiff(t, `{"localHeight":1,"networkHeight":1}`, call(t, c, "info", p)); diff != "" {
		t.Errorf("info (-want +got):\n%s", diff)
	}
	latest := hexValueOf(t, call(t, c, "latestBlockHeader", p))
	lh := parseHeader(t, latest)
	genesisHash := n.chain.blockAt(0).hash.String()
	if lh.Height != 1 || lh.PreHash != genesisHash || lh.TxCount != 1 || lh.Time < gh.Time {
		t.Errorf("block 1 header %+v, genesis hash %s", lh, genesisHash)
	}
	if got := hexValueOf(t, call(t, c, "getBlockHeaderByHeight", obj{"chainId": chainID, "height": 0})); got != genesis {
		t.Error("getBlockHeaderByHeight 0 is not the genesis header")
	}
	if got := hexValueOf(t, call(t, c, "getBlockHeaderByHash", obj{"chainId": chainID, "hash": genesisHash})); got != genesis {
		t.Error("getBlockHeaderByHash of the genesis hash is not the genesis header")
	}
	block := hexValueOf(t, call(t, c, "latestBlock", p))
	if !strings.HasPrefix(block, latest) || len(block) <= len(latest) {
		t.Error("latestBlock does not start with the latest header and hold transactions")
	}
	if got := hexValueOf(t, call(t, c, "getBlockByHeight", obj{"chainId": chainID, "height": "1"})); got != block {
		t.Error("getBlockByHeight 1 (height as a string) is not the latest block")
	}
	if got := hexValueOf(t, call(t, c, "getBlockByHash", obj{"chainId": chainID, "hash": n.chain.latest().hash.String()})); got != block {
		t.Error("getBlockByHash of the latest hash is not the latest block")
	}

	// What the Java block module answers for what does not exist.
	for _, tt := range []struct {
		method string
		params obj
		want   string
	}{
		{"getBlockHeaderByHeight", obj{"chainId": chainID, "height": 99}, `{}`},
		{"getBlockByHeight", obj{"chainId": chainID, "height": 99}, `{}`},
		{"getBlockHeaderByHash", obj{"chainId": chainID, "hash": strings.Repeat("ab", 32)}, `{}`},
		{"latestHeight", obj{"chainId": 9}, `null`},
		{"getStatus", obj{"chainId": 9}, `null`},
	} {
		if diff := jsonDiff(t, tt.want, call(t, c, tt.method, tt.params)); diff != "" {
			t.Errorf("%s %v (-want +got):\n%s", tt.method, tt.params, diff)
		}
	}
}

// TestLedgerMethods covers balances and nonces of the genesis accounts and
// of unknown addresses.
func TestLedgerMethods(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	g := n.GenesisAccounts()
	if len(g) != GenesisAccounts {
		t.Fatalf("genesis accounts %v", g)
	}
	bal := func(addr string) obj {
		return obj{"chainId": chainID, "assetChainId": chainID, "assetId": 1, "address": addr}
	}
	want := fmt.Sprintf(`{"total":%d,"freeze":0,"available":%d,"permanentLocked":0,"timeHeightLocked":0}`, GenesisBalance, GenesisBalance)
	if diff := jsonDiff(t, want, call(t, c, "getBalance", bal(g[1].Address))); diff != "" {
		t.Errorf("getBalance (-want +got):\n%s", diff)
	}
	other := newAddress(chainID, pubkeyFromSeed("nobody"))
	if diff := jsonDiff(t, `{"total":0,"freeze":0,"available":0,"permanentLocked":0,"timeHeightLocked":0}`, call(t, c, "getBalance", bal(other))); diff != "" {
		t.Errorf("getBalance of an unknown address (-want +got):\n%s", diff)
	}
	// Another asset of the same address: nothing (the token is the
	// first genesis account's).
	p := bal(g[1].Address)
	p["assetId"] = 2
	if diff := jsonDiff(t, `{"total":0,"freeze":0,"available":0,"permanentLocked":0,"timeHeightLocked":0}`, call(t, c, "getBalance", p)); diff != "" {
		t.Errorf("getBalance of another asset (-want +got):\n%s", diff)
	}
	// Captured from a live node: {"nonce": "0000000000000000", "nonceType": 1}.
	p = bal(g[0].Address)
	p["isConfirmed"] = true
	if diff := jsonDiff(t, `{"nonce":"0000000000000000","nonceType":1}`, call(t, c, "getNonce", p)); diff != "" {
		t.Errorf("getNonce (-want +got):\n%s", diff)
	}
	// The captured request of a real client, which a live node answered:
	// Java reads booleans with Boolean.valueOf(value.toString()).
	p["isConfirmed"] = 1
	call(t, c, "getNonce", p)
	want = fmt.Sprintf(`{"nonce":"0000000000000000","nonceType":1,"available":%d,"freeze":0,"permanentLocked":0,"timeHeightLocked":0}`, GenesisBalance)
	if diff := jsonDiff(t, want, call(t, c, "getBalanceNonce", bal(g[0].Address))); diff != "" {
		t.Errorf("getBalanceNonce (-want +got):\n%s", diff)
	}
}

// TestAccountMethods covers the wallet.
func TestAccountMethods(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	type list struct {
		List []simpleAccount
	}
	got := decode[list](t, call(t, c, "ac_getAccountList", obj{"chainId": chainID}))
	if len(got.List) != GenesisAccounts {
		t.Fatalf("account list %+v", got)
	}
	for i, a := range n.GenesisAccounts() {
		if got.List[i].Address != a.Address || !strings.HasPrefix(a.Address, "tNULSeBa") || len(got.List[i].PubkeyHex) != 66 {
			t.Errorf("account %d: %+v, genesis %+v", i, got.List[i], a)
		}
	}
	created := decode[struct{ List []string }](t, call(t, c, "ac_createAccount", obj{"chainId": chainID, "count": 2, "password": "abc12345"}))
	if len(created.List) != 2 || created.List[0] == created.List[1] {
		t.Fatalf("created %v", created)
	}
	got = decode[list](t, call(t, c, "ac_getAccountList", obj{"chainId": chainID}))
	if len(got.List) != GenesisAccounts+2 || got.List[GenesisAccounts+1].Address != created.List[1] {
		t.Errorf("account list after creating two: %+v", got)
	}
	acc := decode[simpleAccount](t, call(t, c, "ac_getAccountByAddress", obj{"chainId": chainID, "address": created.List[0]}))
	if acc.Address != created.List[0] || acc.Alias != nil {
		t.Errorf("ac_getAccountByAddress %+v", acc)
	}
	if diff := jsonDiff(t, `null`, call(t, c, "ac_getAccountByAddress", obj{"chainId": chainID, "address": newAddress(chainID, pubkeyFromSeed("x"))})); diff != "" {
		t.Errorf("unknown account (-want +got):\n%s", diff)
	}
	// A fresh node creates the same accounts.
	n2 := startNode(t, Config{})
	again := decode[struct{ List []string }](t, call(t, dial(t, n2.URL()), "ac_createAccount", obj{"chainId": chainID, "count": 2, "password": "other123"}))
	if diff := cmp.Diff(created.List, again.List); diff != "" {
		t.Errorf("accounts of a fresh node (-want +got):\n%s", diff)
	}
}

// TestErrors covers the failures, with the codes a Java node sends.
func TestErrors(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	g := n.GenesisAccounts()[0].Address
	bal := func(kv ...any) obj {
		p := obj{"chainId": chainID, "assetChainId": chainID, "assetId": 1, "address": g}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(p, kv[i].(string))
			} else {
				p[kv[i].(string)] = kv[i+1]
			}
		}
		return p
	}
	tests := []struct {
		name    string
		method  string
		params  obj
		code    string
		comment string // a prefix of the comment, when it matters
	}{
		{"unknown method", "nope", nil, "err_0021", "Cmd not found:nope,"},
		{"chainId out of range", "getBalance", bal("chainId", 0), "err_0012", "Param wrong range:chainId"},
		{"assetId out of range", "getBalance", bal("assetId", 70000), "err_0012", "Param wrong range:assetId"},
		{"missing address", "getBalance", bal("address", nil), "err_0012", "Param null:address"},
		{"wrong type", "getBalance", bal("address", 12), "err_0002", ""},
		{"ledger of another chain", "getBalance", bal("chainId", 9), "lg_0002", ""},
		{"bad address", "getBalance", bal("address", "tNULSeBaNotAnAddress"), "lg_1014", ""},
		{"nonce of a bad address", "getNonce", bal("address", g+"x"), "lg_1014", ""},
		{"missing height", "getBlockHeaderByHeight", obj{"chainId": chainID}, "err_0012", "Param null:height"},
		{"bad block hash", "getBlockByHash", obj{"chainId": chainID, "hash": "xyz"}, "err_0001", ""},
		{"no count", "ac_createAccount", obj{"chainId": chainID, "password": "abc12345"}, "err_0012", "Param null:count"},
		{"count 0", "ac_createAccount", obj{"chainId": chainID, "count": 0, "password": "abc12345"}, "err_0012", ""},
		{"count 101", "ac_createAccount", obj{"chainId": chainID, "count": 101, "password": "abc12345"}, "err_0012", ""},
		{"short password", "ac_createAccount", obj{"chainId": chainID, "count": 1, "password": "ab12"}, "ac_0017", ""},
		{"letters only", "ac_createAccount", obj{"chainId": chainID, "count": 1, "password": "abcdefghij"}, "ac_0017", ""},
		{"account on another chain", "ac_createAccount", obj{"chainId": 9, "count": 1, "password": "abc12345"}, "ac_0030", ""},
		{"account lookup on another chain", "ac_getAccountByAddress", obj{"chainId": 9, "address": g}, "ac_0030", ""},
		{"bad tx hash", "tx_getTx", obj{"chainId": chainID, "txHash": "12"}, "tx_0001", ""},
		{"tx on another chain", "tx_getConfirmedTx", obj{"chainId": 9, "txHash": strings.Repeat("0", 64)}, "tx_0020", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := callFail(t, c, tt.method, tt.params)
			if e.Status != bridge.StatusFailed || e.Code != tt.code || !strings.HasPrefix(e.Comment, tt.comment) {
				t.Errorf("got status %d code %s comment %q, want 65536 %s %q…", e.Status, e.Code, e.Comment, tt.code, tt.comment)
			}
		})
	}
}

// TestTokenBalance: the first genesis account holds 10^18 + 1 of the
// token, answered exactly.
func TestTokenBalance(t *testing.T) {
	n := startNode(t, Config{})
	c := dial(t, n.URL())
	g := n.GenesisAccounts()
	p := map[string]any{"chainId": 2, "assetChainId": 2, "assetId": TokenAssetID, "address": g[0].Address}
	if got := string(call(t, c, "getBalance", p)); !strings.Contains(got, `"total":1000000000000000001`) {
		t.Errorf("the token's balance: %s", got)
	}
}
