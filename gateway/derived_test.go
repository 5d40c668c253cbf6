package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/gateway/streams"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
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

// TestDerivedStreamMode: a derived stream's X-Nuls-Subscription says how
// its source is served, not how its own name would be: accountBalance is
// pushed where the module pushes getBalance, and polled where events are
// emulated (--event-poll-interval) or where the upstream cannot push
// getBalance (Nulstar's ServiceManager forwards it), the stream then being
// the gateway calling getBalance.
func TestDerivedStreamMode(t *testing.T) {
	t.Parallel()
	const query = "?chainId=2&assetChainId=2&assetId=1&address=tNULSeBaMqPDhRwU2N8W6KCDqdzo6ZC2dDyjzQ"
	mode := func(t *testing.T, url string) string {
		t.Helper()
		s := openSSE(t, url+"/rpc/accountBalance/stream"+query, "")
		if s.resp.StatusCode != http.StatusOK {
			t.Fatalf("accountBalance stream: %d", s.resp.StatusCode)
		}
		if ev := s.next(5 * time.Second); ev.Type != "" && ev.Type != "message" {
			t.Fatalf("first event %+v", ev)
		}
		return s.resp.Header.Get(streams.HeaderSubscription)
	}
	t.Run("pushed", func(t *testing.T) {
		t.Parallel()
		tg := startGateway(t, gatewayOptions{})
		if m := mode(t, tg.url); m != "pushed" {
			t.Errorf("the module pushes getBalance: %s %q, want pushed", streams.HeaderSubscription, m)
		}
	})
	t.Run("events emulated", func(t *testing.T) {
		t.Parallel()
		poll := 200 * time.Millisecond
		tg := startGateway(t, gatewayOptions{cfg: Config{EventPollInterval: poll},
			feeds: func(up upstream.Upstream) subscriptions.Source { return feeds(up, poll) }})
		if m := mode(t, tg.url); m != "polled" {
			t.Errorf("--event-poll-interval: %s %q, want polled", streams.HeaderSubscription, m)
		}
	})
	t.Run("source forwarded", func(t *testing.T) {
		t.Parallel()
		url, calls := balanceServiceManager(t)
		tg := startGateway(t, gatewayOptions{nodeURL: url, manager: true})
		if m := mode(t, tg.url); m != "polled" {
			t.Errorf("getBalance forwarded by the Manager: %s %q, want polled", streams.HeaderSubscription, m)
		}
		if calls.Load() == 0 {
			t.Error("no getBalance forwarded: the stream was not the gateway calling it")
		}
	})
}

// balanceServiceManager plays Nulstar's ServiceManager routing the ledger's
// getBalance and getBalanceNonce itself (ForwardMessage): no module
// connection carries their pushes. It counts the getBalance calls.
func balanceServiceManager(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	sm, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "NSM"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sm.Close() })
	var calls atomic.Int64
	balance := map[string]any{"available": "5", "timeHeightLocked": "0", "permanentLocked": "0", "freeze": "0", "nonce": "0000000000000000", "nonceType": 1}
	ledger := map[string]any{}
	params := []map[string]string{{"ParameterName": "chainId", "ParameterType": "int"}, {"ParameterName": "assetChainId", "ParameterType": "int"},
		{"ParameterName": "assetId", "ParameterType": "int"}, {"ParameterName": "address", "ParameterType": "String"}}
	for _, name := range []string{"getBalance", "getBalanceNonce"} {
		ledger["LG."+name] = map[string]any{"MethodName": name, "MethodScope": "public", "MethodMinEvent": "1", "MethodMinPeriod": "1", "Parameters": params}
	}
	for _, m := range []bridge.Method{
		{Name: "RegisterAPI", MinEvent: 1, Handler: func(context.Context, *bridge.Call) (any, error) { return map[string]any{}, nil }},
		{Name: "GetConsolidatedAPI", MinEvent: 1, Handler: func(context.Context, *bridge.Call) (any, error) {
			return map[string]any{"Public": ledger}, nil
		}},
		{Name: "ForwardMessage", Handler: func(_ context.Context, c *bridge.Call) (any, error) {
			var p map[string]json.RawMessage
			if err := c.Bind(&p); err != nil {
				return nil, err
			}
			if _, ok := p["getBalance"]; ok {
				calls.Add(1)
			}
			return balance, nil
		}},
	} {
		if err := sm.Register(m); err != nil {
			t.Fatal(err)
		}
	}
	return newWSServer(t, sm), &calls
}

