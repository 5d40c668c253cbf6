package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFirstSentence(t *testing.T) {
	for _, tt := range []struct{ name, desc, want string }{
		{"none", "", ""},
		{"one sentence", "the latest height of master chain", "the latest height of master chain"},
		{"two sentences", "Gets the balance. The frozen part is apart.", "Gets the balance"},
		{"a dot inside a word", "v1.2 of the protocol. Next", "v1.2 of the protocol"},
		{"Chinese stop", "获取账户资产(已入区块)。包括锁定", "获取账户资产(已入区块)"},
		{"line break", "first line\nsecond line", "first line"},
		{"spaces around", "  padded.  ", "padded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := FirstSentence(tt.desc); got != tt.want {
				t.Errorf("FirstSentence(%q) = %q, want %q", tt.desc, got, tt.want)
			}
		})
	}
	long := ""
	for range 40 {
		long += "word "
	}
	if got := FirstSentence(long); len(got) > maxSummary+len("…") {
		t.Errorf("a long description gives %d bytes: %q", len(got), got)
	}
}

func TestSummary(t *testing.T) {
	for _, tt := range []struct {
		m    Method
		want string
	}{
		{Method{Name: "getBalance", Description: "Gets the balance. More."}, "Gets the balance"},
		{Method{Name: "getBalance"}, "getBalance"},
		{Method{Name: "getBalance", Description: "获取账户资产(已入区块)"}, "getBalance: 获取账户资产(已入区块)"},
		{Method{Name: "getNonce", Description: "获取账户资产NONCE值"}, "getNonce: 获取账户资产NONCE值"},
		{Method{Name: "getBalance", Description: "get a balance. 获取账户资产(已入区块)"}, "get a balance"},
		{Method{Name: "ac_transfer", Description: "创建普通转账交易/create transfer transaction"}, "create transfer transaction"},
		{Method{Name: "ac_getAllPriKey", Description: "获取所有私钥，如果不一致/Get the keys. if not, an error"}, "Get the keys"},
		{Method{Name: "ratio", Description: "the A/B ratio"}, "the A/B ratio"},
		{Method{Name: "long", Description: "获取所有本地账户账户私钥，必须保证所有账户密码一致，如果本地账户中的密码不一致，将返回错误信息/Get the keys. More"}, "Get the keys"},
		{Method{Name: "mine", Compound: true}, "The compound method mine"},
	} {
		if got := tt.m.Summary(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.m, got, tt.want)
		}
	}
}

// TestSecurityShape: an operation anonymous callers may use has the empty
// requirement alone, which Swagger UI draws without a lock, and says in its
// description that a key may still be sent (for its rate plan); one that
// needs a credential lists its schemes, one of them enough, and no empty
// requirement.
func TestSecurityShape(t *testing.T) {
	doc, err := Document([]Method{
		{Name: "latestHeight", Scope: "public", MinEvent: 1, Anonymous: true, Parameters: []Param{}},
		{Name: "getNonce", Scope: "public", MinEvent: 1, Parameters: []Param{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	type shape struct {
		Security []map[string][]string
		NoteSaid bool
	}
	got := map[string]shape{}
	for _, path := range []string{"/rpc/latestHeight", "/rpc/latestHeight/stream", "/rpc/getNonce", "/rpc/getNonce/stream"} {
		item := doc.Paths.Value(path)
		if item == nil {
			t.Fatalf("%s: not described", path)
		}
		for _, op := range item.Operations() {
			var sec []map[string][]string
			for _, req := range *op.Security {
				r := map[string][]string{}
				for name, scopes := range req {
					r[name] = scopes
				}
				sec = append(sec, r)
			}
			got[path] = shape{sec, strings.Contains(op.Description, "No credential needed") && strings.Contains(op.Description, "rate plan")}
		}
	}
	none := []string{}
	want := map[string]shape{
		"/rpc/latestHeight":        {[]map[string][]string{{}}, true},
		"/rpc/latestHeight/stream": {[]map[string][]string{{}}, true},
		"/rpc/getNonce":            {[]map[string][]string{{"BearerAuth": none}, {"APIKeyAuth": none}}, false},
		"/rpc/getNonce/stream":     {[]map[string][]string{{"BearerAuth": none}, {"APIKeyAuth": none}, {"StreamTicket": none}}, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("security (-want +got):\n%s", diff)
	}
	// As served: the empty requirement is an empty object, in a list of one.
	b, err := json.Marshal(doc.Paths.Value("/rpc/latestHeight").Post.Security)
	if err != nil || string(b) != "[{}]" {
		t.Errorf("latestHeight's security marshals as %s (%v), want [{}]", b, err)
	}
}
