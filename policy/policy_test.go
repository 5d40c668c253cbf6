package policy

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/catalog"
)

// TestExposureReviewsTheCatalog keeps exposure.json a review of the whole
// catalog: a command the catalog gains fails it until someone says whether
// it is public, and why.
func TestExposureReviewsTheCatalog(t *testing.T) {
	e, cat := ReviewedExposure(), catalog.NULS2()
	if e.CatalogCommit != cat.Source().Commit {
		t.Errorf("exposure.json reviewed the catalog of %s; the catalog is of %s: review the commands it changed", e.CatalogCommit, cat.Source().Commit)
	}
	p, err := New(Config{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, gs := range [][]Group{e.Public, e.Private} {
		for _, g := range gs {
			if g.Why == "" {
				t.Errorf("a group without its reason: %v", g.Commands)
			}
			for _, name := range g.Commands {
				if prev, ok := seen[name]; ok {
					t.Errorf("%s is in two groups: %q and %q", name, prev, g.Why)
				}
				seen[name] = g.Why
				if _, ok := cat.Lookup(name); !ok {
					t.Errorf("%s is reviewed but not in the catalog", name)
				}
			}
		}
	}
	folded := map[string]string{}
	for _, cmd := range cat.Commands() {
		if other, ok := folded[strings.ToLower(cmd.Name)]; ok {
			t.Errorf("%s and %s differ only in case: a case variant would be decided as one of them", cmd.Name, other)
		}
		folded[strings.ToLower(cmd.Name)] = cmd.Name
	}
	var unreviewed []string
	for _, cmd := range cat.Commands() {
		secret := len(p.secrets(cmd.Name, cmd, nil)) > 0
		switch {
		case secret && e.publicSet()[cmd.Name]:
			t.Errorf("%s is public in exposure.json but takes or answers a secret: %v", cmd.Name, p.secrets(cmd.Name, cmd, nil))
		case !secret && !e.reviewed(cmd.Name):
			unreviewed = append(unreviewed, cmd.Name)
		}
	}
	if len(unreviewed) > 0 {
		t.Errorf("commands of the catalog nobody reviewed (add each to a public or private group of exposure.json): %v", unreviewed)
	}
	for _, name := range e.Streams {
		if !e.publicSet()[name] {
			t.Errorf("stream %s is not a public command", name)
		}
	}
	for name, bounds := range e.Bounds {
		cmd, ok := cat.Lookup(name)
		if !ok {
			t.Errorf("bounds of %s, which the catalog lacks", name)
			continue
		}
		for _, b := range bounds {
			for _, param := range append(slices.Clone(b.Span), b.Param, b.Items) {
				if param != "" && !slices.ContainsFunc(cmd.Params, func(p catalog.Param) bool { return p.Name == param }) {
					t.Errorf("bound of %s names %s, not one of its parameters", name, param)
				}
			}
		}
	}
	for name := range e.SecretAnswers {
		if _, ok := cat.Lookup(name); !ok {
			t.Errorf("secretAnswers names %s, which the catalog lacks", name)
		}
	}
}

// liveListing is the ListAPI answer of a live NULS 2 node (2020-01), as
// Nulstar passed the Java annotations on: 242 of its 257 commands public.
func liveListing(t *testing.T) []bridge.MethodInfo {
	t.Helper()
	b, err := os.ReadFile("../bridge/testdata/vectors/listapi_live_node_2020-01.json")
	if err != nil {
		t.Fatal(err)
	}
	list, err := bridge.ParseMethodList(b)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// holes are the commands an anonymous caller reached behind the live
// listing, or that answered a secret with the catalog as the source.
var holes = map[string]string{
	"ac_getAllPriKey": bridge.ScopeAdmin, "ac_getPriKeyByAddress": bridge.ScopeAdmin, "ac_importAccountByPriKey": bridge.ScopeAdmin,
	"ac_transfer": bridge.ScopeAdmin, "rollbackBlock": bridge.ScopePrivate, "cs_chainRollBack": bridge.ScopePrivate, "cs_stopChain": bridge.ScopePrivate,
	"cs_getPackerInfo": bridge.ScopeAdmin, "cs_getSeedNodeInfo": bridge.ScopeAdmin, "cs_getConsensusConfig": bridge.ScopeAdmin,
	"ac_getAccountList": bridge.ScopeAdmin, "ac_getAccountByAddress": bridge.ScopeAdmin,
	"getCirculat": bridge.ScopePrivate, "tx_broadcast": bridge.ScopePrivate,
}

// TestNoListingLoosensAScope is the first hole: behind the live listing,
// which calls nearly everything public, the key and password commands and
// those that stop or roll back the chain reached the node anonymously.
func TestNoListingLoosensAScope(t *testing.T) {
	// The operator is as generous as the flags allow: unlisted names
	// public, and every command it may open opened.
	open := map[string]string{}
	for _, mi := range liveListing(t) {
		open[mi.MethodName] = bridge.ScopePublic
	}
	p, err := New(Config{Catalog: catalog.NULS2(), UnlistedScope: bridge.ScopePublic})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, mi := range liveListing(t) {
		d := p.Decide(mi.MethodName, &mi)
		scope := d.Scope
		if scope == "" {
			scope = "none"
		}
		counts[scope]++
		if want, ok := holes[mi.MethodName]; ok && d.Scope != want {
			t.Errorf("%s: scope %q, want %q (%s)", mi.MethodName, d.Scope, want, d.Why)
		}
		for _, prm := range mi.Parameters {
			if SecretName(prm.ParameterName) && d.Scope == bridge.ScopePublic {
				t.Errorf("%s takes %s and is public", mi.MethodName, prm.ParameterName)
			}
		}
		if d.Scope == bridge.ScopePublic && !d.Known {
			// Unlisted names the catalog lacks take --unlisted-scope:
			// here the operator made them public on purpose.
			continue
		}
	}
	t.Logf("live listing, --unlisted-scope public: %v", counts)
	// Overrides cannot open a secret-bearing command.
	for name := range holes {
		if _, err := New(Config{Catalog: catalog.NULS2(), Overrides: map[string]string{name: bridge.ScopePublic}}); err == nil &&
			holes[name] == bridge.ScopeAdmin {
			t.Errorf("an override opened %s, which bears a secret", name)
		}
	}
	_ = open
}

// TestScopeCounts reports what the closing note lists: how many commands of
// the live listing and of the catalog are public, admin and private by
// default, and which answer secrets.
func TestScopeCounts(t *testing.T) {
	cat := catalog.NULS2()
	p, err := New(Config{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	count := func(names []string, listed func(string) *bridge.MethodInfo) map[string]int {
		c := map[string]int{}
		for _, n := range names {
			d := p.Decide(n, listed(n))
			s := d.Scope
			if s == "" {
				s = "not callable"
			}
			c[s]++
		}
		return c
	}
	live := map[string]*bridge.MethodInfo{}
	var liveNames []string
	for _, mi := range liveListing(t) {
		live[mi.MethodName] = &mi
		liveNames = append(liveNames, mi.MethodName)
	}
	var catNames, answering []string
	for _, cmd := range cat.Commands() {
		catNames = append(catNames, cmd.Name)
		for _, s := range p.secrets(cmd.Name, cmd, nil) {
			if strings.HasPrefix(s, "answer") {
				answering = append(answering, cmd.Name)
				break
			}
		}
	}
	sort.Strings(answering)
	t.Logf("live listing (%d): %v", len(liveNames), count(liveNames, func(n string) *bridge.MethodInfo { return live[n] }))
	t.Logf("catalog (%d): %v", len(catNames), count(catNames, func(n string) *bridge.MethodInfo {
		cmd, _ := cat.Lookup(n)
		mi := cmd.MethodInfo()
		return &mi
	}))
	t.Logf("answers carrying secrets: %v", answering)
	for _, want := range []string{"ac_getAccountByAddress", "ac_getAccountList", "cs_getPackerInfo", "cs_getSeedNodeInfo", "cs_getConsensusConfig", "ac_getPriKeyByAddress"} {
		if !slices.Contains(answering, want) {
			t.Errorf("%s answers a secret, and the policy does not know it", want)
		}
	}
}

func TestReadOnly(t *testing.T) {
	p, err := New(Config{Catalog: catalog.NULS2()})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"latestHeight": true, "getBalance": true, "getBlockByHeight": true, "tx_getTx": true,
		"tx_newTx": false, "ac_transfer": false, "tx_broadcast": false, "shutdown": false, "noSuchCommand": false,
	} {
		if got := p.ReadOnly(name); got != want {
			t.Errorf("ReadOnly(%s) = %v, want %v", name, got, want)
		}
	}
}

func TestDecide(t *testing.T) {
	custom, err := catalog.Parse([]byte(`{"source":{"repository":"test","commit":"","generator":""},"commands":[
		{"name":"hello","version":1,"scope":"public","minPeriod":1,"params":[{"name":"who","type":"String"}]},
		{"name":"unlock","version":1,"scope":"public","params":[{"name":"walletPassword","type":"String"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Catalog: catalog.NULS2(), Custom: custom, Overrides: map[string]string{"nw_getNodes": bridge.ScopePublic, "getBalance": bridge.ScopeAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	public := &bridge.MethodInfo{MethodScope: "public"}
	cases := []struct {
		name   string
		listed *bridge.MethodInfo
		scope  string
		poll   bool
	}{
		{"latestHeight", public, bridge.ScopePublic, true},
		{"latestHeight", &bridge.MethodInfo{MethodScope: "admin"}, bridge.ScopeAdmin, false}, // a listing may tighten
		{"latestHeight", &bridge.MethodInfo{MethodScope: "weird"}, bridge.ScopePrivate, false},
		{"getBlockByHeight", public, bridge.ScopePublic, false}, // public, not polled
		{"tx_newTx", public, bridge.ScopePublic, false},
		{"tx_broadcast", public, bridge.ScopePrivate, false},
		{"ac_transfer", public, bridge.ScopeAdmin, false},
		{"nw_getNodes", public, bridge.ScopePublic, false}, // opened by the operator
		{"getBalance", public, bridge.ScopeAdmin, false},   // closed by the operator
		{"hello", public, bridge.ScopePublic, true},        // a custom module's own
		{"unlock", public, bridge.ScopeAdmin, false},       // ... but a secret is admin
		{"notInCatalog", public, "", false},                // unlisted: not callable
		{"notInCatalog", &bridge.MethodInfo{MethodScope: "public", Parameters: []bridge.ParameterInfo{{ParameterName: "priKey"}}}, "", false},
		{"Nuls.ac_transfer", public, bridge.ScopeAdmin, false}, // a domain and a case do not hide a command
		{"AC_GETPRIKEYBYADDRESS", public, bridge.ScopeAdmin, false},
		{"Nuls.LatestHeight", public, bridge.ScopePublic, true},
		{"RegisterAPI", public, "", false},
		{"Nuls.shutdown", public, "", false},
	}
	for _, c := range cases {
		d := p.Decide(c.name, c.listed)
		if d.Scope != c.scope || d.Poll != c.poll {
			t.Errorf("%s listed %+v: scope %q poll %v, want %q %v (%s)", c.name, c.listed, d.Scope, d.Poll, c.scope, c.poll, d.Why)
		}
	}
	// An unlisted name with a secret parameter is admin even when the
	// operator makes unlisted names public; so is a case variant of a
	// secret-bearing command.
	loose, _ := New(Config{Catalog: catalog.NULS2(), UnlistedScope: bridge.ScopePublic})
	if d := loose.Decide("Ac_Transfer", nil); d.Scope != bridge.ScopeAdmin {
		t.Errorf("Ac_Transfer with unlisted names public: %q, want admin", d.Scope)
	}
	d := loose.Decide("importKey", &bridge.MethodInfo{MethodScope: "public", Parameters: []bridge.ParameterInfo{{ParameterName: "privateKey"}}})
	if d.Scope != bridge.ScopeAdmin {
		t.Errorf("importKey with a privateKey parameter: %q, want admin", d.Scope)
	}
	// The dev wallet opens the simulated node's transfer, and only that.
	dev, _ := New(Config{Catalog: catalog.NULS2(), DevWallet: true})
	if d := dev.Decide("ac_transfer", public); d.Scope != bridge.ScopePublic {
		t.Errorf("dev wallet: ac_transfer %q", d.Scope)
	}
	if d := dev.Decide("ac_getPriKeyByAddress", public); d.Scope != bridge.ScopeAdmin {
		t.Errorf("dev wallet: ac_getPriKeyByAddress %q", d.Scope)
	}
	if _, err := New(Config{Catalog: catalog.NULS2(), Overrides: map[string]string{"ac_transfer": "public"}}); err == nil {
		t.Error("an override opened ac_transfer")
	}
}

func TestSecretField(t *testing.T) {
	cases := []struct {
		in    string
		field string
	}{
		{`{"value":12}`, ""},
		{`{"list":[{"address":"a","encryptedPrikeyHex":"00"}]}`, "encryptedPrikeyHex"},
		{`{"address":"a","packAddressList":[],"password":"nuls123456"}`, "password"},
		{`{"remark":"my password is here","txHash":"x"}`, ""},                // a value, not a key
		{`{"a":{"b":[{"c":{"PriKey" : "x"}}]}}`, "PriKey"},                   // any depth, any case, spaces
		{`{"k\u0065yStore":"x"}`, "keyStore"},                                // escaped
		{`{"s":"a \"password\": b"}`, ""},                                    // quotes inside a value
		{`["password", "priKey"]`, ""},                                       // array items are values
		{`{"seed":"00","seeds":["01"]}`, ""},                                 // the consensus random seeds
		{`{"mnemonic":null}`, "mnemonic"},                                    // present is enough
		{`{"pwd":"x"}`, "pwd"},                                               //
		{`not json "password": ` + strings.Repeat("x", 10), "password"},      // read as far as it goes
		{`{"` + strings.Repeat("a", 300) + `":1}`, strings.Repeat("a", 300)}, // too long to read: refused
	}
	for _, c := range cases {
		field, ok := SecretField([]byte(c.in))
		if field != c.field || ok != (c.field != "") {
			t.Errorf("SecretField(%.60s) = %q %v, want %q", c.in, field, ok, c.field)
		}
	}
	answer := []byte(`{"list":[{"address":"tNULSeBa","alias":null,"pubkeyHex":"02ab"}],"value":12}`)
	if n := testing.AllocsPerRun(100, func() { SecretField(answer) }); n > 0 {
		t.Errorf("SecretField allocates %v times for an answer without a secret", n)
	}
}

func FuzzSecretField(f *testing.F) {
	f.Add([]byte(`{"password":"x"}`))
	f.Add([]byte(`{"a":"\"password\":"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		field, ok := SecretField(b)
		// Whatever it finds in valid JSON is a key of it.
		var v any
		if ok && json.Valid(b) && !strings.Contains(string(b), field) && !strings.Contains(string(b), `\`) {
			t.Fatalf("found %q, which is not in %q", field, b)
		}
		_ = v
	})
}

func TestBounds(t *testing.T) {
	p, _ := New(Config{Catalog: catalog.NULS2()})
	cases := []struct {
		method, params string
		ok             bool
	}{
		{"getBlockHeadersByHeightRange", `{"chainId":2,"begin":0,"end":99}`, true},
		{"getBlockHeadersByHeightRange", `{"chainId":2,"begin":0,"end":99999999}`, false},
		{"getBlockHeadersByHeightRange", `{"chainId":2,"begin":"0","end":"100"}`, false},
		{"getBlockHeadersByHeightRange", `{"chainId":2,"begin":10,"end":5}`, false},
		{"getBlockHeadersByHeightRange", `{"chainId":2,"begin":0}`, false},
		{"getBlockHeadersByHeightRange", `{"chainId":2,"begin":0,"end":"x"}`, false},
		{"getBlockHeadersByHeightRange", `{"chainId":2,"end":1,"end":100000}`, false}, // the last member wins, as in Java
		{"getLatestBlockHeaders", `{"chainId":2,"size":1000}`, false},
		{"getLatestBlockHeaders", `{"chainId":2,"size":10}`, true},
		{"tx_getBlockTxs", `{"chainId":2,"txHashList":["a","b"]}`, true},
		{"tx_getBlockTxs", `{"chainId":2,"txHashList":[` + strings.Repeat(`"a",`, 100) + `"a"]}`, false},
		{"getAssetsById", `{"chainId":2,"assetIds":"1,2,3"}`, true},
		{"getAssetsById", `{"chainId":2,"assetIds":"` + strings.Repeat("1,", 100) + `1"}`, false},
		{"cs_getAgentList", `{"chainId":2,"pageSize":1000000}`, false},
		{"cs_getAgentList", `{"chainId":2}`, true},
		{"latestHeight", `{"chainId":2}`, true},
	}
	for _, c := range cases {
		err := p.Decide(c.method, nil).CheckParams(json.RawMessage(c.params))
		if (err == nil) != c.ok {
			t.Errorf("%s %s: %v, want ok %v", c.method, c.params, err, c.ok)
		}
	}
}
