package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
	"github.com/nuls-gateway/nuls-gateway/state"

	"github.com/redis/go-redis/v9"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// awaitRequest polls an asynchronous call's location until it answers.
func awaitRequest(t *testing.T, url string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, body := get(t, url)
		if status != http.StatusAccepted {
			return status, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still pending", url)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func transferBody(from, to string, amount int) string {
	return fmt.Sprintf(`{"chainId":2,"remark":"t","inputs":[{"address":%q,"assetsChainId":2,"assetsId":1,"amount":%d,"password":"nuls123456"}],"outputs":[{"address":%q,"assetsChainId":2,"assetsId":1,"amount":%d}]}`,
		from, amount+100000, to, amount)
}

func balance(t *testing.T, base, address string) string {
	t.Helper()
	_, _, body := post(t, base+"/rpc/getBalance", `{"chainId":2,"assetChainId":2,"assetId":1,"address":"`+address+`"}`)
	return body
}

// TestAsyncCall: Prefer: respond-async answers 202 with a Location that
// later gives the call's own answer.
func TestAsyncCall(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	status, h, body := postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, map[string]string{"Prefer": "respond-async, wait=0"})
	if status != http.StatusAccepted || !strings.HasPrefix(h.Get("Location"), "/requests/") || h.Get("Preference-Applied") != "respond-async" {
		t.Fatalf("%d %v %s", status, h, body)
	}
	status, body = awaitRequest(t, tg.url+h.Get("Location"))
	if status != http.StatusOK || body != `{"value":0}` {
		t.Fatalf("result: %d %s", status, body)
	}
	// A failure is stored as its problem document.
	_, h, _ = postWith(t, tg.url+"/rpc/getBalance", `{"chainId":2,"assetChainId":2,"assetId":1,"address":"nonsense"}`, map[string]string{"Prefer": "respond-async"})
	if status, body := awaitRequest(t, tg.url+h.Get("Location")); status != http.StatusUnprocessableEntity || problemOf(t, body).ResponseErrorCode == "" {
		t.Fatalf("failure: %d %s", status, body)
	}
	if status, _ := get(t, tg.url+"/requests/nope"); status != http.StatusNotFound {
		t.Fatalf("unknown request: %d", status)
	}
}

// TestIdempotencyKey: a retried POST with the same key gets the first
// answer; the module runs the call once.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{Policy: devWallet(t)}})
	acct := tg.node.GenesisAccounts()
	body := transferBody(acct[0].Address, acct[1].Address, 100000000)
	hdr := map[string]string{"Idempotency-Key": "transfer-1"}
	status, h1, first := postWith(t, tg.url+"/rpc/ac_transfer", body, hdr)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, first)
	}
	before := balance(t, tg.url, acct[1].Address)
	status, h2, second := postWith(t, tg.url+"/rpc/ac_transfer", body, hdr)
	if status != http.StatusOK || second != first || h2.Get("Idempotent-Replayed") != "true" || h2.Get(headerMessageID) != h1.Get(headerMessageID) {
		t.Fatalf("retry: %d %v %s, want the first answer %s", status, h2, second, first)
	}
	if after := balance(t, tg.url, acct[1].Address); after != before {
		t.Fatalf("the retry moved funds again: %s then %s", before, after)
	}
	// The same key with another request is refused.
	if status, _, body := postWith(t, tg.url+"/rpc/ac_transfer", transferBody(acct[0].Address, acct[1].Address, 5), hdr); status != http.StatusUnprocessableEntity {
		t.Fatalf("key reuse: %d %s", status, body)
	}
}

// gatedCalls holds the first call that claims an idempotency key right after
// its claim, until release is closed.
type gatedCalls struct {
	state.Calls
	claims  atomic.Int64
	once    sync.Once
	claimed chan struct{}
	release chan struct{}
}

func (g *gatedCalls) Claim(ctx context.Context, key, fingerprint, id string, ttl time.Duration) (string, string, bool, error) {
	boundID, boundFP, claimed, err := g.Calls.Claim(ctx, key, fingerprint, id, ttl)
	g.claims.Add(1)
	if claimed {
		g.once.Do(func() {
			close(g.claimed)
			<-g.release
		})
	}
	return boundID, boundFP, claimed, err
}

