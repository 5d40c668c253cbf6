package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/openapi"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// servedOpenAPI is what a client reads of /openapi.json.
type servedOpenAPI struct {
	Paths map[string]map[string]struct {
		Summary    string
		Security   []map[string][]string
		Parameters []struct {
			Name     string
			In       string
			Required bool
		}
	}
}

// TestDocumentsDescribeStreamsSecurityAndSummaries: /openapi.json and
// /methods describe every stream the gateway serves, the derived ones
// (newHeaders, accountBalance) with their query parameters among them, and
// no call of a stream only; a method anonymous callers may call needs no
// credential (the empty requirement alone), one that needs a key has no
// empty requirement; each summary is the first sentence of the method's
// description, or its name.
func TestDocumentsDescribeStreamsSecurityAndSummaries(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{Anonymous: auth.AnonymousPolicy{Scopes: []string{bridge.ScopePublic}, Methods: []string{"latestHeight", "getBalance"}}})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})

	status, body := getHost(t, tg.url+"/methods", "")
	var list struct{ Methods []openapi.Method }
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("/methods: %d %s", status, body)
	}
	status, body = getHost(t, tg.url+"/openapi.json", "")
	var doc servedOpenAPI
	if status != http.StatusOK || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("/openapi.json: %d %.300s", status, body)
	}
	byName := map[string]openapi.Method{}
	for _, m := range list.Methods {
		byName[m.Name] = m
	}

	// Every derived stream, in both documents, with its parameters.
	for _, name := range upstream.DerivedNames() {
		source, info, _ := upstream.Derived(name)
		m, ok := byName[name]
		if !ok || !m.StreamOnly || m.Source != source || m.MinEvent <= 0 {
			t.Errorf("/methods: %s is %+v, want a stream only of %s", name, m, source)
		}
		stream, ok := doc.Paths["/rpc/"+name+"/stream"]["get"]
		if !ok {
			t.Errorf("/openapi.json has no GET /rpc/%s/stream", name)
			continue
		}
		var query []string
		for _, p := range stream.Parameters {
			if p.In == "query" {
				query = append(query, p.Name)
			}
		}
		for _, p := range info.Parameters {
			if !slices.Contains(query, p.ParameterName) {
				t.Errorf("GET /rpc/%s/stream lacks the query parameter %s: %v", name, p.ParameterName, query)
			}
		}
		if slices.Contains(query, "period") {
			t.Errorf("GET /rpc/%s/stream offers a period, which it refuses", name)
		}
		if _, ok := doc.Paths["/rpc/"+name]; ok {
			t.Errorf("/openapi.json describes a call of %s, a stream only", name)
		}
	}
	// Every stream /methods lists is a path of /openapi.json.
	for _, m := range list.Methods {
		if _, ok := doc.Paths["/rpc/"+m.Name+"/stream"]; m.Streamable() && !ok {
			t.Errorf("/methods lists %s with streams, /openapi.json has no stream of it", m.Name)
		}
	}
	// The streams the gateway serves, each opened once: each is described.
	for _, path := range []string{"/rpc/latestHeight/stream?chainId=2", "/rpc/newHeaders/stream?chainId=2"} {
		s := openSSE(t, tg.url+path, "")
		if s.resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, s.resp.StatusCode)
		}
		s.close()
		if _, ok := doc.Paths[strings.Split(path, "?")[0]]; !ok {
			t.Errorf("%s is served and not described", path)
		}
	}

	// Security: none needed (the empty requirement alone, which Swagger
	// UI draws without a lock) for what anonymous callers may call,
	// required otherwise.
	optional := func(sec []map[string][]string) bool { return len(sec) == 1 && len(sec[0]) == 0 }
	for path, want := range map[string]bool{
		"/rpc/latestHeight": true, "/rpc/getBalance": true, "/rpc/newHeaders/stream": true,
		"/rpc/info": false, "/rpc/getNonce": false,
	} {
		var sec []map[string][]string
		for _, op := range doc.Paths[path] {
			sec = op.Security
		}
		if sec == nil {
			t.Errorf("%s: not described", path)
			continue
		}
		if optional(sec) != want {
			t.Errorf("%s: security %v, want optional %v", path, sec, want)
		}
		if !want && slices.ContainsFunc(sec, func(r map[string][]string) bool { return len(r) == 0 }) {
			t.Errorf("%s: security %v lets anonymous callers in", path, sec)
		}
	}

	// Summaries.
	for _, m := range list.Methods {
		if m.StreamOnly {
			continue
		}
		op, ok := doc.Paths["/rpc/"+m.Name]["post"]
		if !ok {
			t.Errorf("%s: no call described", m.Name)
			continue
		}
		want := m.Summary()
		if op.Summary != want || strings.HasPrefix(op.Summary, "Call ") {
			t.Errorf("%s: summary %q, want %q", m.Name, op.Summary, want)
		}
	}
	if got := doc.Paths["/rpc/latestHeight"]["post"].Summary; got != "the latest height of master chain" {
		t.Errorf("latestHeight's summary %q", got)
	}

	// The OpenRPC document calls methods only.
	_, body = getHost(t, tg.url+"/openrpc.json", "")
	var rpc struct{ Methods []struct{ Name string } }
	if err := json.Unmarshal(body, &rpc); err != nil {
		t.Fatal(err)
	}
	for _, m := range rpc.Methods {
		if _, _, derived := upstream.Derived(m.Name); derived {
			t.Errorf("/openrpc.json lists %s, a stream only", m.Name)
		}
	}
}

// TestSummariesInEnglishBehindTheLiveNode: behind a live node's listing,
// whose descriptions are often Chinese alone, every method the gateway
// exposes (public and admin) has a summary in English besides its name:
// the English half of a description in both languages, or the catalog's
// (catalog.Summary) before the node's words.
func TestSummariesInEnglishBehindTheLiveNode(t *testing.T) {
	t.Parallel()
	ln := startLiveNode(t, nil)
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{nodeURL: ln.url, cfg: Config{Auth: ta, Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin}}})
	status, body := getHost(t, tg.url+"/openapi.json", "")
	var doc servedOpenAPI
	if status != http.StatusOK || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("/openapi.json: %d %.300s", status, body)
	}
	latin := func(s string) bool {
		return strings.ContainsFunc(s, func(r rune) bool { return r < 128 && (r|0x20) >= 'a' && (r|0x20) <= 'z' })
	}
	n := 0
	for path, item := range doc.Paths {
		name, ok := strings.CutPrefix(path, "/rpc/")
		op, post := item["post"]
		if !ok || !post || strings.ContainsAny(name, "{/") {
			continue
		}
		n++
		if !latin(strings.ReplaceAll(op.Summary, name, "")) || strings.HasPrefix(op.Summary, name+": ") {
			t.Errorf("%s: summary %q has no English", name, op.Summary)
		}
	}
	if n < 50 {
		t.Errorf("%d methods described, want the live listing's public and admin ones", n)
	}
	if got, want := doc.Paths["/rpc/getBalance"]["post"].Summary, catalog.Summary("getBalance"); got != want {
		t.Errorf("getBalance's summary %q, want the catalog's %q", got, want)
	}
}
