package subscriptions

import (
	"encoding/json"
	"testing"
)

// canonicalCorpus are parameters canonicalFlat takes and leaves to the
// decoding path.
var canonicalCorpus = []string{
	`{"chainId":2,"height":1}`,
	` { "height" : 1 , "chainId" : 2 } `,
	`{"hash":"0020a8b1c3","chainId":2}`,
	`{"b":true,"a":false,"c":null}`,
	`{"n":-1.5e3,"m":12345678901234567890}`,
	`{}`,
	`{"address":"tNULSeBaMqPDhRwU2N8W6KCDqdzo6ZC2dDyjzQ","assetId":1,"assetChainId":2,"chainId":2}`,
	`{"s":"é ☃ 𝄞"}`,
	`{"s":"a\"b"}`,
	`{"s":"<&>"}`,
	`{"s":"\u0061"}`,
	`{"s":"\u2028"}`,
	`{"a\u0062":1}`,
	`{"a":1,"a":2}`,
	`{"a":[1,2],"b":{"c":1}}`,
	`[1]`,
	`{"a":1,}`,
	`{"a" 1}`,
	`"x"`,
	`1`,
}

// TestCanonicalFlat: where the fast path answers, it answers what the
// decoding path would.
func TestCanonicalFlat(t *testing.T) {
	for _, in := range canonicalCorpus {
		checkCanonical(t, in)
	}
	if _, ok := canonicalFlat([]byte(`{"chainId":2,"height":1}`)); !ok {
		t.Error("a cached read's parameters took the decoding path")
	}
	params := json.RawMessage(`{"height":1,"chainId":2}`)
	if n := testing.AllocsPerRun(100, func() { _, _ = CanonicalParams(params) }); n > 1 {
		t.Errorf("CanonicalParams of flat parameters: %v allocations, want 1", n)
	}
}

func checkCanonical(t *testing.T, in string) {
	t.Helper()
	fast, ok := canonicalFlat([]byte(in))
	if !ok {
		return
	}
	slow, err := canonicalDecoded(json.RawMessage(in))
	if err != nil || fast != slow {
		t.Errorf("%s: fast %s, decoded %s (%v)", in, fast, slow, err)
	}
}

func FuzzCanonicalParams(f *testing.F) {
	for _, in := range canonicalCorpus {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkCanonical(t, in)
	})
}