// TestIdempotencyKeyRetryRightAfterClaim: a retry that comes while the first
// call has just claimed its key waits for the first call's answer; it is not
// refused as the retry of a call whose instance died.
func TestIdempotencyKeyRetryRightAfterClaim(t *testing.T) {
	t.Parallel()
	gated := &gatedCalls{Calls: state.NewMemoryCalls(), claimed: make(chan struct{}), release: make(chan struct{})}
	tg := startGateway(t, gatewayOptions{cfg: Config{Calls: gated}})
	type reply struct {
		status int
		h      http.Header
		body   string
	}
	// send posts the call from its own goroutine, where t.Fatal is not
	// allowed: a failure is a reply of status 0.
	send := func() <-chan reply {
		ch := make(chan reply, 1)
		go func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, tg.url+"/rpc/latestHeight", strings.NewReader(`{"chainId":2}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "k")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				ch <- reply{body: err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			ch <- reply{resp.StatusCode, resp.Header, string(b)}
		}()
		return ch
	}
	first := send()
	<-gated.claimed
	retried := send()
	waitFor(t, "the retry to find the key bound", func() bool { return gated.claims.Load() == 2 })
	close(gated.release)
	a, b := <-first, <-retried
	if a.status != http.StatusOK || b.status != http.StatusOK || a.body != b.body || b.h.Get(calls.HeaderReplayed) != "true" {
		t.Fatalf("first %d %s, retry %d %v %s: want the first answer replayed", a.status, a.body, b.status, b.h, b.body)
	}
}

// redisOptions makes a gateway share calls, documents and streams in Redis.
func redisOptions(t *testing.T, rdb *redis.Client, prefix, instance, nodeURL string) gatewayOptions {
	t.Helper()
	cl, err := subscriptions.NewRedisCluster(rdb, subscriptions.RedisClusterConfig{Prefix: prefix, Instance: instance}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx(t, cl.Run)
	docs := state.NewRedisDocuments(rdb, prefix+":compounds", 0)
	return gatewayOptions{
		nodeURL: nodeURL,
		hub:     subscriptions.Config{Cluster: cl, ClusterTick: 100 * time.Millisecond},
		cfg: Config{
			Instance:  instance,
			Calls:     state.NewRedisCalls(rdb, prefix, 0),
			Documents: state.NewRedisDocuments(rdb, prefix+":catalog", 0),
			Compounds: compound.DocumentStore{Docs: docs},
		},
	}
}

// TestSharedStateAcrossInstances: two gateways sharing Redis answer for each
// other: an async call made on one is read on the other, an idempotent call
// retried on the other is not run twice, a compound method created on one
// is served by the other, and a stream resumes on the other.
func TestSharedStateAcrossInstances(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	node := startNode(t, devnode.Config{})
	ta := newTestAuth(t, auth.Config{})
	oa, ob := redisOptions(t, rdb, prefix, "a", node.URL()), redisOptions(t, rdb, prefix, "b", node.URL())
	oa.cfg.Auth, ob.cfg.Auth = ta, ta
	oa.cfg.Policy, ob.cfg.Policy = devWallet(t), devWallet(t)
	a, b := startGateway(t, oa), startGateway(t, ob)

	_, h, _ := postWith(t, a.url+"/rpc/latestHeight", `{"chainId":2}`, map[string]string{"Prefer": "respond-async"})
	if status, body := awaitRequest(t, b.url+h.Get("Location")); status != http.StatusOK || body != `{"value":0}` {
		t.Fatalf("async result read on b: %d %s", status, body)
	}

	acct := node.GenesisAccounts()
	body := transferBody(acct[0].Address, acct[2].Address, 7)
	hdr := map[string]string{"Idempotency-Key": "k-" + prefix}
	_, _, first := postWith(t, a.url+"/rpc/ac_transfer", body, hdr)
	before := balance(t, a.url, acct[2].Address)
	status, h2, second := postWith(t, b.url+"/rpc/ac_transfer", body, hdr)
	if status != http.StatusOK || second != first || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry on b: %d %s, want %s", status, second, first)
	}
	if after := balance(t, b.url, acct[2].Address); after != before {
		t.Fatal("the retry on another instance ran the transfer again")
	}

	if status, _, body := postWith(t, a.url+"/compound-methods", `{"name":"h2","methods":[{"method":"latestHeight","params":{"chainId":"c"}}]}`, bearer(ta.admin)); status != http.StatusCreated {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, body := post(t, b.url+"/rpc/h2", `{"c":2}`); status != http.StatusOK || body != `{"latestHeight":{"value":0}}` {
		t.Fatalf("compound on b: %d %s", status, body)
	}

	sa := openSSE(t, a.url+"/rpc/latestHeight/stream?chainId=2", "")
	first2 := sa.next(3 * time.Second)
	node.ProduceBlock()
	sa.next(3 * time.Second)
	sa.close()
	node.ProduceBlock()
	node.ProduceBlock()
	sb := openSSE(t, b.url+"/rpc/latestHeight/stream?chainId=2", first2.ID)
	for want := int64(1); want <= 3; want++ {
		ev := sb.next(3 * time.Second)
		if height(t, ev) != want {
			t.Fatalf("resumed on b: %+v, want height %d", ev, want)
		}
	}
}

// stallingCalls fails every operation after a delay, as Redis does while
// it is away (a dial timeout).
type stallingCalls struct {
	state.Calls
	delay time.Duration
	begun atomic.Int64
}

func (c *stallingCalls) Begin(_ context.Context, _ state.CallRecord, _ time.Duration) error {
	c.begun.Add(1)
	time.Sleep(c.delay)
	return errors.New("redis: dial tcp: connection refused")
}

// TestPlainCallsSkipStateWhileDown: when recording a call fails, the next
// plain calls do not wait on the shared state again for a while.
func TestPlainCallsSkipStateWhileDown(t *testing.T) {
	t.Parallel()
	calls := &stallingCalls{Calls: state.NewMemoryCalls(), delay: 300 * time.Millisecond}
	tg := startGateway(t, gatewayOptions{cfg: Config{Calls: calls}})
	if status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	start := time.Now()
	for i := 0; i < 5; i++ {
		if status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
	}
	if d := time.Since(start); d > 300*time.Millisecond || calls.begun.Load() != 1 {
		t.Fatalf("5 calls took %v with %d attempts to record: want no wait after the first failure", d, calls.begun.Load())
	}
	// What needs the state still says so.
	if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, map[string]string{"Prefer": "respond-async"}); status != http.StatusServiceUnavailable {
		t.Fatalf("async while the state is down: %d, want 503", status)
	}
}

// TestIdempotencyKeepsOnlyFinalAnswers is the IETF Idempotency-Key rule: a
// transient answer (the node down: 503) is not stored, and the key is free
// for the retry, which runs; a final answer is replayed as long as it is
// kept, and then the key is free too.
func TestIdempotencyKeepsOnlyFinalAnswers(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the node is not there yet
	tg := startGateway(t, gatewayOptions{nodeURL: "ws://" + addr, noWait: true,
		cfg: Config{UnlistedScope: "public", ResultTTL: 700 * time.Millisecond}})
	hdr := map[string]string{calls.HeaderIdempotencyKey: "k-transient"}
	status, h, _ := postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, hdr)
	if status != http.StatusServiceUnavailable || h.Get(calls.HeaderReplayed) != "" {
		t.Fatalf("node down: %d %v", status, h)
	}
	startNode(t, devnode.Config{Listen: addr})
	waitFor(t, "connected", tg.client.Ready)
	status, h, body := postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, hdr)
	if status != http.StatusOK || h.Get(calls.HeaderReplayed) != "" {
		t.Fatalf("the retry after a 503: %d %v %s, want it run (200, not replayed)", status, h, body)
	}
	_, h, _ = postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, hdr)
	if h.Get(calls.HeaderReplayed) != "true" {
		t.Fatal("a final answer was not replayed")
	}
	time.Sleep(time.Second) // past ResultTTL: the answer and the key are gone
	status, h, body = postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, hdr)
	if status != http.StatusOK || h.Get(calls.HeaderReplayed) != "" {
		t.Fatalf("after the answer expired: %d %v %s, want the key free (not 409)", status, h, body)
	}
}

// slowCalls answers every operation after 5s, or when its context ends, as
// a Redis that is slow (DEBUG SLEEP 5).
type slowCalls struct{ state.Calls }

func (slowCalls) wait(ctx context.Context) error {
	select {
	case <-time.After(5 * time.Second):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (c slowCalls) Begin(ctx context.Context, _ state.CallRecord, _ time.Duration) error {
	return c.wait(ctx)
}
func (c slowCalls) Finish(ctx context.Context, _ state.CallRecord, _ time.Duration) error {
	return c.wait(ctx)
}

// TestPlainCallsDoNotWaitOnASlowState: a plain call needs no shared state,
// and waits at most plainStateWait for it, however slow Redis is.
func TestPlainCallsDoNotWaitOnASlowState(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{Calls: slowCalls{state.NewMemoryCalls()}}})
	start := time.Now()
	if status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a plain call took %v with the shared state answering in 5s", d)
	}
}
