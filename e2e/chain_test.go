package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// headerHeight returns the height of a newHeaders event (a BlockHeaderDto).
func headerHeight(e received) (int64, error) {
	var v struct{ Height *int64 }
	if err := json.Unmarshal([]byte(e.Data), &v); err != nil || v.Height == nil {
		return 0, fmt.Errorf("event %s data %.100q: want a header with its height", e.ID, e.Data)
	}
	return *v.Height, nil
}

// rollbackNode rolls a devnode back over its control endpoint and returns
// its new height.
func rollbackNode(t *testing.T, control string, blocks int) int64 {
	t.Helper()
	a, err := post(t.Context(), "http://"+control+"/rollback", `{"blocks":`+strconv.Itoa(blocks)+`}`)
	var h struct{ Height int64 }
	if err != nil || a.Status != http.StatusOK || json.Unmarshal(a.Body, &h) != nil {
		t.Fatalf("POST /rollback: %v %d %s", err, a.Status, a.Body)
	}
	return h.Height
}

// TestRollbackAnnounced: the node goes back 4 blocks. Every newHeaders
// reader gets exactly one rollback event naming the new tip, and then the
// new tip's header and the headers after it, in order; and the header the
// cache kept above the new tip is not answered from the cache again.
func TestRollbackAnnounced(t *testing.T) {
	control := localAddr(freePort(t))
	node := startDevnode(t, "--block-interval", "1s", "--control", control)
	gw := startGateway(t, "--upstream", node.URL, "--chain-id", "2", "--cache-depth", "1")
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var readers []*followingClient
	var waits []func()
	for range 5 {
		fc, wait := follow(ctx, []string{gw.URL}, "/rpc/newHeaders/stream?chainId=2", 0, 0)
		readers, waits = append(readers, fc), append(waits, wait)
	}
	for heightOf(t, gw) < 4 {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)       // every reader has its first headers
	cached := heightOf(t, gw) - 2 // the cache's tip may be a block behind
	header := func() rpcAnswer {
		a, err := post(t.Context(), gw.URL+"/rpc/getBlockHeaderByHeight", fmt.Sprintf(`{"chainId":2,"height":%d}`, cached))
		if err != nil || a.Status != http.StatusOK {
			t.Fatalf("getBlockHeaderByHeight %d: %v %d %s", cached, err, a.Status, a.Body)
		}
		return a
	}
	header()
	if a := header(); a.Header.Get("Cache-Status") != "nuls-gateway; hit" {
		t.Fatalf("the second read of header %d: Cache-Status %q", cached, a.Header.Get("Cache-Status"))
	}
	tip := rollbackNode(t, control, 4)
	if tip >= cached {
		t.Fatalf("rolled back to %d, not below the cached header %d", tip, cached)
	}
	time.Sleep(3 * time.Second) // the cache's tip poll, and new blocks
	if a := header(); a.Header.Get("Cache-Status") == "nuls-gateway; hit" {
		t.Errorf("header %d, above the new tip %d, was answered from the cache", cached, tip)
	}
	stop()
	for _, w := range waits {
		w()
	}
	for i, fc := range readers {
		var rollbacks []string
		var prev int64 = -1
		after := false
		for _, e := range fc.events() {
			switch e.Type {
			case "rollback":
				rollbacks = append(rollbacks, e.Data)
				var rb struct{ Height int64 }
				_ = json.Unmarshal([]byte(e.Data), &rb)
				if rb.Height != tip {
					t.Errorf("reader %d: rollback %s, want the new tip %d", i, e.Data, tip)
				}
				prev, after = rb.Height-1, true
				continue
			case "gap":
				t.Errorf("reader %d: a gap event %s", i, e.Data)
				continue
			}
			h, err := headerHeight(e)
			if err != nil {
				t.Errorf("reader %d: %v", i, err)
				continue
			}
			if prev >= 0 && h != prev+1 {
				t.Errorf("reader %d: header %d after %d (after the rollback: %v)", i, h, prev, after)
			}
			prev = h
		}
		if len(rollbacks) != 1 {
			t.Errorf("reader %d: %d rollback events %v, want 1", i, len(rollbacks), rollbacks)
		}
		if !after || prev <= tip {
			t.Errorf("reader %d: no header after the rollback's tip %d (last %d)", i, tip, prev)
		}
	}
}

