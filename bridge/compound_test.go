package bridge

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Compound methods (D14 and its Precisions), registered with raw
// RegisterCompoundMethod and UnregisterCompoundMethod frames.

// compoundModule is a test module with two methods that share an address
// parameter, so that one alias can feed both.
func compoundModule(t *testing.T) *testModule {
	t.Helper()
	tm := newTestModule(t, ModuleConfig{})
	for _, m := range []Method{
		{
			Name:       "balance",
			Parameters: []Parameter{{Name: "address", Type: "String", Required: true}},
			Handler: func(_ context.Context, c *Call) (any, error) {
				var p struct{ Address string }
				_ = c.Bind(&p)
				return map[string]any{"address": p.Address, "total": 100}, nil
			},
		},
		{
			Name:       "nonce",
			Parameters: []Parameter{{Name: "address", Type: "String", Required: true}},
			Handler: func(_ context.Context, c *Call) (any, error) {
				var p struct{ Address string }
				_ = c.Bind(&p)
				return "nonce-" + p.Address, nil
			},
		},
	} {
		if err := tm.Register(m); err != nil {
			t.Fatal(err)
		}
	}
	return tm
}

func registerFrame(id, data string) string {
	return envelope(id, TypeRegisterCompoundMethod, data)
}

func unregisterFrame(id, name string) string {
	return envelope(id, TypeUnregisterCompoundMethod, `{"UnregisterCompoundMethodName":"`+name+`"}`)
}

// compoundOK reads the reply to a (un)registration and checks its shape.
func compoundOK(t *testing.T, w *wirePeer, id, kind, name string) {
	t.Helper()
	r, f := w.response(id)
	if !r.Succeeded() {
		t.Fatalf("%s %s refused: %s", kind, name, f.text)
	}
	_, data := rawFields(t, f.text)
	want := map[string]any{kind: map[string]any{"CompoundMethodName": name}}
	if diff := cmp.Diff(want, data["ResponseData"]); diff != "" {
		t.Errorf("ResponseData (-want +got):\n%s", diff)
	}
}

// notCallable checks that calling name answers err_0021.
func notCallable(t *testing.T, w *wirePeer, id, name string) {
	t.Helper()
	w.send(requestFrame(id, `{"`+name+`":{}}`))
	if r, f := w.response(id); r.Succeeded() || r.ResponseErrorCode != CodeMethodNotFound {
		t.Errorf("%s: got %s, want err_0021", name, f.text)
	}
}

// TestCompoundRegisterAndCall covers the object form (V1.4, children in key
// order) and the array form of CompoundMethods, the reply to the
// registration, and the result of a call: {"<name>": {"<child>": <result>}}
// with the caller's parameters mapped through the aliases.
func TestCompoundRegisterAndCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		compound string // CompoundMethods
		params   string // the caller's parameters
		want     string // the compound method's result
		children []string
	}{
		{
			name:     "object form",
			compound: `{"balance":{"address":"addr"},"add":{"a":"x","b":"y"},"count":{}}`,
			params:   `{"addr":"NULSd6Hgen9wbmV3eWreyWAuip5DWwzBkbczc","x":1,"y":2}`,
			want:     `{"balance":{"address":"NULSd6Hgen9wbmV3eWreyWAuip5DWwzBkbczc","total":100},"add":{"sum":3},"count":1}`,
			children: []string{"balance", "add", "count"},
		},
		{
			name:     "array form",
			compound: `[{"count":{}},{"echo":{"k":"kk","j":"jj"}},{"nonce":{"address":"addr"}}]`,
			params:   `{"kk":"v","addr":"A","unused":true}`,
			want:     `{"count":1,"echo":{"k":"v"},"nonce":"nonce-A"}`,
			children: []string{"count", "echo", "nonce"},
		},
		{
			name:     "one alias feeds two children",
			compound: `{"nonce":{"address":"addr"},"balance":{"address":"addr"}}`,
			params:   `{"addr":"B"}`,
			want:     `{"nonce":"nonce-B","balance":{"address":"B","total":100}}`,
			children: []string{"nonce", "balance"},
		},
		{
			name:     "aliases named as the parameters",
			compound: `{"add":{"a":"a","b":"b"}}`,
			params:   `{"a":20,"b":22}`,
			want:     `{"add":{"sum":42}}`,
			children: []string{"add"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tm := compoundModule(t)
			w := dialWire(t, tm.url)
			w.negotiate(0)
			w.send(registerFrame("rc-1", `{"CompoundMethodName":"GetMyInfo","CompoundMethodDescription":"Get useful information.","CompoundMethods":`+tt.compound+`}`))
			compoundOK(t, w, "rc-1", "RegisterCompoundMethod", "GetMyInfo")

			w.send(requestFrame("call", `{"GetMyInfo":`+tt.params+`}`))
			r := w.ok("call")
			if diff := cmp.Diff([]string{"GetMyInfo"}, resultKeys(r)); diff != "" {
				t.Fatalf("ResponseData keys (-want +got):\n%s", diff)
			}
			got := result(t, r, "GetMyInfo")
			jsonEqual(t, tt.want, got)
			members, err := orderedMembers("", got)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, mb := range members {
				order = append(order, mb.key)
			}
			if diff := cmp.Diff(tt.children, order); diff != "" {
				t.Errorf("children order (-want +got):\n%s", diff)
			}
			// Any other connection can call it.
			other := dialWire(t, tm.url)
			other.send(requestFrame("call2", `{"GetMyInfo":`+tt.params+`}`))
			other.ok("call2")
		})
	}
}

