package devnode

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// coinParam is one ac_transfer input or output.
func coinParam(addr string, amount any, password string) obj {
	c := obj{"address": addr, "assetsChainId": chainID, "assetsId": 1, "amount": amount}
	if password != "" {
		c["password"] = password
	}
	return c
}

func transferParams(in, out []obj, remark string) obj {
	return obj{"chainId": chainID, "inputs": in, "outputs": out, "remark": remark}
}

func balanceQuery(addr string) obj {
	return obj{"chainId": chainID, "assetChainId": chainID, "assetId": 1, "address": addr}
}

func totalOf(t *testing.T, c *bridge.Client, addr string) string {
	t.Helper()
	return decode[struct{ Total json.Number }](t, call(t, c, "getBalance", balanceQuery(addr))).Total.String()
}

// TestTransfer moves funds from a genesis account to a new one and follows
// the transaction into a block.
func TestTransfer(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	from := n.GenesisAccounts()[0]
	to := decode[struct{ List []string }](t, call(t, c, "ac_createAccount", obj{"chainId": chainID, "count": 1, "password": "abc12345"})).List[0]

	// Amounts as a string and as a number: both are BigIntegers to Java.
	res := call(t, c, "ac_transfer", transferParams(
		[]obj{coinParam(from.Address, "100100000", from.Password)},
		[]obj{coinParam(to, 100000000, "")}, "hello"))
	txHash := hexValueOf(t, res)
	if _, ok := nulsdata.ParseHash(txHash); !ok {
		t.Fatalf("tx hash %q", txHash)
	}
	if got := totalOf(t, c, to); got != "100000000" {
		t.Errorf("receiver total %s", got)
	}
	if got, want := totalOf(t, c, from.Address), fmt.Sprint(GenesisBalance-100100000); got != want {
		t.Errorf("sender total %s, want %s", got, want)
	}
	nonce := decode[struct{ Nonce string }](t, call(t, c, "getNonce", balanceQuery(from.Address))).Nonce
	if nonce != txHash[48:] {
		t.Errorf("sender nonce %s, want the last 8 bytes of %s", nonce, txHash)
	}

	// Unconfirmed: tx_getTx finds it, tx_getConfirmedTx does not.
	tp := obj{"chainId": chainID, "txHash": txHash}
	txHex := decode[struct{ Tx string }](t, call(t, c, "tx_getTx", tp)).Tx
	if txHex == "" {
		t.Fatal("tx_getTx did not find the transfer")
	}
	if diff := jsonDiff(t, `{"tx":null}`, call(t, c, "tx_getConfirmedTx", tp)); diff != "" {
		t.Errorf("tx_getConfirmedTx before the block (-want +got):\n%s", diff)
	}

	n.ProduceBlock()
	h := parseHeader(t, hexValueOf(t, call(t, c, "latestBlockHeader", obj{"chainId": chainID})))
	if h.Height != 1 || h.TxCount != 2 {
		t.Errorf("block 1: %+v, want the coinbase and the transfer", h)
	}
	if got := decode[struct{ Tx string }](t, call(t, c, "tx_getConfirmedTx", tp)).Tx; got != txHex {
		t.Error("tx_getConfirmedTx after the block")
	}
	block := hexValueOf(t, call(t, c, "latestBlock", obj{"chainId": chainID}))
	if !strings.HasSuffix(block, txHex) {
		t.Error("the block does not end with the transfer")
	}
	checkDecodes(t, c, block, txHash, to)

	// The new account spends with its own password.
	back := transferParams([]obj{coinParam(to, 50000000, "abc12345")}, []obj{coinParam(from.Address, 49900000, "")}, "")
	call(t, c, "ac_transfer", back)
	if got := totalOf(t, c, to); got != "50000000" {
		t.Errorf("receiver total after paying back %s", got)
	}
}

