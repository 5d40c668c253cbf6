package bridge

import (
	"context"
	"fmt"
	"testing"
)

// Method versions (D18). The rule is the one documented on methodTable.find,
// which follows the Java RPC library (getLocalInvokeRpc): with no version
// the highest answers; otherwise, among the versions of the requested major
// at least as high as the one requested, the lowest answers, or the highest
// of the unbroken run of pre-compatible versions above it. D18's one-line
// summary ("the highest ... that is >= the requested one") is read through
// the pre-compatible flag it mentions: a version not declared pre-compatible
// does not answer for earlier ones.

// versionModule registers "ver" in 1.0, 1.1 (pre-compatible), 1.2 (not
// pre-compatible) and 2.0; each answers its own version.
func versionModule(t *testing.T) *testModule {
	t.Helper()
	tm := newTestModule(t, ModuleConfig{})
	for _, v := range []struct {
		version string
		pre     bool
	}{{"1.2", false}, {"1.0", false}, {"2.0", false}, {"1.1", true}} { // registration order does not matter
		if err := tm.Register(Method{Name: "ver", Version: v.version, PreCompatible: v.pre, Handler: func(_ context.Context, c *Call) (any, error) {
			return map[string]string{"registered": v.version, "call": c.Version}, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	return tm
}

var versionTests = []struct {
	name      string
	requested string // the version param as JSON; "" for none
	want      string // the version that answers; "" for not found
}{
	{"none", ``, "2.0"},
	{"empty", `""`, "2.0"},
	{"1.0 answered by pre-compatible 1.1", `"1.0"`, "1.1"},
	{"1.1", `"1.1"`, "1.1"},
	{"1.2", `"1.2"`, "1.2"},
	{"2.0", `"2.0"`, "2.0"},
	{"3.0 other major", `"3.0"`, ""},
	{"1.5 above every 1.x", `"1.5"`, ""},
	{"0.9 other major", `"0.9"`, ""},
	{"number 1.0", `1.0`, "1.1"},
	{"number 1", `1`, "1.1"},
	{"number 2", `2`, "2.0"},
	{"major only", `"1"`, "1.1"},
	{"patch ignored", `"1.2.7"`, "1.2"},
	{"not a version", `"abc"`, ""},
}

func TestMethodTableFind(t *testing.T) {
	t.Parallel()
	tm := versionModule(t)
	tm.mu.RLock()
	defer tm.mu.RUnlock()
	for _, tt := range versionTests {
		requested := ""
		if tt.requested != "" {
			requested = scalarText([]byte(tt.requested))
		}
		got := ""
		if r := tm.methods.find("ver", requested); r != nil {
			got = r.ver.String()
		}
		if got != tt.want {
			t.Errorf("%s: find(%q) = %q, want %q", tt.name, requested, got, tt.want)
		}
	}
	if r := tm.methods.find("nope", ""); r != nil {
		t.Errorf("find of an unknown method = %v", r.ver)
	}
}

// TestVersionOverTheWire selects the version with the reserved "version"
// parameter of a Request.
func TestVersionOverTheWire(t *testing.T) {
	t.Parallel()
	tm := versionModule(t)
	w := dialWire(t, tm.url)
	w.negotiate(0)
	for i, tt := range versionTests {
		id := fmt.Sprintf("v-%d", i)
		params := `{}`
		if tt.requested != "" {
			params = `{"version":` + tt.requested + `}`
		}
		w.send(requestFrame(id, `{"ver":`+params+`}`))
		r, f := w.response(id)
		if tt.want == "" {
			if r.Succeeded() || r.ResponseErrorCode != CodeMethodNotFound || r.ResponseComment != "Cmd not found:ver,"+scalarText([]byte(tt.requested)) {
				t.Errorf("%s: got %s, want err_0021 Cmd not found:ver,<version>", tt.name, f.text)
			}
			continue
		}
		if !r.Succeeded() {
			t.Errorf("%s: %s", tt.name, f.text)
			continue
		}
		jsonEqual(t, `{"registered":"`+tt.want+`","call":"`+tt.want+`"}`, result(t, r, "ver"))
	}
	// Methods() lists the method once, whatever its versions.
	n := 0
	for _, mi := range tm.Methods() {
		if mi.MethodName == "ver" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Methods() lists ver %d times, want once", n)
	}
}

func TestRegisterVersionTwice(t *testing.T) {
	t.Parallel()
	tm := versionModule(t)
	h := func(context.Context, *Call) (any, error) { return nil, nil }
	for _, v := range []string{"1.1", "1.10", "2"} {
		err := tm.Register(Method{Name: "ver", Version: v, Handler: h})
		switch v {
		case "1.10":
			if err != nil {
				t.Errorf("version %s: %v", v, err)
			}
		default: // 1.1 is registered; "2" is 2.0
			if err == nil {
				t.Errorf("version %s registered twice", v)
			}
		}
	}
	for _, v := range []string{"x", "1.x", "-1.0"} {
		if err := tm.Register(Method{Name: "bad", Version: v, Handler: h}); err == nil {
			t.Errorf("version %q accepted", v)
		}
	}
}