// produceBlocks makes n blocks on a devnode over its control endpoint and
// returns its new height.
func produceBlocks(t *testing.T, control string, n int) int64 {
	t.Helper()
	a, err := post(t.Context(), "http://"+control+"/produce", `{"blocks":`+strconv.Itoa(n)+`}`)
	var h struct{ Height int64 }
	if err != nil || a.Status != http.StatusOK || json.Unmarshal(a.Body, &h) != nil {
		t.Fatalf("POST /produce: %v %d %s", err, a.Status, a.Body)
	}
	return h.Height
}

// readHeaders reads the headers of heights from to to (inclusive) from s,
// in order and nothing else, and returns the last one's event ID.
func readHeaders(t *testing.T, s *sseStream, from, to int64) string {
	t.Helper()
	var last string
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for want := from; want <= to; want++ {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				t.Fatalf("the stream ended before height %d: %v", want, s.Err())
			}
			h, err := headerHeight(received{sseEvent: ev})
			if err != nil || ev.Type != "" {
				t.Fatalf("at height %d: %s event %s %.100q (%v)", want, ev.Type, ev.ID, ev.Data, err)
			}
			if h != want {
				t.Fatalf("header %d, want %d", h, want)
			}
			if ev.ID == "" {
				t.Fatalf("header %d has no ID", h)
			}
			last = ev.ID
		case <-timeout.C:
			t.Fatalf("no header %d within 30s", want)
		}
	}
	return last
}

// TestResumeByHeight: a newHeaders reader that comes back 2,000 headers
// later with its Last-Event-ID, long after the stream's retention (50
// events) let them go, gets exactly those 2,000 headers in order, then the
// live ones; and so does a reader that comes back to a gateway restarted
// since, whose log started over.
func TestResumeByHeight(t *testing.T) {
	control := localAddr(freePort(t))
	node := startDevnode(t, "--block-interval", "-1s", "--control", control)
	gwArgs := []string{"--upstream", node.URL, "--chain-id", "2", "--retention", "50", "--rate-plans", "anonymous=unlimited,default=unlimited"}
	gw := startGateway(t, gwArgs...)
	const path = "/rpc/newHeaders/stream?chainId=2"
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// A reader that stays keeps the stream's log going while the other
	// is away.
	keeper, err := openSSE(ctx, gw.URL+path, "")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range keeper.Events() {
		}
	}()
	readerCtx, closeReader := context.WithCancel(ctx)
	reader, err := openSSE(readerCtx, gw.URL+path, "")
	if err != nil {
		t.Fatal(err)
	}
	start := produceBlocks(t, control, 1)
	var first sseEvent
	for first.ID == "" || first.Data == "" {
		first = <-reader.Events()
	}
	if h, err := headerHeight(received{sseEvent: first}); err != nil || h > start {
		t.Fatalf("first header: %d, %v", h, err)
	}
	h0, _ := headerHeight(received{sseEvent: first})
	closeReader()

	// 2,000 blocks, at a pace the live stream keeps up with (all at once,
	// the upstream subscription drops as a consumer too slow).
	var top int64
	for range 200 {
		top = produceBlocks(t, control, 10)
		time.Sleep(5 * time.Millisecond)
	}
	backCtx, closeBack := context.WithCancel(ctx)
	resumed := time.Now()
	back, err := openSSE(backCtx, gw.URL+path, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	readHeaders(t, back, h0+1, top)
	t.Logf("%d headers after Last-Event-ID %s, in %v", top-h0, first.ID, time.Since(resumed).Round(time.Millisecond))
	if top-h0 < 2000 {
		t.Fatalf("%d headers later, want 2,000", top-h0)
	}
	produceBlocks(t, control, 1)
	last := readHeaders(t, back, top+1, top+1)
	closeBack()

	// The gateway restarts: its logs start over; the reader's ID still
	// carries its height.
	gw.stop(t)
	gw.killed.Store(true) // its exit is expected at the cleanup
	gw2 := startGateway(t, gwArgs...)
	top = produceBlocks(t, control, 30)
	again, err := openSSE(ctx, gw2.URL+path, last)
	if err != nil {
		t.Fatal(err)
	}
	readHeaders(t, again, top-29, top)
	produceBlocks(t, control, 1)
	readHeaders(t, again, top+1, top+1)
}
