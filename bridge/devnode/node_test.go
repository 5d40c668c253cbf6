package devnode

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"bad listen address", Config{Listen: "no-port"}},
		{"chain ID too big", Config{Listen: "127.0.0.1:0", ChainID: 70000}},
		{"negative chain ID", Config{Listen: "127.0.0.1:0", ChainID: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tt.cfg, nil); err == nil {
				t.Fatal("New accepted the config")
			}
		})
	}
}

func TestNewPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := New(Config{Listen: ln.Addr().String()}, nil); err == nil {
		t.Fatal("New listened on a port in use")
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Config{Listen: "0.0.0.0:0"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdvertiseHost != "127.0.0.1" || cfg.BlockInterval != time.Second || cfg.ChainID != 2 || cfg.Now == nil {
		t.Errorf("defaults %+v", cfg)
	}
	cfg, err = Config{}.withDefaults()
	if err != nil || cfg.Listen != "127.0.0.1:7771" {
		t.Errorf("default listen %q, %v", cfg.Listen, err)
	}
}

// TestURLs checks that the URLs are known right after New, the module
// endpoints at /ws on other ports of the same host.
func TestURLs(t *testing.T) {
	t.Parallel()
	n := startNode(t, Config{})
	if !strings.HasPrefix(n.URL(), "ws://127.0.0.1:") || strings.HasSuffix(n.URL(), ":0") {
		t.Errorf("URL %s", n.URL())
	}
	urls := n.ModuleURLs()
	for role, u := range urls {
		if !strings.HasPrefix(u, "ws://127.0.0.1:") || !strings.HasSuffix(u, "/ws") || u == n.URL()+"/ws" {
			t.Errorf("%s URL %s", role, u)
		}
	}
	if diff := cmp.Diff([]string{"account", "block", "consensus", "ledger", "network", "transaction"}, sortedKeys(urls)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
}

// TestModulePaths checks that a module endpoint answers only /ws, like a
// Java module, while the main endpoint answers any path.
func TestModulePaths(t *testing.T) {
	t.Parallel()
	n := startNode(t, Config{})
	ledger := strings.TrimSuffix(n.ModuleURLs()["ledger"], "/ws")
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http"+strings.TrimPrefix(ledger, "ws")+"/other", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d for a path outside /ws", resp.StatusCode)
	}
	// The main endpoint at /ws, the Java kernel's URL for itself.
	c := dial(t, n.URL()+"/ws")
	if diff := jsonDiff(t, `{"value":0}`, call(t, c, "latestHeight", obj{"chainId": chainID})); diff != "" {
		t.Errorf("latestHeight (-want +got):\n%s", diff)
	}
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	n, err := New(Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Run(ctx); err != nil {
		t.Fatalf("Run with an ended context: %v", err)
	}
	if err := n.Run(context.Background()); err == nil {
		t.Error("second Run accepted")
	}
	// The listeners are closed.
	if c, err := net.Dial("tcp", strings.TrimPrefix(n.URL(), "ws://")); err == nil {
		c.Close()
		t.Error("main listener still open")
	}
}

// TestTerminateStopsNode covers the kernel command terminate (D17): the node
// answers, then Run returns.
func TestTerminateStopsNode(t *testing.T) {
	t.Parallel()
	n, err := New(Config{Listen: "127.0.0.1:0", BlockInterval: -1}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(context.Background()) }()
	c := dial(t, n.URL())
	call(t, c, "terminate", nil)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after terminate")
	}
}

// TestAutomaticBlocks checks the block ticker and the latestHeight event
// it raises.
func TestAutomaticBlocks(t *testing.T) {
	t.Parallel()
	n := startNode(t, Config{BlockInterval: 20 * time.Millisecond})
	c := dial(t, n.URL())
	s, _ := subscribe(t, c, "latestHeight", obj{"chainId": chainID})
	last := int64(-1)
	for range 3 {
		p := nextPush(t, s, 5*time.Second)
		h := decode[struct{ Value int64 }](t, p.Results[0].Result).Value
		if h <= last {
			t.Fatalf("height %d after %d", h, last)
		}
		last = h
	}
}

// TestGenesisIsDeterministic checks that two nodes of a chain agree on block
// 0 and the genesis accounts, and that another chain differs.
func TestGenesisIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := newChain(2, time.Now), newChain(2, time.Now)
	if a.latest().hash != b.latest().hash {
		t.Error("genesis hashes differ")
	}
	if diff := cmp.Diff(a.genesisAccounts(), b.genesisAccounts()); diff != "" {
		t.Errorf("genesis accounts differ:\n%s", diff)
	}
	if newChain(1, time.Now).latest().hash == a.latest().hash {
		t.Error("chains 1 and 2 share a genesis")
	}
	// The same transfers at the same times give the same blocks.
	clock := func() time.Time { return time.Unix(1_600_000_000, 0) }
	x, y := newChain(2, clock), newChain(2, clock)
	for _, c := range []*chain{x, y} {
		g := c.genesisAccounts()
		if _, _, err := c.transfer(&transferRequest{
			ChainID: 2,
			Inputs:  []coin{{Address: g[0].Address, AssetsChainID: 2, AssetsID: 1, Amount: amountOf(200_000), Password: GenesisPassword}},
			Outputs: []coin{{Address: g[1].Address, AssetsChainID: 2, AssetsID: 1, Amount: amountOf(100_000)}},
		}); err != nil {
			t.Fatal(err)
		}
		c.produce()
	}
	if x.latest().hash != y.latest().hash {
		t.Error("equal chains made different blocks")
	}
}

// TestRollback: the newest blocks go, their transfers are packed again by
// the next block, and the heights come back with other hashes.
func TestRollback(t *testing.T) {
	n, err := New(Config{Listen: "127.0.0.1:0", BlockInterval: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		n.ProduceBlock()
	}
	g := n.chain.genesisAccounts()
	tx, _, err := n.chain.transfer(&transferRequest{
		ChainID: 2,
		Inputs:  []coin{{Address: g[0].Address, AssetsChainID: 2, AssetsID: 1, Amount: amountOf(200_000), Password: GenesisPassword}},
		Outputs: []coin{{Address: g[1].Address, AssetsChainID: 2, AssetsID: 1, Amount: amountOf(100_000)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.ProduceBlock() // height 4 holds the transfer
	old := n.chain.blockAt(4)
	if got := n.Rollback(2); got != 2 || n.Height() != 2 {
		t.Fatalf("Rollback(2) = %d, height %d; want 2", got, n.Height())
	}
	if _, _, ok := n.chain.txByHash(tx); ok {
		t.Error("the rolled back block's transfer is still confirmed")
	}
	n.ProduceBlock()
	n.ProduceBlock()
	again := n.chain.blockAt(4)
	if again == nil || again.hash == old.hash {
		t.Fatal("height 4 came back with the same hash")
	}
	if _, h, ok := n.chain.txByHash(tx); !ok || h != 3 {
		t.Errorf("the transfer: confirmed %v at %d, want at 3 (the next block packed it)", ok, h)
	}
	if n.Rollback(100) != 0 {
		t.Error("a rollback past genesis")
	}
}
