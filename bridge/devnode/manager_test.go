package devnode

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// liveListAPI is the ListAPI result of a live node
// (docs/protocol.md#methods-of-a-live-node).
func liveListAPI(t *testing.T) map[string]bridge.MethodInfo {
	t.Helper()
	b, err := os.ReadFile("../testdata/vectors/listapi_live_node_2020-01.json")
	if err != nil {
		t.Fatal(err)
	}
	var live map[string]bridge.MethodInfo
	if err := json.Unmarshal(b, &live); err != nil {
		t.Fatal(err)
	}
	return live
}

// TestListAPI checks the format of ListAPI against a live node's: keys
// "<Domain>.<MethodName>", and for every chain method the declaration of
// the real node (name, description, scope, parameters with their types and
// ranges). Only the event minimums differ, on purpose.
func TestListAPI(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	got := decode[map[string]bridge.MethodInfo](t, call(t, c, "ListAPI", nil))
	live := liveListAPI(t)

	subscribable := map[string]bool{"latestHeight": true, "getBalance": true}
	nuls := 0
	for key, mi := range got {
		domain, name, ok := strings.Cut(key, ".")
		if !ok || name != mi.MethodName || (domain != "Nuls" && domain != "Nulstar") {
			t.Errorf("key %q for method %q", key, mi.MethodName)
			continue
		}
		if mi.Parameters == nil {
			t.Errorf("%s: Parameters null, want []", key)
		}
		if domain != "Nuls" {
			continue
		}
		nuls++
		want, ok := live[key]
		if !ok {
			t.Errorf("%s is not a method of the real node", key)
			continue
		}
		if subscribable[name] {
			want.MethodMinEvent, want.MethodMinPeriod = "1", "1"
		}
		if diff := cmp.Diff(want, mi); diff != "" {
			t.Errorf("%s differs from the live node (-live +devnode):\n%s", key, diff)
		}
	}
	if nuls < 18 {
		t.Errorf("%d chain methods listed", nuls)
	}
	for _, key := range []string{"Nulstar.ListAPI", "Nulstar.RegisterAPI", "Nuls.getBalance", "Nuls.ac_transfer", "Nuls.latestHeight"} {
		if _, ok := got[key]; !ok {
			t.Errorf("%s not listed", key)
		}
	}
	if got["Nulstar.RegisterAPI"].MethodMinEvent != "1" {
		t.Errorf("RegisterAPI %+v", got["Nulstar.RegisterAPI"])
	}
}

