package devnode

import (
	"errors"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// TestModes: ModeJava answers no ListAPI; ModeConnector answers failures as
// success with {} and subscriptions once.
func TestModes(t *testing.T) {
	t.Parallel()
	java := startNode(t, Config{Mode: ModeJava})
	c := dial(t, java.URL())
	var rpcErr *bridge.RPCError
	if _, err := c.Call(t.Context(), "ListAPI", nil); !errors.As(err, &rpcErr) || !rpcErr.MethodNotFound() {
		t.Fatalf("ListAPI in java mode: %v, want not found", err)
	}
	if _, err := c.Call(t.Context(), "latestHeight", map[string]int{"chainId": 2}); err != nil {
		t.Fatalf("latestHeight in java mode: %v", err)
	}

	conn := startNode(t, Config{Mode: ModeConnector})
	cc := dial(t, conn.URL())
	raw, err := cc.Call(t.Context(), "getBalance", map[string]any{"chainId": 2, "assetChainId": 2, "assetId": 1, "address": "nonsense"})
	if err != nil || string(raw) != "{}" {
		t.Fatalf("a failure through the connector: %s %v, want success with {}", raw, err)
	}
	sub, err := cc.Subscribe(t.Context(), bridge.Request{SubscriptionEventCounter: 1,
		RequestMethods: []bridge.MethodCall{{Method: "latestHeight", Params: []byte(`{"chainId":2}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	select {
	case <-sub.C():
	case <-time.After(2 * time.Second):
		t.Fatal("no first answer")
	}
	conn.ProduceBlock()
	select {
	case p := <-sub.C():
		t.Fatalf("a push through the connector: %+v", p)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := New(Config{Mode: "nulstar"}, nil); err == nil {
		t.Error("an unknown mode accepted")
	}
}

// TestRegistersWithAManager: with Config.Manager the node registers with a
// Manager (here another devnode) as the module devnode, whose endpoint the
// role table then names, and which serves the chain's methods.
func TestRegistersWithAManager(t *testing.T) {
	t.Parallel()
	mgr := startNode(t, Config{})
	node := startNode(t, Config{Manager: mgr.URL()})
	u, ok := node.ModuleURLs()[registeredRole]
	if !ok {
		t.Fatalf("no %s endpoint: %v", registeredRole, node.ModuleURLs())
	}
	c := dial(t, mgr.URL())
	deadline := time.Now().Add(5 * time.Second)
	for {
		raw, err := c.Call(t.Context(), "RegisterAPI", map[string]any{"Abbreviation": "probe", "ModuleName": "probe",
			"ModuleDomain": "Test", "ModuleVersion": "1.0", "ModuleRoles": map[string][]string{"probe": {"1.0"}},
			"Dependencies": map[string]string{}, "ConnectionInformation": map[string]string{"IP": "127.0.0.1", "Port": "1"}, "Methods": []any{}})
		if err != nil {
			t.Fatal(err)
		}
		table, err := bridge.ParseRoleTable(raw)
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := table[registeredRole]; ok {
			if e.URL() != u {
				t.Fatalf("the role table names %s, the node serves %s", e.URL(), u)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not registered: %v", table)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := dial(t, u).Call(t.Context(), "latestHeight", map[string]int{"chainId": 2}); err != nil {
		t.Fatal(err)
	}
}
