package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/internal/buildinfo"
	"github.com/nuls-gateway/nuls-gateway/openapi"
)

// getHost sends a GET with the Host header host ("" for the URL's) and
// returns the status and body.
func getHost(t *testing.T, url, host string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestDocumentsBuiltOncePerChange: /openapi.json, /openrpc.json, /methods
// and rpc.discover were built per request (~100 ms of CPU each in front of
// a live node's listing). Each is built once per change of what it
// describes: many requests, and listing refreshes that change nothing,
// build nothing more; a compound method made, or a method the upstream
// adds, builds it again. The OpenRPC document's server is still the Host
// each request was sent to, and what is served is what a build gives.
func TestDocumentsBuiltOncePerChange(t *testing.T) {
	t.Parallel()
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "docs"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	answer := func(context.Context, *bridge.Call) (any, error) { return map[string]int{"value": 1}, nil }
	if err := m.Register(bridge.Method{Name: "first", Scope: bridge.ScopePublic, Handler: answer}); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(bridge.Method{Name: "ListAPI", Handler: func(context.Context, *bridge.Call) (any, error) {
		out := map[string]bridge.MethodInfo{}
		for _, mi := range m.Methods() {
			out[mi.MethodName] = mi
		}
		return out, nil
	}}); err != nil {
		t.Fatal(err)
	}
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: newWSServer(t, m), cfg: Config{Auth: ta, UnlistedScope: "public", CatalogRefresh: 20 * time.Millisecond}})
	builds := func() int64 { return tg.described.Builds() }

	// Many requests, from hosts of every name: three builds.
	round := func() {
		t.Helper()
		for i := range 10 {
			for _, path := range []string{"/openapi.json", "/docs/doc.json", "/methods"} {
				if code, _ := getHost(t, tg.url+path, ""); code != http.StatusOK {
					t.Fatalf("%s: %d", path, code)
				}
			}
			host := []string{"a.example", "b.example:8443", "[::1]:80"}[i%3]
			code, b := getHost(t, tg.url+"/openrpc.json", host)
			if code != http.StatusOK {
				t.Fatalf("openrpc: %d", code)
			}
			want, err := openapi.OpenRPC(buildinfo.Version(), "http://"+host+"/jsonrpc", documentedMethods(tg, nil))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("OpenRPC document for Host %s differs from a build:\n%s\n%s", host, b, want)
			}
		}
		if code, _, body := post(t, tg.url+"/jsonrpc", `{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}`); code != http.StatusOK ||
			!strings.Contains(body, `"url":"http://`+strings.TrimPrefix(tg.url, "http://")+`/jsonrpc"`) {
			t.Fatalf("rpc.discover: %d %.300s", code, body)
		}
	}
	round()
	if n := builds(); n != 3 {
		t.Fatalf("%d documents built for 40 requests of 3 documents, want 3", n)
	}
	// Listing refreshes that change nothing build nothing.
	gen := tg.listing.Generation()
	fetched := tg.listing.Fetched
	for range 3 {
		at := fetched()
		waitFor(t, "a listing refresh", func() bool { return fetched().After(at) })
	}
	round()
	if n := builds(); n != 3 || tg.listing.Generation() != gen {
		t.Fatalf("after refreshes that changed nothing: %d builds, generation %d → %d", n, gen, tg.listing.Generation())
	}

	// A compound method made here: in the next documents at once.
	def := `{"name":"twice","methods":[{"method":"first","params":{}}]}`
	if code, _, body := postWith(t, tg.url+"/compound-methods", def, bearer(ta.admin)); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	_, doc := getHost(t, tg.url+"/openapi.json", "")
	_, methods := getHost(t, tg.url+"/methods", "")
	if !bytes.Contains(doc, []byte(`"/rpc/twice"`)) || !bytes.Contains(methods, []byte(`"twice"`)) {
		t.Fatal("the compound method is not in the documents")
	}
	list, err := tg.cfg.Compounds.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := openapi.JSON(buildinfo.Version(), documentedMethods(tg, list)); !bytes.Equal(doc, want) {
		t.Fatal("the OpenAPI document served differs from a build")
	}
	if n := builds(); n != 5 {
		t.Fatalf("%d builds, want 5 (two documents asked again)", n)
	}

	// A method the upstream adds: in the documents after the refresh.
	if err := m.Register(bridge.Method{Name: "second", Scope: bridge.ScopePublic, Handler: answer}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new method in /openapi.json", func() bool {
		_, doc := getHost(t, tg.url+"/openapi.json", "")
		return bytes.Contains(doc, []byte(`"/rpc/second"`))
	})
	_, doc = getHost(t, tg.url+"/openrpc.json", "")
	if !bytes.Contains(doc, []byte(`"name":"second"`)) {
		t.Fatal("the new method is not in /openrpc.json")
	}
}

// documentedMethods describes the methods as the OpenAPI and OpenRPC
// documents do, built afresh.
func documentedMethods(tg *testGateway, compounds []compound.Definition) []openapi.Method {
	methods, _ := tg.methodDocs(compounds)
	for i := range methods {
		methods[i].Anonymous = tg.cfg.Auth.AllowsAnonymous(methods[i].Name, methods[i].Scope)
	}
	return methods
}
