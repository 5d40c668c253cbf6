package openapi

import "testing"

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
		{Method{Name: "mine", Compound: true}, "The compound method mine"},
	} {
		if got := tt.m.Summary(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.m, got, tt.want)
		}
	}
}
