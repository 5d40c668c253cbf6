package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Genesis accounts of the simulated node on chain 2 (password nuls123456).
const (
	accountA = genesisAddress
	accountB = "tNULSeBaMvFJXnZDDCDg4atgffGQyzBfU6NNHY"
	// transferFee is what a transfer's inputs give beyond its outputs:
	// the node's minimum fee.
	transferFee = 100000
)

// transferBody is ac_transfer's parameters: amount from one account to
// another, plus the fee.
func transferBody(from, to string, amount int64) string {
	return fmt.Sprintf(`{"chainId":2,"remark":"t","inputs":[{"address":%q,"assetsChainId":2,"assetsId":1,"amount":%d,"password":"nuls123456"}],"outputs":[{"address":%q,"assetsChainId":2,"assetsId":1,"amount":%d}]}`,
		from, amount+transferFee, to, amount)
}

// balanceOf returns an account's total balance through a gateway.
func balanceOf(t *testing.T, base, address string) *big.Int {
	t.Helper()
	a, err := post(t.Context(), base+"/rpc/getBalance", `{"chainId":2,"assetChainId":2,"assetId":1,"address":"`+address+`"}`)
	if err != nil || a.Status != http.StatusOK {
		t.Fatalf("getBalance %s: %d %s %v", address, a.Status, a.Body, err)
	}
	var b struct{ Total json.Number }
	if err := json.Unmarshal(a.Body, &b); err != nil {
		t.Fatalf("getBalance %s: %s: %v", address, a.Body, err)
	}
	n, ok := new(big.Int).SetString(b.Total.String(), 10)
	if !ok {
		t.Fatalf("getBalance %s: total %q", address, b.Total)
	}
	return n
}

// TestClusterAsyncAndIdempotency checks the calls that share state through
// Redis: an asynchronous call made on one instance is answered on the
// others, and a transfer with an Idempotency-Key, retried on the other
// instances, runs once and answers the same everywhere.
func TestClusterAsyncAndIdempotency(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	g := c.Gateways

	t.Run("async", func(t *testing.T) {
		a, err := post(t.Context(), g[0].URL+"/rpc/latestHeight", `{"chainId":2}`, "Prefer", "respond-async")
		if err != nil || a.Status != http.StatusAccepted || a.Header.Get("Location") == "" {
			t.Fatalf("async call on instance 0: %d %v %s %v, want 202 with a Location", a.Status, a.Header, a.Body, err)
		}
		loc := a.Header.Get("Location")
		var answers []string
		for i := 1; i < len(g); i++ {
			status, body := awaitRequest(t, g[i].URL+loc)
			if status != http.StatusOK {
				t.Fatalf("GET %s on instance %d: %d %s, want 200", loc, i, status, body)
			}
			answers = append(answers, string(body))
		}
		if answers[0] != answers[1] {
			t.Errorf("answers of instances 1 and 2 differ: %s, %s", answers[0], answers[1])
		}
		var h struct{ Value *int64 }
		if err := json.Unmarshal([]byte(answers[0]), &h); err != nil || h.Value == nil {
			t.Errorf("answer %s, want {\"value\":N}", answers[0])
		}
	})

	// Posted to instance 0, retried on 1 and 2 as soon as instance 0 has
	// claimed the key in Redis, all three in flight together.
	t.Run("idempotency key, retried on the others", func(t *testing.T) {
		const amount = 12345
		fromBefore, toBefore := balanceOf(t, g[0].URL, accountA), balanceOf(t, g[0].URL, accountB)
		key := "e2e-" + randomHex(8)
		body := transferBody(accountA, accountB, amount)
		answers := make([]rpcAnswer, len(g))
		errs := make([]error, len(g))
		var wg sync.WaitGroup
		var firstDone time.Time
		wg.Go(func() {
			answers[0], errs[0] = post(t.Context(), g[0].URL+"/rpc/ac_transfer", body, "Idempotency-Key", key, "Authorization", "Bearer "+c.OperatorKey)
			firstDone = time.Now()
		})
		// Poll without pause: the first call takes a few milliseconds.
		// The key's name in Redis is the credential's scope of it.
		for deadline := time.Now().Add(5 * time.Second); len(c.Redis.Client.Keys(t.Context(), c.Prefix+":idem:* "+key).Val()) == 0; {
			if time.Now().After(deadline) {
				t.Fatal("instance 0 did not claim the key in Redis")
			}
		}
		retried := time.Now()
		for i := 1; i < len(g); i++ {
			wg.Go(func() {
				answers[i], errs[i] = post(t.Context(), g[i].URL+"/rpc/ac_transfer", body, "Idempotency-Key", key, "Authorization", "Bearer "+c.OperatorKey)
			})
		}
		wg.Wait()
		for i := 1; i < len(g); i++ {
			answers[i], errs[i] = retryWhileInFlight(t, g[i].URL+"/rpc/ac_transfer", body, key, c.OperatorKey, answers[i], errs[i])
		}
		if d := firstDone.Sub(retried); d > 0 {
			t.Logf("retries sent %v before instance 0 answered", d)
		} else {
			t.Logf("retries sent %v after instance 0 answered", -d)
		}
		checkIdempotent(t, answers, errs, 0)
		checkTransferredOnce(t, g[2].URL, fromBefore, toBefore, amount)
	})

	// The three at once: whichever claims the key first runs the call.
	t.Run("idempotency key, three at once", func(t *testing.T) {
		const amount = 54321
		fromBefore, toBefore := balanceOf(t, g[1].URL, accountA), balanceOf(t, g[1].URL, accountB)
		key := "e2e-" + randomHex(8)
		body := transferBody(accountA, accountB, amount)
		answers := make([]rpcAnswer, len(g))
		errs := make([]error, len(g))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range g {
			wg.Go(func() {
				<-start
				answers[i], errs[i] = post(t.Context(), g[i].URL+"/rpc/ac_transfer", body, "Idempotency-Key", key, "Authorization", "Bearer "+c.OperatorKey)
			})
		}
		close(start)
		wg.Wait()
		// A retry that finds the key in flight on another instance is
		// answered 409 at once, with Retry-After (the instances never
		// poll the store for it): the client retries, as told.
		for i := range g {
			answers[i], errs[i] = retryWhileInFlight(t, g[i].URL+"/rpc/ac_transfer", body, key, c.OperatorKey, answers[i], errs[i])
		}
		checkIdempotent(t, answers, errs, -1)
		checkTransferredOnce(t, g[0].URL, fromBefore, toBefore, amount)
	})
}