// TestCompoundFailures: the registration is refused (non-zero status, a
// comment) when the name is taken, a child is unknown or an alias collides;
// a call fails as a whole when a child fails.
func TestCompoundFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		data    string
		wantIn  string // in the comment
		badName string // a name that must not have been registered
	}{
		{"name of a method", `{"CompoundMethodName":"echo","CompoundMethods":{"count":{}}}`, "taken", ""},
		{"name of a kernel command", `{"CompoundMethodName":"status","CompoundMethods":{"count":{}}}`, "taken", ""},
		{"name of a compound method", `{"CompoundMethodName":"Taken","CompoundMethods":{"echo":{}}}`, "taken", ""},
		{"unknown child", `{"CompoundMethodName":"C1","CompoundMethods":{"count":{},"nope":{}}}`, "nope", "C1"},
		{"compound child", `{"CompoundMethodName":"C2","CompoundMethods":{"Taken":{}}}`, "Taken", "C2"},
		{"alias names two types in a child", `{"CompoundMethodName":"C3","CompoundMethods":{"add":{"a":"v","label":"v"}}}`, "collides", "C3"},
		{"alias names parameters of two types", `{"CompoundMethodName":"C4","CompoundMethods":[{"add":{"a":"v"}},{"balance":{"address":"v"}}]}`, "collides", "C4"},
		{"child twice", `{"CompoundMethodName":"C5","CompoundMethods":[{"count":{}},{"count":{}}]}`, "twice", "C5"},
		{"no name", `{"CompoundMethodName":"","CompoundMethods":{"count":{}}}`, "CompoundMethodName", ""},
		{"no children", `{"CompoundMethodName":"C6","CompoundMethods":{}}`, "CompoundMethods", "C6"},
		{"children missing", `{"CompoundMethodName":"C7"}`, "CompoundMethods", "C7"},
		{"empty alias", `{"CompoundMethodName":"C8","CompoundMethods":{"add":{"a":""}}}`, "alias", "C8"},
	}
	tm := compoundModule(t)
	w := dialWire(t, tm.url)
	w.negotiate(0)
	w.send(registerFrame("taken", `{"CompoundMethodName":"Taken","CompoundMethods":{"count":{}}}`))
	compoundOK(t, w, "taken", "RegisterCompoundMethod", "Taken")
	for i, tt := range tests {
		id := fmt.Sprintf("rc-%d", i)
		w.send(registerFrame(id, tt.data))
		r, f := w.response(id)
		if r.Succeeded() || r.ResponseComment == "" || !strings.Contains(r.ResponseComment, tt.wantIn) {
			t.Errorf("%s: got %s, want a failure mentioning %q", tt.name, f.text, tt.wantIn)
		}
		if tt.badName != "" {
			notCallable(t, w, "call-"+id, tt.badName)
		}
	}
	// The method a refused registration tried to take is untouched.
	w.send(requestFrame("echo", `{"echo":{"still":"echo"}}`))
	jsonEqual(t, `{"still":"echo"}`, result(t, w.ok("echo"), "echo"))

	// A failing child fails the whole call, with the child's error.
	w.send(registerFrame("cf", `{"CompoundMethodName":"CF","CompoundMethods":{"count":{},"fail":{},"echo":{}}}`))
	compoundOK(t, w, "cf", "RegisterCompoundMethod", "CF")
	w.send(requestFrame("call-cf", `{"CF":{}}`))
	if r, f := w.response("call-cf"); r.Succeeded() || r.ResponseStatus != StatusFailed || r.ResponseErrorCode != "ac_0001" {
		t.Errorf("got %s, want the child's failure ac_0001", f.text)
	}
	// A parameter a child refuses, through its alias.
	w.send(registerFrame("sum", `{"CompoundMethodName":"Sum","CompoundMethods":{"add":{"a":"x","b":"y"}}}`))
	compoundOK(t, w, "sum", "RegisterCompoundMethod", "Sum")
	w.send(requestFrame("call-sum", `{"Sum":{"x":101,"y":1}}`))
	if r, f := w.response("call-sum"); r.Succeeded() || r.ResponseErrorCode != CodeParameterError || !strings.Contains(r.ResponseComment, "Param wrong range:a") {
		t.Errorf("got %s, want err_0012 Param wrong range:a", f.text)
	}
	w.send(requestFrame("call-sum-missing", `{"Sum":{"x":1}}`))
	if r, f := w.response("call-sum-missing"); r.Succeeded() || r.ResponseErrorCode != CodeParameterError || !strings.Contains(r.ResponseComment, "Param null:b") {
		t.Errorf("got %s, want err_0012 Param null:b", f.text)
	}
	// In a Request with other methods, the whole Request fails (D4s).
	w.send(requestFrame("mixed", `{"echo":{},"CF":{}}`))
	if r, f := w.response("mixed"); r.Succeeded() {
		t.Errorf("got %s, want a failure", f.text)
	}
}

