package documents

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/openapi"
)

// fakeSource describes one method "a" of scope public, then the compound
// methods it is given; its listing generation and compound list are the
// test's to change.
type fakeSource struct {
	gen       atomic.Uint64
	compounds atomic.Pointer[[]compound.Definition]
	down      atomic.Bool
}

func (f *fakeSource) source() Input {
	return Input{
		Version:    "test",
		Generation: f.gen.Load,
		Compounds: func(context.Context) ([]compound.Definition, error) {
			if f.down.Load() {
				return nil, errors.New("store down")
			}
			if p := f.compounds.Load(); p != nil {
				return *p, nil
			}
			return nil, nil
		},
		Describe: func(cs []compound.Definition) ([]openapi.Method, string) {
			ms := []openapi.Method{{Name: "a", Scope: "public", Parameters: []openapi.Param{}}}
			for _, c := range cs {
				ms = append(ms, openapi.Method{Name: c.Name, Scope: "public", Compound: true, Parameters: []openapi.Param{}})
			}
			return ms, "upstream"
		},
		Anonymous: func(name, _ string) bool { return name == "a" },
	}
}

func methodNames(t *testing.T, d *Cache) []string {
	t.Helper()
	b, err := d.Get(t.Context(), Methods)
	if err != nil {
		t.Fatal(err)
	}
	var ml MethodList
	if err := json.Unmarshal(b, &ml); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ml.Methods {
		names = append(names, m.Name)
	}
	return names
}

// TestBuiltOncePerChange: a document is built again only when the listing's
// generation or the compound methods changed; another instance's compound
// change is seen within compoundRecheck, this instance's at once; a store
// that does not answer leaves the compounds out until it does.
func TestBuiltOncePerChange(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var f fakeSource
		f.down.Store(true)
		d := New(f.source())
		if got := strings.Join(methodNames(t, d), ","); got != "a" {
			t.Fatalf("store down: %s, want a", got)
		}
		f.down.Store(false)
		for range 5 {
			for _, k := range []Kind{OpenAPI, OpenRPC, Methods} {
				if _, err := d.Get(t.Context(), k); err != nil {
					t.Fatal(err)
				}
			}
		}
		// One build while the store was down, three once it answered.
		if n := d.Builds(); n != 4 {
			t.Fatalf("%d builds, want 4", n)
		}
		f.gen.Add(1)
		methodNames(t, d)
		if n := d.Builds(); n != 5 {
			t.Fatalf("after a listing change: %d builds, want 5", n)
		}

		// Another instance's compound: seen after compoundRecheck.
		f.compounds.Store(&[]compound.Definition{{Name: "c1"}})
		if got := strings.Join(methodNames(t, d), ","); got != "a" {
			t.Fatalf("within the recheck: %s", got)
		}
		time.Sleep(compoundRecheck)
		if got := strings.Join(methodNames(t, d), ","); got != "a,c1" {
			t.Fatalf("after the recheck: %s, want a,c1", got)
		}
		// This instance's: at once.
		f.compounds.Store(&[]compound.Definition{{Name: "c1"}, {Name: "c2"}})
		d.CompoundsChanged()
		if got := strings.Join(methodNames(t, d), ","); got != "a,c1,c2" {
			t.Fatalf("after CompoundsChanged: %s, want a,c1,c2", got)
		}
		// The store going away keeps the last list read.
		f.down.Store(true)
		d.CompoundsChanged()
		if got := strings.Join(methodNames(t, d), ","); got != "a,c1,c2" {
			t.Fatalf("store down after a read: %s, want a,c1,c2", got)
		}

		doc, err := d.Get(t.Context(), OpenRPC)
		if err != nil {
			t.Fatal(err)
		}
		withURL, err := WithServerURL(doc, "https://gw.example/jsonrpc")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(withURL), `"https://gw.example/jsonrpc"`) || strings.Contains(string(withURL), serverURLPlaceholder) {
			t.Fatal("the server URL is not in the OpenRPC document")
		}
		if _, err := WithServerURL([]byte(`{}`), "x"); err == nil {
			t.Fatal("a document without the placeholder: no error")
		}
	})
}