// TestTransferErrors covers the checks of ac_transfer, with the Java
// account module's codes.
func TestTransferErrors(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	g := n.GenesisAccounts()
	a, b := g[0].Address, g[1].Address
	stranger := newAddress(chainID, pubkeyFromSeed("stranger"))
	mainnet := newAddress(1, pubkeyFromSeed("stranger"))
	in := func(addr string, amount any, pw string) []obj { return []obj{coinParam(addr, amount, pw)} }
	out := func(addr string, amount any) []obj { return []obj{coinParam(addr, amount, "")} }
	tests := []struct {
		name   string
		params obj
		code   string
	}{
		{"wrong password", transferParams(in(a, 300000, "wrong123"), out(b, 100000), ""), "ac_0000"},
		{"not in the wallet", transferParams(in(stranger, 300000, "abc12345"), out(b, 100000), ""), "ac_0001"},
		{"bad input address", transferParams(in("tNULSeBaBad", 300000, GenesisPassword), out(b, 100000), ""), "ac_0004"},
		{"bad output address", transferParams(in(a, 300000, GenesisPassword), out(b+"1", 100000), ""), "ac_0004"},
		{"address of another chain", transferParams(in(a, 300000, GenesisPassword), out(mainnet, 100000), ""), "ac_0024"},
		{"more than the balance", transferParams(in(a, GenesisBalance+1_000_000, GenesisPassword), out(b, GenesisBalance), ""), "ac_0028"},
		{"no fee", transferParams(in(a, 100000, GenesisPassword), out(b, 100000), ""), "ac_0029"},
		{"fee too small", transferParams(in(a, 199999, GenesisPassword), out(b, 100000), ""), "ac_0029"},
		{"outputs above inputs", transferParams(in(a, 100000, GenesisPassword), out(b, 200000), ""), "ac_0049"},
		{"another chain", obj{"chainId": 9, "inputs": in(a, 300000, GenesisPassword), "outputs": out(b, 100000)}, "ac_0030"},
		{"no input", transferParams([]obj{}, out(b, 100000), ""), "ac_0038"},
		{"no output", transferParams(in(a, 300000, GenesisPassword), []obj{}, ""), "ac_0039"},
		{"zero amount", transferParams(in(a, 300000, GenesisPassword), out(b, 0), ""), "ac_0046"},
		{"negative amount", transferParams(in(a, -5, GenesisPassword), out(b, 100000), ""), "ac_0046"},
		{"long remark", transferParams(in(a, 300000, GenesisPassword), out(b, 100000), strings.Repeat("x", 101)), "ac_0020"},
		{"amount not a number", transferParams(in(a, "lots", GenesisPassword), out(b, 100000), ""), "err_0012"},
		{"inputs not a list", obj{"chainId": chainID, "inputs": "a", "outputs": out(b, 1)}, "err_0002"},
		{"missing outputs", obj{"chainId": chainID, "inputs": in(a, 300000, GenesisPassword)}, "err_0012"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if e := callFail(t, c, "ac_transfer", tt.params); e.Code != tt.code || e.Status != bridge.StatusFailed {
				t.Errorf("got %v, want code %s", e, tt.code)
			}
		})
	}
	// Nothing moved.
	for _, addr := range []string{a, b} {
		if got := totalOf(t, c, addr); got != fmt.Sprint(GenesisBalance) {
			t.Errorf("balance of %s changed to %s", addr, got)
		}
	}
}

// TestLatestHeightEvents subscribes to latestHeight: the first Response at
// once, then one push per block.
func TestLatestHeightEvents(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	s, first := subscribe(t, c, "latestHeight", obj{"chainId": chainID})
	if diff := jsonDiff(t, `{"value":0}`, first); diff != "" {
		t.Errorf("first Response (-want +got):\n%s", diff)
	}
	for want := 1; want <= 3; want++ {
		n.ProduceBlock()
		p := nextPush(t, s, 5*time.Second)
		if diff := jsonDiff(t, fmt.Sprintf(`{"value":%d}`, want), p.Results[0].Result); diff != "" {
			t.Errorf("push %d (-want +got):\n%s", want, diff)
		}
	}
	// The block module's own endpoint raises the event too.
	bc := dial(t, n.ModuleURLs()["block"])
	bs, _ := subscribe(t, bc, "latestHeight", obj{"chainId": chainID})
	n.ProduceBlock()
	if diff := jsonDiff(t, `{"value":4}`, nextPush(t, bs, 5*time.Second).Results[0].Result); diff != "" {
		t.Errorf("push on the block endpoint (-want +got):\n%s", diff)
	}
}

