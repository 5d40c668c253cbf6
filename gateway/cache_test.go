package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/cache"
	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/policy"
)

// TestCachedReads: a block's header read twice is the node's answer the
// first time, kept because it is deep enough, and the cache's the second
// (Cache-Status says which); a header too close to the tip is not kept; a
// command the cache does not keep gets no Cache-Status.
func TestCachedReads(t *testing.T) {
	t.Parallel()
	node := startNode(t, devnode.Config{})
	for range 5 {
		node.ProduceBlock()
	}
	c := cache.New(cache.Config{Depth: 2, Tip: func() (int64, bool) { return node.Height(), true }})
	tg := startGateway(t, gatewayOptions{nodeURL: node.URL(), cfg: Config{Cache: c}})
	read := func(height string) (string, string) {
		t.Helper()
		status, h, body := post(t, tg.url+"/rpc/getBlockHeaderByHeight", `{"chainId":2,"height":`+height+`}`)
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		return h.Get("Cache-Status"), body
	}
	first, body1 := read("1")
	second, body2 := read("1")
	if first != "nuls-gateway; fwd=miss; stored" || second != "nuls-gateway; hit" {
		t.Errorf("Cache-Status %q, then %q", first, second)
	}
	if body1 != body2 || !strings.Contains(body1, `"value"`) {
		t.Errorf("the cached answer %s differs from the node's %s", body2, body1)
	}
	tip := node.Height()
	if st, _ := read(strconv.FormatInt(tip-1, 10)); st != `nuls-gateway; fwd=miss; detail="not final"` {
		t.Errorf("a header 1 block deep: Cache-Status %q", st)
	}
	status, h, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`)
	if status != http.StatusOK || h.Get("Cache-Status") != "" {
		t.Errorf("latestHeight: %d %q %s", status, h.Get("Cache-Status"), body)
	}
	if s := c.Stats(); s.Hits != 1 || s.Stored != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestCachedCommandsArePublicReads: whatever the cache keeps is a read the
// catalog knows, public, and bears no secret: a cached answer is served to
// every caller allowed the command, without calling the node.
func TestCachedCommandsArePublicReads(t *testing.T) {
	pol, err := policy.New(policy.Config{Catalog: catalog.NULS2()})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cache.Methods() {
		d := pol.Decide(m, nil)
		if !pol.ReadOnly(m) || d.Scope != bridge.ScopePublic || len(d.Secrets) > 0 {
			t.Errorf("%s is cached, but the policy says read-only %v, scope %q, secrets %v", m, pol.ReadOnly(m), d.Scope, d.Secrets)
		}
	}
}