// TestCompoundUnregister: by name removes one; an empty name removes all the
// connection registered and nothing of another connection's; a name
// registered by another connection or unknown is refused; the compound
// methods of a connection disappear when it closes.
func TestCompoundUnregister(t *testing.T) {
	t.Parallel()
	tm := compoundModule(t)
	a := dialWire(t, tm.url)
	a.negotiate(0)
	b := dialWire(t, tm.url)
	b.negotiate(0)
	for _, name := range []string{"A1", "A2", "A3"} {
		a.send(registerFrame("reg-"+name, `{"CompoundMethodName":"`+name+`","CompoundMethods":{"count":{}}}`))
		compoundOK(t, a, "reg-"+name, "RegisterCompoundMethod", name)
	}
	b.send(registerFrame("reg-B1", `{"CompoundMethodName":"B1","CompoundMethods":{"echo":{}}}`))
	compoundOK(t, b, "reg-B1", "RegisterCompoundMethod", "B1")

	a.send(unregisterFrame("un-A3", "A3"))
	compoundOK(t, a, "un-A3", "UnregisterCompoundMethod", "A3")
	notCallable(t, a, "call-A3", "A3")

	for _, tt := range []struct{ id, name string }{{"un-B1", "B1"}, {"un-none", "none"}, {"un-method", "echo"}} {
		a.send(unregisterFrame(tt.id, tt.name))
		if r, f := a.response(tt.id); r.Succeeded() || r.ResponseComment == "" {
			t.Errorf("unregistering %s: got %s, want a failure", tt.name, f.text)
		}
	}

	a.send(unregisterFrame("un-all", ""))
	compoundOK(t, a, "un-all", "UnregisterCompoundMethod", "")
	notCallable(t, a, "call-A1", "A1")
	notCallable(t, a, "call-A2", "A2")
	a.send(requestFrame("call-B1", `{"B1":{}}`))
	a.ok("call-B1")
	if got := compoundNames(tm.Module); !slices.Equal(got, []string{"B1"}) {
		t.Errorf("compound methods %v, want [B1]", got)
	}

	// The methods of a connection go with it.
	b.close()
	waitFor(t, "B1 removed with its connection", func() bool { return len(compoundNames(tm.Module)) == 0 })
	notCallable(t, a, "call-B1-after", "B1")
	// Its name is free again.
	a.send(registerFrame("reg-B1-again", `{"CompoundMethodName":"B1","CompoundMethods":{"count":{}}}`))
	compoundOK(t, a, "reg-B1-again", "RegisterCompoundMethod", "B1")
}