// TestBalanceEvents subscribes to getBalance of two addresses: a transfer
// to one of them pushes its new balance, and only to its subscribers.
func TestBalanceEvents(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	g := n.GenesisAccounts()
	fresh := newAddress(chainID, pubkeyFromSeed("fresh"))

	toFresh, first := subscribe(t, c, "getBalance", balanceQuery(fresh))
	if got := decode[struct{ Total json.Number }](t, first).Total.String(); got != "0" {
		t.Errorf("first Response: total %s", got)
	}
	untouched, _ := subscribe(t, c, "getBalance", balanceQuery(g[2].Address))
	// The ledger endpoint serves the subscription too.
	lc := dial(t, n.ModuleURLs()["ledger"])
	sender, _ := subscribe(t, lc, "getBalance", balanceQuery(g[0].Address))

	call(t, c, "ac_transfer", transferParams(
		[]obj{coinParam(g[0].Address, 700000, GenesisPassword)},
		[]obj{coinParam(fresh, 500000, "")}, ""))

	p := nextPush(t, toFresh, 5*time.Second)
	if got := decode[struct{ Total json.Number }](t, p.Results[0].Result).Total.String(); got != "500000" {
		t.Errorf("pushed total %s", got)
	}
	p = nextPush(t, sender, 5*time.Second)
	if got, want := decode[struct{ Available json.Number }](t, p.Results[0].Result).Available.String(), fmt.Sprint(GenesisBalance-700000); got != want {
		t.Errorf("sender's pushed balance %s, want %s", got, want)
	}
	noPush(t, untouched, 300*time.Millisecond)
}

// checkDecodes reads the node's block as a client of a live node does
// (package nulsdata): it parses, its Merkle root is its transactions',
// its hash finds it again, and the transfer pays the receiver.
func checkDecodes(t *testing.T, c *bridge.Client, blockHex, txHash, receiver string) {
	t.Helper()
	raw, _ := hex.DecodeString(blockHex)
	b, err := nulsdata.ParseBlock(raw)
	if err != nil {
		t.Fatalf("the block does not decode: %v", err)
	}
	var hashes []nulsdata.Hash
	for _, tx := range b.Txs {
		hashes = append(hashes, tx.Hash())
	}
	if nulsdata.MerkleRoot(hashes) != b.Header.MerkleHash || hashes[len(hashes)-1].String() != txHash {
		t.Errorf("Merkle root %s, header %s; last tx %s, want %s", nulsdata.MerkleRoot(hashes), b.Header.MerkleHash, hashes[len(hashes)-1], txHash)
	}
	byHash := hexValueOf(t, call(t, c, "getBlockHeaderByHash", obj{"chainId": chainID, "hash": b.Header.Hash().String()}))
	if byHash != hex.EncodeToString(b.Header.Bytes()) {
		t.Errorf("getBlockHeaderByHash of the computed hash %s: %.40s…", b.Header.Hash(), byHash)
	}
	cd, err := nulsdata.ParseCoinData(b.Txs[len(b.Txs)-1].CoinData)
	if err != nil || len(cd.To) != 1 || nulsdata.AddressString(cd.To[0].Address) != receiver || cd.To[0].Amount.Int64() != 100000000 {
		t.Errorf("transfer coin data %+v, %v: want 100000000 to %s", cd, err, receiver)
	}
}
