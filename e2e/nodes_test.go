package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// heightOf is the chain height a gateway's node reports.
func heightOf(t *testing.T, gw *gatewayProc) int64 {
	t.Helper()
	status, body := httpPost(t, gw.URL+"/rpc/latestHeight", `{"chainId":2}`)
	var h struct{ Value int64 }
	if status != http.StatusOK || json.Unmarshal([]byte(body), &h) != nil {
		t.Fatalf("latestHeight: %d %s", status, body)
	}
	return h.Value
}

// putFaults sets a devnode's faults over its control endpoint.
func putFaults(t *testing.T, control, faults string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, "http://"+control+"/faults", strings.NewReader(faults))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /faults %s: %d", faults, resp.StatusCode)
	}
}

// TestSimulatedNetwork runs the simulated network of cmd/devnode as
// processes: a leader making blocks and two followers, each behind a
// gateway of its own. A transfer sent through one follower reaches the
// other with the leader's block; a follower told to lag stays behind, one
// told to stall freezes its head while the others move, and both catch up
// when healed.
func TestSimulatedNetwork(t *testing.T) {
	t.Parallel()
	leader := startDevnode(t, "--block-interval", "200ms")
	controls := []string{localAddr(freePort(t)), localAddr(freePort(t))}
	keys, key := operatorKey(t) // the wallet takes passwords: an operator's key
	var gws []*gatewayProc
	for _, control := range controls {
		f := startDevnode(t, "--follow", leader.URL, "--control", control)
		gws = append(gws, startGateway(t, "--upstream", f.URL, "--keys-file", keys, "--scopes", "public,admin"))
	}
	within := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s (heights %d and %d)", what, heightOf(t, gws[0]), heightOf(t, gws[1]))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	from, to := "tNULSeBaMqPDhRwU2N8W6KCDqdzo6ZC2dDyjzQ", "tNULSeBaMvFJXnZDDCDg4atgffGQyzBfU6NNHY"
	balance := func(gw *gatewayProc) string {
		_, body := httpPost(t, gw.URL+"/rpc/getBalance", fmt.Sprintf(`{"chainId":2,"assetChainId":2,"assetId":1,"address":%q}`, to))
		var b struct{ Total json.Number }
		_ = json.Unmarshal([]byte(body), &b)
		return b.Total.String()
	}
	before := balance(gws[1])
	a, err := post(t.Context(), gws[0].URL+"/rpc/ac_transfer", transferBody(from, to, 100000000), "Authorization", "Bearer "+key)
	if err != nil || a.Status != http.StatusOK {
		t.Fatalf("transfer through the first follower: %d %s %v", a.Status, a.Body, err)
	}
	within("the transfer reaches the second follower", func() bool { return balance(gws[1]) != before })

	putFaults(t, controls[1], `{"lag":5}`)
	within("the second follower lags 5 blocks", func() bool { return heightOf(t, gws[0])-heightOf(t, gws[1]) >= 5 })

	putFaults(t, controls[0], `{"stall":true}`)
	time.Sleep(200 * time.Millisecond)
	stalled := heightOf(t, gws[0])
	within("the others move past the stalled one", func() bool { return heightOf(t, gws[1]) > stalled+2 })
	if h := heightOf(t, gws[0]); h != stalled {
		t.Errorf("the stalled follower went from %d to %d", stalled, h)
	}

	putFaults(t, controls[0], `{}`)
	putFaults(t, controls[1], `{}`)
	within("both catch up", func() bool {
		a, b := heightOf(t, gws[0]), heightOf(t, gws[1])
		return a > stalled && a-b <= 1 && b-a <= 1
	})
}
