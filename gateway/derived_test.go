package gateway

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestNewHeadersStream: GET /rpc/newHeaders/stream is a latestHeight
// subscription whose events are the new blocks' headers, decoded; the
// event of a height is its header, whose hash getBlockHeaderByHash knows.
func TestNewHeadersStream(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	s := openSSE(t, tg.url+"/rpc/newHeaders/stream?chainId=2", "")
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", s.resp.StatusCode)
	}
	type header struct {
		Hash           string
		Height         int64
		PackingAddress string
		TxCount        int
	}
	read := func() header {
		t.Helper()
		ev := s.next(2 * time.Second)
		var h header
		if err := json.Unmarshal([]byte(ev.Data), &h); err != nil || ev.Type != "" || h.Hash == "" {
			t.Fatalf("event %+v: %v", ev, err)
		}
		return h
	}
	if h := read(); h.Height != 0 {
		t.Fatalf("first event: the genesis header, got %+v", h)
	}
	for want := int64(1); want <= 2; want++ {
		tg.node.ProduceBlock()
		h := read()
		if h.Height != want || h.TxCount != 1 || h.PackingAddress == "" {
			t.Fatalf("header %+v, want height %d", h, want)
		}
		status, _, body := post(t, tg.url+"/rpc/getBlockHeaderByHash", `{"chainId":2,"hash":"`+h.Hash+`"}`)
		if status != http.StatusOK || len(body) < 100 {
			t.Errorf("the streamed header's hash %s: %d %.80s", h.Hash, status, body)
		}
	}
	// Events only, and the source's parameters.
	if status, _ := get(t, tg.url+"/rpc/newHeaders/stream?chainId=2&period=5"); status != http.StatusBadRequest {
		t.Errorf("a period: %d, want 400", status)
	}
	if status, _ := get(t, tg.url+"/rpc/newHeaders/stream?chainId=2&other=1"); status != http.StatusBadRequest {
		t.Errorf("an undeclared parameter: %d, want 400", status)
	}
}

// TestAccountBalanceStream: an address's balance at each change, as
// nuls-api's getAccountBalance answers it.
func TestAccountBalanceStream(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{Policy: devWallet(t)}})
	accts := tg.node.GenesisAccounts()
	s := openSSE(t, tg.url+"/rpc/accountBalance/stream?chainId=2&assetChainId=2&assetId=1&address="+accts[1].Address, "")
	type balance struct{ TotalBalance, Nonce string }
	read := func() balance {
		t.Helper()
		ev := s.next(2 * time.Second)
		var b balance
		if err := json.Unmarshal([]byte(ev.Data), &b); err != nil || b.TotalBalance == "" {
			t.Fatalf("event %+v: %v", ev, err)
		}
		return b
	}
	if b := read(); b.TotalBalance != "100000000000000" {
		t.Fatalf("first: %+v", b)
	}
	transfer := `{"chainId":2,"inputs":[{"address":"` + accts[0].Address + `","assetsChainId":2,"assetsId":1,"amount":"100100000","password":"` + accts[0].Password + `"}],` +
		`"outputs":[{"address":"` + accts[1].Address + `","assetsChainId":2,"assetsId":1,"amount":"100000000"}]}`
	if status, _, body := post(t, tg.url+"/rpc/ac_transfer", transfer); status != http.StatusOK {
		t.Fatalf("transfer: %d %s", status, body)
	}
	if b := read(); b.TotalBalance != "100000100000000" {
		t.Errorf("after the transfer: %+v", b)
	}
}
