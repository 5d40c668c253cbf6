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
