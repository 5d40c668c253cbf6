package bridge

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeManager is a module answering RegisterAPI like the Java Manager: at
// once, with every registered role, and with a push to every registered
// module when a new one joins.
type fakeManager struct {
	*testModule
	mu    sync.Mutex
	table map[string]map[string]string
	regs  []Registration
}

func newFakeManager(t *testing.T) *fakeManager {
	return newFakeManagerWith(t, ModuleConfig{Abbreviation: "kernel"})
}

func newFakeManagerWith(t *testing.T, cfg ModuleConfig) *fakeManager {
	fm := &fakeManager{testModule: newTestModule(t, cfg), table: map[string]map[string]string{}}
	err := fm.Register(Method{Name: "RegisterAPI", MinEvent: 1, Handler: func(_ context.Context, c *Call) (any, error) {
		var reg Registration
		if err := c.Bind(&reg); err != nil {
			return nil, err
		}
		fm.mu.Lock()
		joined := false
		for role := range reg.ModuleRoles {
			if _, ok := fm.table[role]; !ok {
				joined = true
			}
			fm.table[role] = map[string]string{"IP": reg.ConnectionInformation.IP, "Port": reg.ConnectionInformation.Port}
		}
		fm.regs = append(fm.regs, reg)
		deps := map[string]any{}
		for k, v := range fm.table {
			deps[k] = v
		}
		fm.mu.Unlock()
		if joined {
			go fm.Trigger("RegisterAPI")
		}
		return map[string]any{"Dependencies": deps}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return fm
}

func (fm *fakeManager) registrations() []Registration {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return append([]Registration(nil), fm.regs...)
}

func TestParseRoleTable(t *testing.T) {
	t.Parallel()
	// The Java Manager's answer (ChainBox guide) and Nulstar's.
	java := `{"Dependencies":{"ledger":{"IP":"192.168.0.197","Port":"17880"},"kernel":{"IP":"0.0.0.0","Port":7771}}}`
	table, err := ParseRoleTable(json.RawMessage(java))
	if err != nil {
		t.Fatal(err)
	}
	if got := table["ledger"].URL(); got != "ws://192.168.0.197:17880/ws" {
		t.Errorf("Java ledger URL %s", got)
	}
	if table["kernel"].Port != "7771" {
		t.Errorf("numeric port: %+v", table["kernel"])
	}
	nulstar := `{"Dependencies":{"Role_ServiceManager":{"APIVersion":"0.1","IP":"127.0.0.1","Port":"7771"},"Role_Missing":{"APIVersion":"0.1","IP":"","Port":""}}}`
	table, err = ParseRoleTable(json.RawMessage(nulstar))
	if err != nil {
		t.Fatal(err)
	}
	if got := table["Role_ServiceManager"].URL(); got != "ws://127.0.0.1:7771" {
		t.Errorf("Nulstar URL %s", got)
	}
	if _, ok := table["Role_Missing"]; ok {
		t.Error("unmet dependency listed")
	}
	if table, err := ParseRoleTable(json.RawMessage(`{}`)); err != nil || len(table) != 0 {
		t.Errorf("empty answer: %v %v", table, err)
	}
}

// TestManagerLink covers D20: RegisterAPI with the module's description and
// Abbreviation, the role table, its pushed updates, re-registration after a
// method change (D14), and the kernel commands answered on the Manager
// connection (D17).
func TestManagerLink(t *testing.T) {
	t.Parallel()
	fm := newFakeManager(t)
	gw, err := NewModule(ModuleConfig{Abbreviation: "gw", Name: "gateway", Roles: map[string][]string{"gateway": {"1.0"}}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	if err := gw.Register(Method{Name: "hello", Handler: func(context.Context, *Call) (any, error) { return "hi", nil }}); err != nil {
		t.Fatal(err)
	}
	tables := make(chan RoleTable, 16)
	link, err := NewManagerLink(ManagerLinkConfig{
		URL: fm.url, Module: gw,
		ConnectionInformation: ConnectionInformation{IP: "127.0.0.1", Port: "18000"},
		Client:                ClientConfig{FirstDialJitter: -1},
		OnRoles:               func(t RoleTable) { tables <- t },
	}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = link.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	table := <-tables
	if e := table["gateway"]; e.Port != "18000" {
		t.Fatalf("role table %+v", table)
	}
	regs := fm.registrations()
	if regs[0].Abbreviation != "gw" || regs[0].ModuleName != "gateway" || len(regs[0].Methods) == 0 {
		t.Fatalf("registration %+v", regs[0])
	}
	peers := fm.Peers()
	if len(peers) != 1 || peers[0].Abbreviation() != "gw" {
		t.Fatalf("the Manager connection must use the RegisterAPI Abbreviation")
	}

	// Another module joins: the Manager pushes the new table.
	other := startClient(t, fm.url, ClientConfig{})
	if _, err := other.Call(t.Context(), "RegisterAPI", Registration{Abbreviation: "ledger", ModuleRoles: map[string][]string{"ledger": {"1.0"}}, ConnectionInformation: ConnectionInformation{IP: "127.0.0.1", Port: "17880"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case table = <-tables:
		case <-deadline:
			t.Fatalf("no pushed role table with ledger; roles %v", link.Roles())
		}
		if _, ok := table["ledger"]; ok {
			break
		}
	}

	// A compound method changes the method list: RegisterAPI is sent again.
	n := len(fm.registrations())
	if err := gw.AddCompound(&RegisterCompoundMethod{CompoundMethodName: "twice", CompoundMethods: []CompoundChild{{Method: "hello"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "re-registration", func() bool {
		regs := fm.registrations()
		if len(regs) <= n {
			return false
		}
		for _, m := range regs[len(regs)-1].Methods {
			if m.MethodName == "twice" {
				return true
			}
		}
		return false
	})

	// The Manager calls the module over the connection the module opened
	// (the one named "gw"; the other module's client serves nothing).
	var gwConn *Peer
	for _, p := range fm.Peers() {
		if p.Abbreviation() == "gw" {
			gwConn = p
		}
	}
	if gwConn == nil {
		t.Fatal("the Manager has no connection named gw")
	}
	got, err := gwConn.Call(t.Context(), "confSet", map[string]any{"logLevel": "debug"})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, `{"logLevel":"debug"}`, got)
	if _, err := gwConn.Call(t.Context(), "status", nil); err != nil {
		t.Fatalf("status over the Manager link: %v", err)
	}
}

// TestModulesConnects covers the connections to the modules a role table
// names: Java endpoints at /ws, the Manager and ourselves excluded.
func TestModulesConnects(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{Abbreviation: "ledger"})
	u, _ := url.Parse(tm.url)
	ms := NewModules(ModulesConfig{Client: ClientConfig{FirstDialJitter: -1}, Exclude: []string{"127.0.0.1:7771"}, ManagerHost: "127.0.0.1"}, testLogger(t))
	// A table given before Run takes effect when Run starts.
	ms.Update(RoleTable{
		"ledger":  {IP: u.Hostname(), Port: u.Port(), APIVersion: "1.0"}, // Nulstar-style: no /ws
		"account": {IP: u.Hostname(), Port: u.Port(), APIVersion: "1.0"}, // same process, same client
		"kernel":  {IP: "0.0.0.0", Port: "7771"},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ms.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "Run", func() bool { return len(ms.Clients()) > 0 })
	clients := ms.Clients()
	if len(clients) != 2 || clients["ledger"] != clients["account"] {
		t.Fatalf("clients %v", clients)
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel2()
	if err := clients["ledger"].WaitReady(ctx2); err != nil {
		t.Fatal(err)
	}
	if _, err := clients["ledger"].Call(t.Context(), "echo", nil); err != nil {
		t.Fatal(err)
	}
	ms.Update(RoleTable{})
	if len(ms.Clients()) != 0 {
		t.Error("dropped endpoint kept")
	}
}

// TestNegotiationFailureReported covers D8 through the Manager link: a
// module whose endpoint never negotiates is tried three times, then reported
// to the Manager with a ModuleNotOperational Notification.
func TestNegotiationFailureReported(t *testing.T) {
	t.Parallel()
	notes := make(chan *Notification, 4)
	mgr := newFakeManagerWith(t, ModuleConfig{Abbreviation: "kernel", OnNotification: func(_ *Peer, n *Notification) { notes <- n }})
	silent := rawServer(t, func(r *rawPeer) {
		for {
			if _, _, err := r.ws.ReadMessage(); err != nil {
				return
			}
		}
	})
	gw, err := NewModule(ModuleConfig{Abbreviation: "gw"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	link, err := NewManagerLink(ManagerLinkConfig{URL: mgr.url, Module: gw, Client: ClientConfig{FirstDialJitter: -1}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = link.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "registered", link.Client().Ready)
	report := func(u string, err error) { _ = link.Report(context.Background(), NotOperational(u, err)) }
	runClient(t, silent, ClientConfig{NegotiationTimeout: 50 * time.Millisecond, NegotiationRetryInterval: 20 * time.Millisecond, OnNegotiationFailure: report})
	select {
	case n := <-notes:
		if n.NotificationType != "ModuleNotOperational" || !strings.Contains(n.NotificationComment, silent) {
			t.Fatalf("notification %+v", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ModuleNotOperational notification reached the Manager")
	}
}