// retryWhileInFlight posts the call again, as its Retry-After says, while
// its answer is a 409 for a key whose first call runs on another instance;
// it returns the first other answer.
func retryWhileInFlight(t *testing.T, url, body, key, credential string, a rpcAnswer, err error) (rpcAnswer, error) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); err == nil && a.Status == http.StatusConflict; {
		after, aerr := strconv.Atoi(a.Header.Get("Retry-After"))
		if aerr != nil || after < 0 || time.Now().After(deadline) {
			t.Fatalf("a 409 without a usable Retry-After (%q), or never done: %s", a.Header.Get("Retry-After"), a.Body)
		}
		time.Sleep(time.Duration(after) * time.Second / 4) // the call is short: a quarter of the hint is plenty
		a, err = post(t.Context(), url, body, "Idempotency-Key", key, "Authorization", "Bearer "+credential)
	}
	return a, err
}

// checkIdempotent checks the answers of one call posted with one
// Idempotency-Key to every instance: all 200 and equal, and all but one
// (first, or any when first is -1) marked Idempotent-Replayed: true.
func checkIdempotent(t *testing.T, answers []rpcAnswer, errs []error, first int) {
	t.Helper()
	ran := -1
	for i, a := range answers {
		if errs[i] != nil || a.Status != http.StatusOK {
			t.Fatalf("instance %d: %d %s %v, want 200", i, a.Status, a.Body, errs[i])
		}
		if string(a.Body) != string(answers[0].Body) {
			t.Errorf("instance %d answered %s, instance 0 %s: want the same answer", i, a.Body, answers[0].Body)
		}
		switch a.Header.Get("Idempotent-Replayed") {
		case "true":
		case "":
			if ran >= 0 {
				t.Errorf("instances %d and %d both ran the call", ran, i)
			}
			ran = i
		default:
			t.Errorf("instance %d: Idempotent-Replayed: %q", i, a.Header.Get("Idempotent-Replayed"))
		}
	}
	if ran < 0 || (first >= 0 && ran != first) {
		t.Errorf("instance %d ran the call (no Idempotent-Replayed), want instance %d", ran, first)
	}
	t.Logf("answer %s; instance %d ran the call, the others replayed it", answers[0].Body, ran)
}

// checkTransferredOnce checks that the balances moved by one transfer of
// amount, and stay there for a few blocks.
func checkTransferredOnce(t *testing.T, base string, fromBefore, toBefore *big.Int, amount int64) {
	t.Helper()
	wantFrom := new(big.Int).Sub(fromBefore, big.NewInt(amount+transferFee))
	wantTo := new(big.Int).Add(toBefore, big.NewInt(amount))
	time.Sleep(3 * blockInterval)
	from, to := balanceOf(t, base, accountA), balanceOf(t, base, accountB)
	if from.Cmp(wantFrom) != 0 || to.Cmp(wantTo) != 0 {
		t.Errorf("balances %s → %s and %s → %s, want %s and %s: one transfer of %d",
			fromBefore, from, toBefore, to, wantFrom, wantTo, amount)
	}
}

// awaitRequest polls an asynchronous call's location until it answers.
func awaitRequest(t *testing.T, url string) (int, []byte) {
	t.Helper()
	var status int
	var body []byte
	err := waitFor(t.Context(), 5*time.Second, func(ctx context.Context) error {
		var err error
		status, body, err = httpGet(ctx, url)
		if err != nil {
			return err
		}
		if status == http.StatusAccepted {
			return fmt.Errorf("still pending: %s", body)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return status, body
}
