package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
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

// readyNodes returns /readyz's status and its nodes' states.
func readyNodes(t *testing.T, gw *gatewayProc) (int, map[string]string) {
	t.Helper()
	status, body, err := httpGet(t.Context(), gw.URL+"/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Nodes map[string]string }
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("/readyz: %v: %s", err, body)
	}
	return status, h.Nodes
}

// TestSeveralNodes runs a gateway in front of three nodes of one chain
// (followers of a leader, as processes) under steady reads, while one node
// stalls, then another dies: no read fails, /readyz names each node's state
// and fails only when every node is out, the admin endpoint and the metrics
// show them.
func TestSeveralNodes(t *testing.T) {
	t.Parallel()
	leader := startDevnode(t, "--block-interval", "200ms")
	var (
		followers []*devnodeProc
		controls  []string
		urls      []string
	)
	for range 3 {
		control := localAddr(freePort(t))
		f := startDevnode(t, "--follow", leader.URL, "--control", control)
		followers, controls, urls = append(followers, f), append(controls, control), append(urls, f.URL)
	}
	keys, key := operatorKey(t)
	gw := startGateway(t, "--upstream", strings.Join(urls, ","), "--chain-id", "2", "--stall-after", "1s",
		"--keys-file", keys, "--scopes", "public,admin")
	waitNodes := func(what string, want map[string]string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, nodes := readyNodes(t, gw)
			ok := true
			for name, state := range want {
				if nodes[name] != state {
					ok = false
				}
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: nodes %v, want %v", what, nodes, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitNodes("at start", map[string]string{"node1": "in rotation", "node2": "in rotation", "node3": "in rotation"})

	ctx, stopCalls := context.WithCancel(t.Context())
	reads, wait := startCaller(ctx, []string{gw.URL}, 50*time.Millisecond) // within the anonymous rate
	stream, stopStream := follow(ctx, []string{gw.URL}, heightStream, 0, 0)
	start := time.Now()

	putFaults(t, controls[0], `{"stall":true}`)
	waitNodes("node1 stalls", map[string]string{"node1": "stalled"})
	followers[1].kill(t)
	waitNodes("node2 dies", map[string]string{"node1": "stalled", "node3": "in rotation"})
	time.Sleep(time.Second)
	putFaults(t, controls[0], `{}`)
	waitNodes("node1 heals", map[string]string{"node1": "in rotation"})
	time.Sleep(time.Second)
	stopCalls()
	wait()
	stopStream()
	checkStream(t, stream.events())
	calls := reads.between(start, time.Now())
	failed := 0
	for _, c := range calls {
		if c.Err != nil || c.Status != http.StatusOK {
			failed++
		}
	}
	t.Logf("%d reads while a node stalled and another died: %s; slowest %v", len(calls), statuses(calls), slowest(calls))
	if failed > 0 || len(calls) < 40 {
		t.Errorf("%d of %d reads failed: %s", failed, len(calls), statuses(calls))
	}

	// No step back: a read with the height of the last answer as its floor
	// is answered by a node at least that high; a floor no node reaches is
	// a 503 soon, a floor that is no height a 400.
	first, err := post(t.Context(), gw.URL+"/rpc/latestHeight", `{"chainId":2}`)
	if err != nil || first.Header.Get("X-Nuls-Height") == "" {
		t.Fatalf("a read through several nodes: %d %v, no X-Nuls-Height", first.Status, err)
	}
	seen, _ := strconv.ParseInt(first.Header.Get("X-Nuls-Height"), 10, 64)
	next, err := post(t.Context(), gw.URL+"/rpc/latestHeight", `{"chainId":2}`, "X-Nuls-Min-Height", first.Header.Get("X-Nuls-Height"))
	if got, _ := strconv.ParseInt(next.Header.Get("X-Nuls-Height"), 10, 64); err != nil || next.Status != http.StatusOK || got < seen {
		t.Errorf("a read with the floor %d: %d, answered at %d, %v", seen, next.Status, got, err)
	}
	if a, err := post(t.Context(), gw.URL+"/rpc/latestHeight", `{"chainId":2}`, "X-Nuls-Min-Height", strconv.FormatInt(seen+1_000_000, 10)); err != nil || a.Status != http.StatusServiceUnavailable {
		t.Errorf("a floor no node reaches: %d %v", a.Status, err)
	}
	if a, err := post(t.Context(), gw.URL+"/rpc/latestHeight", `{"chainId":2}`, "X-Nuls-Min-Height", "-1"); err != nil || a.Status != http.StatusBadRequest {
		t.Errorf("a floor that is no height: %d %v", a.Status, err)
	}

	// The nodes' addresses are the operator's: admin scope.
	if a, err := get(t.Context(), gw.URL+"/nodes"); err != nil || a.Status != http.StatusUnauthorized {
		t.Errorf("GET /nodes without a key: %d %v", a.Status, err)
	}
	a, err := get(t.Context(), gw.URL+"/nodes", "Authorization", "Bearer "+key)
	if err != nil || a.Status != http.StatusOK || !strings.Contains(string(a.Body), urls[2]) || !strings.Contains(string(a.Body), `"calls"`) {
		t.Errorf("GET /nodes: %d %s %v", a.Status, a.Body, err)
	}
	_, metrics, err := httpGet(t.Context(), gw.URL+"/metrics")
	if err != nil || !strings.Contains(string(metrics), `nuls_gateway_upstream_node_state{node="node3",state="in rotation"} 1`) {
		t.Errorf("metrics lack the nodes' states: %v", err)
	}
	if strings.Contains(string(metrics), urls[0]) {
		t.Error("the metrics, open to all, name a node's address")
	}

	for _, f := range followers {
		f.kill(t)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, nodes := readyNodes(t, gw)
		if status == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz %d with every node dead: %v", status, nodes)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get sends a GET with the headers given (name, value pairs).
func get(ctx context.Context, url string, header ...string) (rpcAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return rpcAnswer{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rpcAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return rpcAnswer{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// checkStream checks a latestHeight stream across node faults: its heights
// never go backwards, and it is never silent for 3 s or more. Its gap
// events are counted: usually none (its subscription moved to a standby
// that replayed what was missed); one when no standby could tell.
func checkStream(t *testing.T, evs []received) {
	t.Helper()
	var (
		last, gaps int64
		prevAt     time.Time
		silence    time.Duration
		pushes     int
	)
	for _, e := range evs {
		if !prevAt.IsZero() {
			silence = max(silence, e.At.Sub(prevAt))
		}
		prevAt = e.At
		switch e.Type {
		case "gap":
			gaps++
			continue
		case "":
		default:
			t.Errorf("a %s event: %s", e.Type, e.Data)
			continue
		}
		h, err := e.height()
		if err != nil {
			t.Fatal(err)
		}
		if h < last {
			t.Errorf("the stream went back from height %d to %d", last, h)
		}
		last = h
		pushes++
	}
	t.Logf("stream: %d pushes up to height %d, %d gap events, longest silence %v", pushes, last, gaps, silence)
	if pushes < 10 || silence >= 3*time.Second {
		t.Errorf("stream: %d pushes, %d gap events, longest silence %v", pushes, gaps, silence)
	}
}
