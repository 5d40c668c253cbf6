package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
	"github.com/nuls-gateway/nuls-gateway/state"
)

// answersModule is an upstream with a method "blob" answering
// {"data": "<size x's>"} and a method "hold" that answers only once hold
// is closed (or its call is cancelled); ran counts the calls of either.
type answersModule struct {
	url  string
	hold chan struct{}
	ran  atomic.Int64
}

func newAnswersModule(t *testing.T) *answersModule {
	t.Helper()
	am := &answersModule{hold: make(chan struct{})}
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "answers"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Register(bridge.Method{Name: "blob", Scope: bridge.ScopePublic,
		Parameters: []bridge.Parameter{{Name: "size", Type: "int"}},
		Handler: func(_ context.Context, c *bridge.Call) (any, error) {
			am.ran.Add(1)
			var p struct{ Size int }
			if err := c.Bind(&p); err != nil {
				return nil, err
			}
			return map[string]string{"data": strings.Repeat("x", p.Size)}, nil
		}}))
	must(m.Register(bridge.Method{Name: "hold", Scope: bridge.ScopePublic, Handler: func(ctx context.Context, _ *bridge.Call) (any, error) {
		am.ran.Add(1)
		select {
		case <-am.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return map[string]int{"value": 1}, nil
	}}))
	must(m.Register(bridge.Method{Name: "ListAPI", Handler: func(context.Context, *bridge.Call) (any, error) {
		out := map[string]bridge.MethodInfo{}
		for _, mi := range m.Methods() {
			out[mi.MethodName] = mi
		}
		return out, nil
	}}))
	am.url = newWSServer(t, m)
	return am
}

// awaitAs polls an asynchronous call's location as the caller of key until
// it answers.
func awaitAs(t *testing.T, url, key string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return resp.StatusCode, string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still pending", url)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// blob is the body of a call of blob answering about n bytes.
func blob(n int) string { return fmt.Sprintf(`{"size":%d}`, n) }

// asyncHeader asks for an asynchronous answer, as the caller of key.
func asyncHeader(key string) map[string]string {
	h := map[string]string{"Prefer": "respond-async"}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	return h
}

// TestStoredAnswersBounded is hole 2: asynchronous and idempotent answers
// were kept ResultTTL without a bound (one address added 940 MB in 10 s).
// Room for an answer is taken before the call runs, from the caller's
// share and the total: beyond the share 429, beyond the total 503, with
// Retry-After, and the call does not run. An answer larger than one kept
// answer may be, or than the room its caller has left, is answered but kept
// as a 507 saying so. Rooms come back when the answers expire.
func TestStoredAnswersBounded(t *testing.T) {
	t.Parallel()
	am := newAnswersModule(t)
	ta := newTestAuth(t, auth.Config{})
	one, other := ta.addKey(t, auth.KeyRecord{Scopes: []string{bridge.ScopePublic}}), ta.addKey(t, auth.KeyRecord{Scopes: []string{bridge.ScopePublic}})
	bounds := state.AnswerBounds{PerClient: 3, PerClientBytes: 3 * state.AnswerOverhead, Total: 5, TotalBytes: 1 << 20}
	tg := startGateway(t, gatewayOptions{nodeURL: am.url, cfg: Config{UnlistedScope: "public", Auth: ta, StoredAnswers: bounds, MaxStoredAnswerBytes: 8 << 10, ResultTTL: 2 * time.Second}})
	async := func(key, body string) (int, http.Header) {
		t.Helper()
		code, h, _ := postWith(t, tg.url+"/rpc/blob", body, asyncHeader(key))
		return code, h
	}
	var locations []string
	for i := range 3 {
		code, h := async(one, blob(10))
		if code != http.StatusAccepted {
			t.Fatalf("async call %d: %d", i, code)
		}
		locations = append(locations, h.Get("Location"))
	}
	// Beyond the client's share: 429, and the call does not run.
	if code, h := async(one, blob(10)); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("beyond the client's share: %d %v, want 429 with Retry-After", code, h)
	}
	if code, h, _ := postWith(t, tg.url+"/rpc/blob", blob(10), map[string]string{"Authorization": "Bearer " + one, "Idempotency-Key": "k1"}); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("an idempotent call beyond the client's share: %d, want 429", code)
	}
	// Beyond the total: 503.
	for i := range 2 {
		if code, _ := async(other, blob(10)); code != http.StatusAccepted {
			t.Fatalf("another client's call %d: %d", i, code)
		}
	}
	if code, h := async(other, blob(10)); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("beyond the total: %d %v, want 503 with Retry-After", code, h)
	}
	for _, loc := range locations {
		if code, body := awaitAs(t, tg.url+loc, one); code != http.StatusOK || !strings.Contains(body, `"xxxxxxxxxx"`) {
			t.Fatalf("a kept answer: %d %s", code, body)
		}
	}
	// The five accepted calls ran (asynchronously); the refused ones did
	// not.
	waitFor(t, "the accepted calls to run", func() bool { return am.ran.Load() >= 5 })
	if n := am.ran.Load(); n != 5 {
		t.Fatalf("%d calls ran, want 5: a refused call must not run", n)
	}

	// The answers expire, and their rooms with them.
	waitFor(t, "the answers to expire", func() bool {
		for _, loc := range locations {
			if code, _ := awaitAs(t, tg.url+loc, one); code != http.StatusNotFound {
				return false
			}
		}
		return true
	})
	code, h := async(one, blob(10))
	if code != http.StatusAccepted {
		t.Fatalf("once the answers expired: %d", code)
	}
	locations = []string{h.Get("Location")}
	// That call runs on its own: done before the count below is read.
	if code, _ := awaitAs(t, tg.url+locations[0], one); code != http.StatusOK {
		t.Fatalf("the asynchronous call: %d", code)
	}
	// Larger than one kept answer may be: answered to the caller of a
	// synchronous call, kept as a 507; the retry is told, and does not
	// run the call again.
	hdr := map[string]string{"Authorization": "Bearer " + one, "Idempotency-Key": "big"}
	code, _, body := postWith(t, tg.url+"/rpc/blob", blob(20<<10), hdr)
	if code != http.StatusOK || len(body) < 20<<10 {
		t.Fatalf("the first call of a large answer: %d, %d bytes", code, len(body))
	}
	ran := am.ran.Load()
	code, h, body = postWith(t, tg.url+"/rpc/blob", blob(20<<10), hdr)
	if code != http.StatusInsufficientStorage || h.Get(calls.HeaderReplayed) != "true" || !strings.Contains(problemOf(t, body).Detail, "larger than one kept answer may be") {
		t.Fatalf("the retry of a large answer: %d %v %s, want the 507 kept for it", code, h, body)
	}
	if am.ran.Load() != ran {
		t.Fatal("the retry ran the call again")
	}
	// Within the per-answer bound, beyond the client's bytes: the same.
	code, h = async(one, blob(4<<10))
	if code != http.StatusAccepted {
		t.Fatalf("%d", code)
	}
	if code, body := awaitAs(t, tg.url+h.Get("Location"), one); code != http.StatusInsufficientStorage || !strings.Contains(body, "no room") {
		t.Fatalf("an answer beyond the client's bytes: %d %s, want 507", code, body)
	}
	// The first of this round is still there.
	if code, _ := awaitAs(t, tg.url+locations[0], one); code != http.StatusOK {
		t.Fatalf("a kept answer: %d", code)
	}
}