// compoundNames lists the compound methods in Module.Methods().
func compoundNames(m *Module) []string {
	var out []string
	for _, mi := range m.Methods() {
		m.mu.RLock()
		_, ok := m.compounds[mi.MethodName]
		m.mu.RUnlock()
		if ok {
			out = append(out, mi.MethodName)
		}
	}
	return out
}

// TestCompoundMethodList: Module.Methods() describes a compound method with
// its aliases as parameters, typed by the child parameters they feed, and
// the method list listeners (which re-send RegisterAPI to a Manager) run on
// every change.
func TestCompoundMethodList(t *testing.T) {
	t.Parallel()
	tm := compoundModule(t)
	var changes atomic.Int64
	tm.OnMethodsChanged(func() { changes.Add(1) })
	w := dialWire(t, tm.url)
	w.negotiate(0)
	w.send(registerFrame("reg", `{"CompoundMethodName":"GetMyInfo","CompoundMethodDescription":"Get useful information.","CompoundMethods":{"balance":{"address":"addr"},"add":{"a":"x","b":"y","label":"tag"},"count":{}}}`))
	compoundOK(t, w, "reg", "RegisterCompoundMethod", "GetMyInfo")
	waitFor(t, "a method list change after registering", func() bool { return changes.Load() == 1 })

	var got *MethodInfo
	for _, mi := range tm.Methods() {
		if mi.MethodName == "GetMyInfo" {
			got = &mi
		}
	}
	if got == nil {
		t.Fatal("Methods() does not list GetMyInfo")
	}
	want := &MethodInfo{
		MethodName: "GetMyInfo", MethodDescription: "Get useful information.",
		MethodMinEvent: "0", MethodMinPeriod: "1", MethodScope: "public",
		Parameters: []ParameterInfo{
			{ParameterName: "addr", ParameterType: "String"},
			{ParameterName: "x", ParameterType: "int", ParameterValidRange: "[0,100]"},
			{ParameterName: "y", ParameterType: "int"},
			{ParameterName: "tag", ParameterType: "String", ParameterValidRegExp: "[a-z]+"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Methods() entry (-want +got):\n%s", diff)
	}

	w.send(unregisterFrame("un", "GetMyInfo"))
	compoundOK(t, w, "un", "UnregisterCompoundMethod", "GetMyInfo")
	waitFor(t, "a method list change after unregistering", func() bool { return changes.Load() == 2 })
	w.send(registerFrame("reg2", `{"CompoundMethodName":"Again","CompoundMethods":{"count":{}}}`))
	compoundOK(t, w, "reg2", "RegisterCompoundMethod", "Again")
	waitFor(t, "a method list change after registering again", func() bool { return changes.Load() == 3 })
	w.close()
	waitFor(t, "a method list change when the connection closed", func() bool { return changes.Load() == 4 })
	if names := compoundNames(tm.Module); len(names) != 0 {
		t.Errorf("compound methods %v after the connection closed", names)
	}
	// A refused registration changes nothing.
	w2 := dialWire(t, tm.url)
	w2.send(registerFrame("bad", `{"CompoundMethodName":"Bad","CompoundMethods":{"nope":{}}}`))
	if r, _ := w2.response("bad"); r.Succeeded() {
		t.Fatal("registration with an unknown child accepted")
	}
	// Listeners run on their own goroutine: a change that follows the
	// refusal is counted after any change the refusal caused.
	w2.send(registerFrame("good", `{"CompoundMethodName":"Good","CompoundMethods":{"count":{}}}`))
	compoundOK(t, w2, "good", "RegisterCompoundMethod", "Good")
	waitFor(t, "a method list change after registering Good", func() bool { return changes.Load() >= 5 })
	if n := changes.Load(); n != 5 {
		t.Errorf("%d method list changes, want 5: the refused registration counted", n)
	}
}
