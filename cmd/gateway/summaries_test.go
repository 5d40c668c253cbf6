package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode"
)

// genericRoutes are the operations whose summary may start with "Call ":
// the routes that call a method the request names.
var genericRoutes = map[string]bool{
	"POST /rpc":               true,
	"POST /rpc/{method}":      true,
	"POST /rpc/{method}/each": true,
}

// TestOpenAPISummariesInEnglish: every operation of /openapi.json, as make
// run serves it (the simulated node, its wallet open), the admin methods
// exposed too, has a summary in English besides the method's name (the
// node's descriptions are often Chinese alone), and none but the generic
// routes' is "Call <name>".
func TestOpenAPISummariesInEnglish(t *testing.T) {
	addr, _, _ := startRun(t, "--dev-wallet", "--scopes", "public,admin")
	waitReady(t, addr)
	resp, err := http.Get("http://" + addr + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct{ Summary string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/openapi.json: %d %v", resp.StatusCode, err)
	}
	latin := func(s string) bool {
		return strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Latin, r) })
	}
	n := 0
	for path, item := range doc.Paths {
		for method, op := range item {
			n++
			where := strings.ToUpper(method) + " " + path
			// The method's name is no English.
			rest := op.Summary
			if name, ok := strings.CutPrefix(path, "/rpc/"); ok && !strings.HasPrefix(name, "{") {
				name = strings.TrimSuffix(name, "/stream")
				rest = strings.ReplaceAll(strings.TrimPrefix(rest, name+": "), name, "")
			}
			switch {
			case !latin(rest):
				t.Errorf("%s: summary %q has no English besides the method's name", where, op.Summary)
			case strings.HasPrefix(op.Summary, "Call ") && !genericRoutes[where]:
				t.Errorf("%s: summary %q says no more than its route", where, op.Summary)
			}
		}
	}
	if n < 40 {
		t.Errorf("%d operations: the simulated node's methods are not all described", n)
	}
}