// TestStoredAnswersFlood: a client sending as many calls of large answers
// as it may never makes the gateway keep more than its share: the answers
// still kept, read back, add up to the bound at most.
func TestStoredAnswersFlood(t *testing.T) {
	t.Parallel()
	am := newAnswersModule(t)
	const size, share = 30 << 10, 256 << 10
	tg := startGateway(t, gatewayOptions{nodeURL: am.url, cfg: Config{UnlistedScope: "public",
		StoredAnswers: state.AnswerBounds{PerClientBytes: share}, MaxStoredAnswerBytes: 1 << 20,
	}})
	var locations []string
	for i := range 40 {
		code, h, _ := postWith(t, tg.url+"/rpc/blob", blob(size), map[string]string{"Idempotency-Key": strconv.Itoa(i), "Prefer": "respond-async"})
		if code == http.StatusAccepted {
			locations = append(locations, h.Get("Location"))
		}
	}
	kept, stubs := 0, 0
	for _, loc := range locations {
		switch code, body := awaitRequest(t, tg.url+loc); code {
		case http.StatusOK:
			kept += len(body)
		case http.StatusInsufficientStorage:
			stubs++
		default:
			t.Fatalf("%s: %d", loc, code)
		}
	}
	if kept > share || kept < share/2 || stubs == 0 {
		t.Fatalf("%d bytes of answers kept for one client (and %d not kept), want at most its share %d", kept, stubs, share)
	}
}

// TestStoredAnswersAcrossInstances: with Redis the bounds are the
// cluster's: a client's share is counted on every instance.
func TestStoredAnswersAcrossInstances(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	am := newAnswersModule(t)
	oa, ob := redisOptions(t, rdb, prefix, "a", am.url), redisOptions(t, rdb, prefix, "b", am.url)
	for _, o := range []*gatewayOptions{&oa, &ob} {
		o.cfg.StoredAnswers = state.AnswerBounds{PerClient: 3}
		o.cfg.UnlistedScope = "public"
	}
	a, b := startGateway(t, oa), startGateway(t, ob)
	for i, g := range []*testGateway{a, b, a} {
		if code, _, body := postWith(t, g.url+"/rpc/blob", blob(10), asyncHeader("")); code != http.StatusAccepted {
			t.Fatalf("call %d: %d %s", i, code, body)
		}
	}
	for _, g := range []*testGateway{a, b} {
		if code, h, _ := postWith(t, g.url+"/rpc/blob", blob(10), asyncHeader("")); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Fatalf("beyond the share, on either instance: %d", code)
		}
	}
}

