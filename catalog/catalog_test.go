package catalog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNULS2(t *testing.T) {
	c := NULS2()
	if c.Len() < 250 {
		t.Fatalf("%d commands, want the nuls-v2 modules' (about 270)", c.Len())
	}
	if src := c.Source(); src.Repository != "github.com/nuls-io/nuls-v2" || len(src.Commit) != 40 {
		t.Errorf("source %+v", src)
	}
	gb, ok := c.Lookup("getBalance")
	if !ok || gb.Module != "ledger" || gb.Scope != "public" || strings.Join(gb.Required(), ",") != "chainId,assetChainId,assetId,address" {
		t.Fatalf("getBalance %+v", gb)
	}
	if gb.Result == nil || gb.Result.Fields["total"] == nil || gb.Result.Fields["total"].Kind != "integer" {
		t.Fatalf("getBalance result %+v", gb.Result)
	}
	if lh, _ := c.Lookup("latestHeight"); !lh.Events || !lh.API {
		t.Errorf("latestHeight %+v: the block module raises its events, and nuls-api calls it", lh)
	}
	if tr, _ := c.Lookup("ac_transfer"); !tr.Secret {
		t.Errorf("ac_transfer %+v: its inputs carry passwords", tr)
	}
	for _, cmd := range c.Commands() {
		if cmd.Scope != "public" && cmd.Scope != "admin" && cmd.Scope != "private" {
			t.Errorf("%s: scope %q", cmd.Name, cmd.Scope)
		}
		if cmd.Description != "" {
			t.Errorf("%s: a description was copied", cmd.Name)
		}
		mi := cmd.MethodInfo()
		if mi.MethodName != cmd.Name || len(mi.Parameters) != len(cmd.Params) {
			t.Errorf("%s: MethodInfo %+v", cmd.Name, mi)
		}
	}
}

// TestAgainstALiveListing compares the catalog with the ListAPI of a live
// node (2020): the names it lists, and their parameters, are the
// catalog's, but for the commands removed since.
func TestAgainstALiveListing(t *testing.T) {
	b, err := os.ReadFile("../bridge/testdata/vectors/listapi_live_node_2020-01.json")
	if err != nil {
		t.Fatal(err)
	}
	var live map[string]struct {
		MethodName string
		Parameters []struct{ ParameterName string }
	}
	if err := json.Unmarshal(b, &live); err != nil {
		t.Fatal(err)
	}
	c := NULS2()
	var missing []string
	found := 0
	for key, m := range live {
		if !strings.HasPrefix(key, "Nuls.") {
			continue
		}
		cmd, ok := c.Lookup(m.MethodName)
		if !ok {
			missing = append(missing, m.MethodName)
			continue
		}
		found++
		declared := map[string]bool{}
		for _, p := range cmd.Params {
			declared[p.Name] = true
		}
		for _, p := range m.Parameters {
			if !declared[p.ParameterName] {
				t.Errorf("%s: the live node lists parameter %s, the catalog does not", m.MethodName, p.ParameterName)
			}
		}
	}
	if found < 230 || len(missing) > 10 {
		t.Errorf("%d live commands found in the catalog; missing %v", found, missing)
	}
}

func TestReadMethods(t *testing.T) {
	dir := t.TempDir()
	list := `[{"MethodName":"hello","MethodScope":"public","MethodMinEvent":"1","MethodMinPeriod":"0",
		"Parameters":[{"ParameterName":"name","ParameterType":"String","ParameterValidRange":"","ParameterValidRegExp":"^[a-z]+$"}]}]`
	for name, body := range map[string]string{"list.json": list, "reg.json": `{"Methods":` + list + `}`} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := ReadMethods(path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := c.Lookup("hello")
		want := Command{Name: "hello", Scope: "public", MinEvent: 1, API: true, Params: []Param{{Name: "name", Type: "String", Pattern: "^[a-z]+$"}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
		if merged := NULS2().With(c); merged.Len() != NULS2().Len()+1 {
			t.Errorf("With: %d", merged.Len())
		}
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`[{"MethodName":"x","MethodScope":"root"}]`), 0o600)
	if _, err := ReadMethods(bad); err == nil {
		t.Error("a scope root accepted")
	}
}

// TestSummariesNameCommands: every English summary is of a command of the
// built-in catalog, and a short sentence without an end of its own (the
// documents' summaries are fragments).
func TestSummariesNameCommands(t *testing.T) {
	c := NULS2()
	for name, s := range summaries {
		if _, ok := c.Lookup(name); !ok {
			t.Errorf("a summary of %s, which the catalog lacks", name)
		}
		if s == "" || len(s) > 100 || strings.HasSuffix(s, ".") {
			t.Errorf("%s: summary %q: want 1 to 100 bytes, no final full stop", name, s)
		}
	}
}
