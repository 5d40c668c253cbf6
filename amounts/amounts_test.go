package amounts

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/catalog"
)

func TestStringify(t *testing.T) {
	big := &catalog.Type{Kind: "integer", Java: "BigInteger"}
	balance := &catalog.Type{Kind: "object", Fields: map[string]*catalog.Type{
		"total": big, "freeze": big, "nonce": {Kind: "string", Java: "String"}, "height": {Kind: "integer", Java: "long"},
		"available": {Kind: "string", Java: "String"},
		"list":      {Kind: "array", Items: &catalog.Type{Kind: "object", Fields: map[string]*catalog.Type{"amount": big}}},
	}}
	tests := []struct{ name, in, want string }{
		{"amounts", `{"total":1000000000000000001,"freeze":0,"nonce":"ab","height":9007199254740993}`,
			`{"total":"1000000000000000001","freeze":"0","nonce":"ab","height":9007199254740993}`},
		{"key order kept, other fields untouched", `{"zeta":[1,{"a":null}],"total":5,"x":true}`, `{"zeta":[1,{"a":null}],"total":"5","x":true}`},
		{"inside arrays", `{"list":[{"amount":12345678901234567890},{"amount":-3}]}`, `{"list":[{"amount":"12345678901234567890"},{"amount":"-3"}]}`},
		{"already a string", `{"total":"7"}`, `{"total":"7"}`},
		{"a String answered as a number", `{"available":123,"nonce":"ab"}`, `{"available":"123","nonce":"ab"}`},
		{"not an integer", `{"total":1.5}`, `{"total":1.5}`},
		{"escapes kept", `{"n\"ame":"a\u00e9\n","total":1}`, `{"n\"ame":"aé\n","total":"1"}`},
		{"not JSON: unchanged", `{"total":1`, `{"total":1`},
		{"trailing data: unchanged", `{"total":1} {}`, `{"total":1} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Stringify(json.RawMessage(tt.in), balance)); got != tt.want {
				t.Errorf("Stringify(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
	plain := &catalog.Type{Kind: "object", Fields: map[string]*catalog.Type{"n": {Kind: "integer", Java: "long"}}}
	if in := `{"n": 1}`; string(Stringify(json.RawMessage(in), plain)) != in {
		t.Error("an answer without a BigInteger was rewritten")
	}
	if got := string(Stringify(json.RawMessage(`12`), big)); got != `"12"` {
		t.Errorf("a top-level amount: %s", got)
	}
}

// TestStringifyCatalog: the catalog's own BigInteger fields (getBalance's
// total) come out as strings.
func TestStringifyCatalog(t *testing.T) {
	cmd, ok := catalog.NULS2().Lookup("getBalance")
	if !ok || !Big(cmd.Result) {
		t.Fatal("getBalance declares no BigInteger")
	}
	got := string(Stringify(json.RawMessage(`{"total":1000000000000000001,"freeze":0,"available":1000000000000000001}`), cmd.Result))
	if got != `{"total":"1000000000000000001","freeze":"0","available":"1000000000000000001"}` {
		t.Errorf("getBalance: %s", got)
	}
}

func FuzzStringify(f *testing.F) {
	big := &catalog.Type{Kind: "integer", Java: "BigInteger"}
	typ := &catalog.Type{Kind: "object", Fields: map[string]*catalog.Type{"a": big, "b": {Kind: "array", Items: big}}}
	f.Add(`{"a":1,"b":[2,3]}`)
	f.Add(`[[[[{"a":1e5}]]]]`)
	f.Fuzz(func(t *testing.T, in string) {
		out := Stringify(json.RawMessage(in), typ)
		if json.Valid([]byte(in)) && !json.Valid(out) {
			t.Fatalf("valid %q became invalid %q", in, out)
		}
	})
}

func TestAnswer(t *testing.T) {
	big := &catalog.Type{Kind: "integer", Java: "BigInteger"}
	if got := string(Stringify(json.RawMessage(`{"value":10000000000000000001}`), Answer(big))); got != `{"value":"10000000000000000001"}` {
		t.Errorf("a scalar amount answered as {value}: %s", got)
	}
	obj := &catalog.Type{Kind: "object", Fields: map[string]*catalog.Type{"a": big}}
	if Answer(obj) != obj || Answer(nil) != nil {
		t.Error("an object's answer is itself")
	}
}

func TestHasNumber(t *testing.T) {
	for in, want := range map[string]bool{
		`{"value":"0a1b2c"}`: false, `{"a":"x\"1"}`: false, `{"a":1}`: true, `[-1]`: true, `{"a\\":"1"}`: false, `"12"`: false,
	} {
		if got := hasNumber([]byte(in)); got != want {
			t.Errorf("hasNumber(%s) = %v, want %v", in, got, want)
		}
	}
}

func BenchmarkStringifyHeader(b *testing.B) {
	typ := &catalog.Type{Kind: "string", Java: "String"}
	raw := json.RawMessage(`{"value":"` + strings.Repeat("ab", 300) + `"}`)
	b.ReportAllocs()
	for b.Loop() {
		Stringify(raw, Answer(typ))
	}
}