// TestNewHeadersFromHeight: ?fromHeight=N sends the headers from N up to
// the current one, in order and fetched from the node, then the live ones;
// a reconnection with Last-Event-ID resumes from the stream's log instead;
// fromHeight is refused on any other stream.
func TestNewHeadersFromHeight(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	for range 300 {
		tg.node.ProduceBlock()
	}
	top := tg.node.Height()
	s := openSSE(t, tg.url+"/rpc/newHeaders/stream?chainId=2&fromHeight=10", "")
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", s.resp.StatusCode)
	}
	height := func(ev sseEvent) int64 {
		t.Helper()
		var h struct{ Height *int64 }
		if err := json.Unmarshal([]byte(ev.Data), &h); err != nil || ev.Type != "" || h.Height == nil {
			t.Fatalf("event %+v: %v", ev, err)
		}
		return *h.Height
	}
	var lastID string
	for want := int64(10); want <= top; want++ {
		ev := s.next(5 * time.Second)
		if got := height(ev); got != want {
			t.Fatalf("header %d, want %d", got, want)
		}
		// A header fetched for the stream is in no log: its ID is only
		// its height.
		if wantID := fmt.Sprintf(".%d", want); want < top && ev.ID != wantID {
			t.Errorf("a header fetched for the stream has the ID %q, want %q", ev.ID, wantID)
		}
		lastID = ev.ID
	}
	if !strings.HasSuffix(lastID, fmt.Sprintf(".%d", top)) || strings.HasPrefix(lastID, ".") {
		t.Errorf("the current header, from the log, has the ID %q: want its position and .%d", lastID, top)
	}
	tg.node.ProduceBlock()
	if got := height(s.next(5 * time.Second)); got != top+1 {
		t.Fatalf("the live header after them: %d, want %d", got, top+1)
	}
	// A reconnection resumes from the log: nothing fetched again.
	again := openSSE(t, tg.url+"/rpc/newHeaders/stream?chainId=2&fromHeight=10", lastID)
	if got := height(again.next(5 * time.Second)); got != top+1 {
		t.Errorf("resumed with Last-Event-ID: first header %d, want %d", got, top+1)
	}
	// A reconnection after a fetched header goes on from its height.
	mid := openSSE(t, tg.url+"/rpc/newHeaders/stream?chainId=2", ".100")
	for want := int64(101); want <= top+1; want++ {
		if got := height(mid.next(5 * time.Second)); got != want {
			t.Fatalf("resumed after .100: header %d, want %d", got, want)
		}
	}
	for _, q := range []string{"chainId=2&fromHeight=-1", "chainId=2&fromHeight=x", "chainId=2&fromHeight=1&fromHeight=2"} {
		if status, _ := get(t, tg.url+"/rpc/newHeaders/stream?"+q); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, status)
		}
	}
	if status, _ := get(t, tg.url+"/rpc/latestHeight/stream?chainId=2&fromHeight=1"); status != http.StatusBadRequest {
		t.Errorf("fromHeight on latestHeight: %d, want 400", status)
	}
}

// TestRollbackEventCarriesItsHeight: a rollback event to the tip h has an
// id that resumes at h, whose header (of the new fork) comes first.
func TestRollbackEventCarriesItsHeight(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	s := openSSE(t, tg.url+"/rpc/newHeaders/stream?chainId=2", "")
	s.next(5 * time.Second)
	for range 5 {
		tg.node.ProduceBlock()
		s.next(5 * time.Second)
	}
	tip := tg.node.Rollback(2)
	var rb sseEvent
	for rb.Type != "rollback" {
		rb = s.next(5 * time.Second)
	}
	if !strings.HasSuffix(rb.ID, fmt.Sprintf(".%d", tip-1)) {
		t.Fatalf("rollback event %+v to %d: want an id ending .%d", rb, tip, tip-1)
	}
	_, h, _ := strings.Cut(rb.ID, ".")
	again := openSSE(t, tg.url+"/rpc/newHeaders/stream?chainId=2", "."+h)
	var first struct{ Height int64 }
	if ev := again.next(5 * time.Second); json.Unmarshal([]byte(ev.Data), &first) != nil || first.Height != tip {
		t.Fatalf("resumed after the rollback: %+v, want the header of %d", ev, tip)
	}
}

// TestBackfillsBounded: however many streams ask for headers at once, at
// most streams.MaxConcurrentBackfills fetch and hold them; the others wait
// their turn, and all get their headers.
func TestBackfillsBounded(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	for range 10 {
		tg.node.ProduceBlock()
	}
	tg.node.SetFaults(devnode.Faults{Delay: 30 * time.Millisecond}) // each header fetched takes a while
	const opened = 3 * streams.MaxConcurrentBackfills
	var peak atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			peak.Store(max(peak.Load(), int64(tg.Server.streams.Backfilling())))
			time.Sleep(time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for range opened {
		wg.Go(func() {
			s := openSSE(t, tg.url+"/rpc/newHeaders/stream?chainId=2&fromHeight=5", "")
			var h struct{ Height int64 }
			if ev := s.next(20 * time.Second); json.Unmarshal([]byte(ev.Data), &h) != nil || h.Height != 5 {
				t.Errorf("first header: %+v, want height 5", ev)
			}
			s.close()
		})
	}
	wg.Wait()
	close(stop)
	<-watched
	if p := peak.Load(); p > streams.MaxConcurrentBackfills || p < 2 {
		t.Errorf("at most %d streams fetched headers at once, want between 2 and %d", p, streams.MaxConcurrentBackfills)
	}
	if n := tg.Server.streams.Backfilling(); n != 0 {
		t.Errorf("%d turns not given back", n)
	}
}

// TestNewHeadersBurst: a node catching up pushes heights faster than their
// headers are fetched; the stream takes the newest each time and fills what
// it skipped (or the node dropped), so a reader gets every header, in
// order, without a gap, and the upstream subscription is never dropped as
// too slow.
func TestNewHeadersBurst(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	s := openSSE(t, tg.url+"/rpc/newHeaders/stream?chainId=2", "")
	var h struct{ Height int64 }
	if ev := s.next(5 * time.Second); json.Unmarshal([]byte(ev.Data), &h) != nil {
		t.Fatalf("first event %+v", ev)
	}
	const burst = 300
	for range burst {
		tg.node.ProduceBlock()
	}
	// The node queues 64 pushes for a subscription and drops the rest
	// (bridge's eventBacklog): the next block's push is how the stream
	// learns of the heights it never saw, which it fills.
	time.Sleep(200 * time.Millisecond)
	tg.node.ProduceBlock()
	for want := h.Height + 1; want <= h.Height+burst+1; want++ {
		ev := s.next(10 * time.Second)
		var got struct{ Height int64 }
		if ev.Type != "" || json.Unmarshal([]byte(ev.Data), &got) != nil || got.Height != want {
			t.Fatalf("after the burst: %s event %.80s, want the header of %d", ev.Type, ev.Data, want)
		}
	}
}