// TestAnonymousIdempotencyKeysPerAddress: anonymous callers' keys were one
// space for every address: a stranger could block another's key (422 for
// its own request) or replay its answer. Each address has its own.
func TestAnonymousIdempotencyKeysPerAddress(t *testing.T) {
	t.Parallel()
	am := newAnswersModule(t)
	tg := startGateway(t, gatewayOptions{nodeURL: am.url, cfg: Config{UnlistedScope: "public", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	from := func(addr, body string) (int, http.Header, string) {
		t.Helper()
		return postWith(t, tg.url+"/rpc/blob", body, map[string]string{"Idempotency-Key": "order-1", "X-Forwarded-For": addr})
	}
	if code, _, _ := from("203.0.113.1", blob(1)); code != http.StatusOK {
		t.Fatalf("first address: %d", code)
	}
	code, h, body := from("203.0.113.2", blob(2))
	if code != http.StatusOK || h.Get(calls.HeaderReplayed) != "" || !strings.Contains(body, `"xx"`) {
		t.Fatalf("the same key from another address: %d %v %s, want its own call", code, h, body)
	}
	code, h, body = from("203.0.113.1", blob(1))
	if code != http.StatusOK || h.Get(calls.HeaderReplayed) != "true" || !strings.Contains(body, `"x"`) {
		t.Fatalf("the first address's retry: %d %v %s, want its answer replayed", code, h, body)
	}
}

// countingCalls counts the reads of the store (Get) and the claims.
type countingCalls struct {
	state.Calls
	gets, claims atomic.Int64
}

func (c *countingCalls) Get(ctx context.Context, id string) (state.CallRecord, bool, error) {
	c.gets.Add(1)
	return c.Calls.Get(ctx, id)
}

func (c *countingCalls) Claim(ctx context.Context, key, fp, id string, ttl time.Duration) (string, string, bool, error) {
	c.claims.Add(1)
	return c.Calls.Claim(ctx, key, fp, id, ttl)
}

// holdCall posts hold with an Idempotency-Key from its own goroutine; the
// answer comes on the channel (status 0 on a transport failure).
func holdCall(t *testing.T, url, key string) <-chan int {
	ch := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/rpc/hold", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ch <- resp.StatusCode
	}()
	return ch
}

// TestIdempotentRetriesDoNotPoll is hole 4: each waiting retry of a key in
// flight read the store every 25 ms (46 requests made 15,700 Redis
// reads). A retry on the instance running the call waits for it there; on
// another instance it is answered 409 at once, with Retry-After. Either
// way it reads the store at most once.
func TestIdempotentRetriesDoNotPoll(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	am := newAnswersModule(t)
	oa, ob := redisOptions(t, rdb, prefix, "a", am.url), redisOptions(t, rdb, prefix, "b", am.url)
	ca, cb := &countingCalls{Calls: oa.cfg.Calls}, &countingCalls{Calls: ob.cfg.Calls}
	oa.cfg.Calls, ob.cfg.Calls = ca, cb
	oa.cfg.UnlistedScope, ob.cfg.UnlistedScope = "public", "public"
	a, b := startGateway(t, oa), startGateway(t, ob)

	first := holdCall(t, a.url, "k")
	waitFor(t, "the first call to run", func() bool { return am.ran.Load() == 1 })
	// Retries on the same instance wait, reading nothing.
	const retries = 20
	var answers []<-chan int
	for range retries {
		answers = append(answers, holdCall(t, a.url, "k"))
	}
	waitFor(t, "every retry to find the key bound", func() bool { return ca.claims.Load() == retries+1 })
	// Retries on another instance: 409 at once, while the call runs.
	for i := range 5 {
		code, h, body := postWith(t, b.url+"/rpc/hold", `{}`, map[string]string{"Idempotency-Key": "k"})
		if code != http.StatusConflict || h.Get("Retry-After") == "" {
			t.Fatalf("retry %d on another instance: %d %v %s, want 409 with Retry-After", i, code, h, body)
		}
	}
	if n := cb.gets.Load(); n > 5 {
		t.Fatalf("5 retries on another instance read the store %d times", n)
	}
	// A while for any polling to show, then the answer.
	time.Sleep(300 * time.Millisecond)
	close(am.hold)
	if code := <-first; code != http.StatusOK {
		t.Fatalf("first call: %d", code)
	}
	for i, ch := range answers {
		if code := <-ch; code != http.StatusOK {
			t.Fatalf("retry %d: %d", i, code)
		}
	}
	if n := ca.gets.Load(); n > retries {
		t.Fatalf("%d retries read the store %d times: want one read each at most", retries, n)
	}
	if am.ran.Load() != 1 {
		t.Fatalf("the call ran %d times", am.ran.Load())
	}
	// Done: another instance replays it.
	if code, h, _ := postWith(t, b.url+"/rpc/hold", `{}`, map[string]string{"Idempotency-Key": "k"}); code != http.StatusOK || h.Get(calls.HeaderReplayed) != "true" {
		t.Fatalf("retry on another instance after the answer: %d %v", code, h)
	}
}