// TestRegisterAPI covers the Manager as a raw module sees it: the answer
// names every role (the node's own included) Java-style, the module's
// methods join ListAPI, and leave it with the connection.
func TestRegisterAPI(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	c := dial(t, n.URL())
	m := dial(t, n.URL())
	reg := bridge.Registration{
		Abbreviation: "extra", ModuleName: "extra", ModuleDomain: "Extra", ModuleVersion: "1.0",
		ModuleRoles:           map[string][]string{"extra": {"1.0"}},
		Dependencies:          map[string]string{"ledger": "1.0"},
		ConnectionInformation: bridge.ConnectionInformation{IP: "127.0.0.1", Port: "17999"},
		Methods:               []bridge.MethodInfo{{MethodName: "hello", MethodScope: "public", MethodMinEvent: "0", MethodMinPeriod: "0"}},
	}
	res := call(t, m, "RegisterAPI", reg)
	var table struct {
		Dependencies map[string]map[string]string
	}
	if err := json.Unmarshal(res, &table); err != nil {
		t.Fatal(err)
	}
	for role, e := range table.Dependencies {
		if len(e) != 2 || e["IP"] == "" || e["Port"] == "" {
			t.Errorf("role %s: %v, want only IP and Port", role, e)
		}
	}
	if diff := cmp.Diff([]string{"account", "block", "consensus", "extra", "kernel", "ledger", "network", "transaction"}, sortedKeys(table.Dependencies)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if e := table.Dependencies["extra"]; e["Port"] != "17999" {
		t.Errorf("extra at %v", e)
	}
	if u, _ := url.Parse(n.URL()); table.Dependencies["kernel"]["Port"] != u.Port() {
		t.Errorf("kernel at %v, node at %s", table.Dependencies["kernel"], n.URL())
	}
	list := decode[map[string]bridge.MethodInfo](t, call(t, c, "ListAPI", nil))
	if got := list["Extra.hello"]; got.MethodName != "hello" || got.Parameters == nil {
		t.Errorf("Extra.hello listed as %+v", got)
	}

	// The module's connection closes: its role and methods go.
	_ = m.Peer().Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list = decode[map[string]bridge.MethodInfo](t, call(t, c, "ListAPI", nil))
		if _, ok := list["Extra.hello"]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Extra.hello still listed after its module left")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestManagerLinkAndModules is topology T2: a gateway module registers
// with the node through bridge.ManagerLink, gets the role table with the
// node's modules, connects to each of them at /ws with bridge.Modules and
// calls them; the table is pushed again when a module joins and when it
// leaves.
func TestManagerLinkAndModules(t *testing.T) {
	t.Parallel()
	n := strictNode(t)
	logger := testLogger(t)
	gw, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "gw", Name: "gateway", Roles: map[string][]string{"gateway": {"1.0"}}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	if err := gw.Register(bridge.Method{Name: "hello", Handler: func(context.Context, *bridge.Call) (any, error) { return "hi", nil }}); err != nil {
		t.Fatal(err)
	}
	const gwPort = "18000"
	tables := make(chan bridge.RoleTable, 64)
	link, err := bridge.NewManagerLink(bridge.ManagerLinkConfig{
		URL: n.URL(), Module: gw,
		ConnectionInformation: bridge.ConnectionInformation{IP: "127.0.0.1", Port: gwPort},
		Client:                bridge.ClientConfig{FirstDialJitter: -1},
		OnRoles:               func(rt bridge.RoleTable) { tables <- rt },
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	main, _ := url.Parse(n.URL())
	ms := bridge.NewModules(bridge.ModulesConfig{
		Client:  bridge.ClientConfig{FirstDialJitter: -1},
		Exclude: []string{main.Host, "127.0.0.1:" + gwPort},
	}, logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = link.Run(ctx); done <- struct{}{} }()
	go func() { _ = ms.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	waitTable := func(what string, ok func(bridge.RoleTable) bool) bridge.RoleTable {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case rt := <-tables:
				if ok(rt) {
					return rt
				}
			case <-deadline:
				t.Fatalf("no role table %s; last %v", what, link.Roles())
			}
		}
	}
	table := waitTable("with the node's modules", func(rt bridge.RoleTable) bool { return len(rt) >= 6 })
	// The node, as Manager, sends kernel commands over the connection the
	// module registered on, which the module trusts.
	if res, err := n.CallModule(t.Context(), "gw", "confSet", obj{"logLevel": "debug"}); err != nil || string(res) != `{"logLevel":"debug"}` {
		t.Errorf("confSet from the Manager: %s %v", res, err)
	}
	if _, err := n.CallModule(t.Context(), "nobody", "status", nil); !errors.Is(err, bridge.ErrNotConnected) {
		t.Errorf("a module not registered: %v, want ErrNotConnected", err)
	}
	if diff := cmp.Diff([]string{"account", "block", "consensus", "gateway", "kernel", "ledger", "network", "transaction"}, sortedKeys(table)); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	for role, e := range table {
		if e.APIVersion != "" {
			t.Errorf("%s has an APIVersion: a Java table has none", role)
		}
		if want, ok := n.ModuleURLs()[role]; ok && e.URL() != want {
			t.Errorf("%s at %s, want %s", role, e.URL(), want)
		}
	}

	// bridge.Modules connects to the node's modules at /ws. Update is a
	// no-op until Run has started, hence the retries.
	var clients map[string]*bridge.Client
	deadline := time.Now().Add(5 * time.Second)
	for len(clients) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("Modules clients %v", clients)
		}
		ms.Update(link.Roles())
		clients = ms.Clients()
		time.Sleep(5 * time.Millisecond)
	}
	if diff := cmp.Diff([]string{"account", "block", "consensus", "ledger", "network", "transaction"}, sortedKeys(clients)); diff != "" {
		t.Errorf("module clients (-want +got):\n%s", diff)
	}
	ledger := clients["ledger"]
	if ledger.URL() != n.ModuleURLs()["ledger"] {
		t.Errorf("ledger client at %s", ledger.URL())
	}
	waitReady(t, ledger)
	g := n.GenesisAccounts()[0].Address
	if got := decode[struct{ Total json.Number }](t, call(t, ledger, "getBalance", balanceQuery(g))).Total.String(); got != "100000000000000" {
		t.Errorf("getBalance through the ledger module: %s", got)
	}
	waitReady(t, clients["block"])
	if diff := jsonDiff(t, `{"value":0}`, call(t, clients["block"], "latestHeight", obj{"chainId": chainID})); diff != "" {
		t.Errorf("latestHeight through the block module (-want +got):\n%s", diff)
	}
	// A module serves only its own methods.
	if e := callFail(t, ledger, "latestHeight", obj{"chainId": chainID}); !e.MethodNotFound() {
		t.Errorf("latestHeight on the ledger module: %v", e)
	}

	// Another module joins: the table is pushed to the gateway.
	other := dial(t, n.URL())
	call(t, other, "RegisterAPI", bridge.Registration{
		Abbreviation: "extra", ModuleRoles: map[string][]string{"extra": {"1.0"}},
		ConnectionInformation: bridge.ConnectionInformation{IP: "127.0.0.1", Port: "17999"},
	})
	waitTable("with the new module", func(rt bridge.RoleTable) bool { _, ok := rt["extra"]; return ok })
	// It leaves: the table is pushed again.
	_ = other.Peer().Close()
	waitTable("without the module that left", func(rt bridge.RoleTable) bool { _, ok := rt["extra"]; return !ok })
}
