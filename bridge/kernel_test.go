package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The kernel commands of the RPC-TOOL design (D17 and its Precisions),
// called over the wire as ordinary methods, on connections the module
// trusts; and refused on the others.

// trustAll trusts every accepted connection, as a Java module does.
func trustAll(*http.Request) bool { return true }

// trustQuery trusts the accepted connections whose URL says ?trusted=yes:
// one module, two kinds of connection.
func trustQuery(r *http.Request) bool { return r.URL.Query().Get("trusted") == "yes" }

// rpcToolModuleTable is a module table in the shape of the RPC-TOOL design
// document's status command (D17 in docs/protocol.md): the services and,
// per module, its address, state, commands and dependencies.
const rpcToolModuleTable = `{
	"service": ["account", "block"],
	"available": true,
	"modules": {
		"account": {
			"name": "account", "status": "ready", "available": true,
			"addr": "127.0.0.1", "port": 18735,
			"rpcList": [{"cmd": "ac_createAccount", "version": 1.0, "preCompatible": true, "scope": "public"}],
			"dependsModule": ["block"]
		},
		"block": {
			"name": "block", "status": "running", "available": true,
			"addr": "127.0.0.1", "port": 17880, "rpcList": [], "dependsModule": []
		}
	}
}`

func TestKernelStatus(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{TrustAccepted: trustAll})
	w := dialWire(t, tm.url)
	w.negotiate(0)
	for i, params := range []string{rpcToolModuleTable, `{}`, `null`} {
		id := "status-" + string(rune('a'+i))
		w.send(requestFrame(id, `{"status":`+params+`}`))
		r := w.ok(id)
		if r.ResponseComment != "success" || r.ResponseErrorCode != "" {
			t.Errorf("status: comment %q code %q", r.ResponseComment, r.ResponseErrorCode)
		}
	}
	select {
	case <-tm.Done():
		t.Fatal("status stopped the module")
	default:
	}
}

// TestKernelConf covers confGet (the whole configuration), confSet (keys
// and values, new keys allowed, answers the new configuration) and
// confReset (answers the initial configuration).
func TestKernelConf(t *testing.T) {
	t.Parallel()
	initial := map[string]any{"chainId": 1, "dataPath": "/data", "nested": map[string]any{"x": 1}}
	tm := newTestModule(t, ModuleConfig{Settings: initial, TrustAccepted: trustAll})
	w := dialWire(t, tm.url)
	w.negotiate(0)
	steps := []struct {
		name    string
		methods string
		want    string
	}{
		{"get", `{"confGet":{}}`, `{"chainId":1,"dataPath":"/data","nested":{"x":1}}`},
		{"set existing and new keys", `{"confSet":{"chainId":2,"logLevel":"debug","nested":{"y":2}}}`, `{"chainId":2,"dataPath":"/data","logLevel":"debug","nested":{"y":2}}`},
		{"get after set", `{"confGet":{}}`, `{"chainId":2,"dataPath":"/data","logLevel":"debug","nested":{"y":2}}`},
		{"set nothing", `{"confSet":{}}`, `{"chainId":2,"dataPath":"/data","logLevel":"debug","nested":{"y":2}}`},
		// The reserved version selector (D18) is not a setting.
		{"set with a version", `{"confSet":{"version":"1.0","a":true}}`, `{"a":true,"chainId":2,"dataPath":"/data","logLevel":"debug","nested":{"y":2}}`},
		{"reset", `{"confReset":{}}`, `{"chainId":1,"dataPath":"/data","nested":{"x":1}}`},
		{"get after reset", `{"confGet":{}}`, `{"chainId":1,"dataPath":"/data","nested":{"x":1}}`},
		{"set after reset", `{"confSet":{"b":"c"}}`, `{"b":"c","chainId":1,"dataPath":"/data","nested":{"x":1}}`},
		{"reset again", `{"confReset":{}}`, `{"chainId":1,"dataPath":"/data","nested":{"x":1}}`},
	}
	for i, st := range steps {
		id := "conf-" + string(rune('a'+i))
		w.send(requestFrame(id, st.methods))
		r := w.ok(id)
		if len(r.ResponseData) != 1 {
			t.Fatalf("%s: %s", st.name, resultsText(r.ResponseData))
		}
		jsonEqual(t, st.want, r.ResponseData[0].Result)
	}
	// The caller's map is not the module's.
	if diff := cmp.Diff(map[string]any{"chainId": 1, "dataPath": "/data", "nested": map[string]any{"x": 1}}, initial); diff != "" {
		t.Errorf("ModuleConfig.Settings changed (-want +got):\n%s", diff)
	}
	// A module without settings answers an empty object.
	tm2 := newTestModule(t, ModuleConfig{TrustAccepted: trustAll})
	w2 := dialWire(t, tm2.url)
	w2.send(requestFrame("get", `{"confGet":{}}`))
	jsonEqual(t, `{}`, result(t, w2.ok("get"), "confGet"))
	w2.send(requestFrame("reset", `{"confReset":{}}`))
	jsonEqual(t, `{}`, result(t, w2.ok("reset"), "confReset"))
}

// TestKernelShutdown: shutdown answers success, then the module drains: a
// Request running at that time completes and its Response is delivered, new
// Requests are refused, and Module.Done() closes once the work is done.
func TestKernelShutdown(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{TrustAccepted: trustAll})
	w := dialWire(t, tm.url)
	w.negotiate(0)
	w.send(requestFrame("slow", `{"slow":{"ms":400}}`))
	w.send(requestFrame("stop", `{"shutdown":{}}`))
	r := w.ok("stop")
	if r.ResponseComment != "success" {
		t.Errorf("shutdown comment %q", r.ResponseComment)
	}
	select {
	case <-tm.Done():
		t.Fatal("the module stopped while a Request was running")
	default:
	}
	waitFor(t, "draining", func() bool {
		tm.mu.RLock()
		defer tm.mu.RUnlock()
		return tm.draining
	})
	w.send(requestFrame("late", `{"echo":{}}`))
	if r, f := w.response("late"); r.Succeeded() || r.ResponseComment != "module is shutting down" {
		t.Errorf("Request during the drain: %s", f.text)
	}
	jsonEqual(t, `"done"`, result(t, w.ok("slow"), "slow"))
	select {
	case <-tm.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("Done() not closed after the drain")
	}
	if code := w.closedByModule(2 * time.Second); code != 1000 {
		t.Errorf("connection closed with %d, want 1000", code)
	}
}

// TestKernelTerminate: terminate answers success, then the module stops at
// once, without waiting for running Requests.
func TestKernelTerminate(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{TrustAccepted: trustAll})
	w := dialWire(t, tm.url)
	w.negotiate(0)
	w.send(requestFrame("slow", `{"slow":{"ms":5000}}`))
	start := time.Now()
	w.send(requestFrame("kill", `{"terminate":{}}`))
	r := w.ok("kill")
	if r.ResponseComment != "success" {
		t.Errorf("terminate comment %q", r.ResponseComment)
	}
	select {
	case <-tm.Done():
	case <-time.After(time.Second):
		t.Fatal("Done() not closed within 1s of terminate")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("terminate took %v: it waited for the running Request", d)
	}
	// Whatever the slow Request's fate, it did not succeed.
	for {
		select {
		case f := <-w.frames:
			if m, err := DecodeStrict(f.text); err == nil {
				if r, ok := m.MessageData.(*Response); ok && r.RequestID == "slow" && r.Succeeded() {
					t.Fatalf("the slow Request completed: %s", f.text)
				}
			}
		case <-w.ended:
			return
		case <-time.After(2 * time.Second):
			t.Fatal("connection still open after terminate")
		}
	}
}

// TestKernelCommandsTrustedOnly: anyone who reached a module's endpoint could
// negotiate and call terminate, shutdown or confSet. By default no accepted
// connection is trusted: the kernel commands do not exist for it (err_0021,
// as an unknown method), whether asked alone, among other methods, as a
// RequestOnly or as a compound method's child, and the module goes on; a
// trusted connection of the same module still gets them.
func TestKernelCommandsTrustedOnly(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{Settings: map[string]any{"a": 1}, TrustAccepted: trustQuery})
	stranger := dialWire(t, tm.url)
	stranger.negotiate(0)
	for i, methods := range []string{
		`{"terminate":{}}`, `{"shutdown":{}}`, `{"confSet":{"a":2}}`, `{"confReset":{}}`, `{"confGet":{}}`, `{"status":{}}`,
		`{"echo":{},"confSet":{"a":3}}`, `{"confSet":{"a":4,"version":"1.0"}}`,
	} {
		id := "k" + string(rune('a'+i))
		stranger.send(requestFrame(id, methods))
		r, f := stranger.response(id)
		if r.Succeeded() || r.ResponseErrorCode != CodeMethodNotFound || !strings.HasPrefix(r.ResponseComment, "Cmd not found:") {
			t.Errorf("%s from a stranger: %s, want err_0021 Cmd not found", methods, f.text)
		}
	}
	stranger.send(envelope("ro", TypeRequestOnly, javaRequest(`{"terminate":{}}`)))
	stranger.send(envelope("ro2", TypeRequestOnly, javaRequest(`{"confSet":{"a":5}}`)))
	// A compound method of the module's own, with a kernel child: the
	// caller's trust is what counts.
	if err := tm.AddCompound(&RegisterCompoundMethod{CompoundMethodName: "Conf", CompoundMethods: []CompoundChild{{Method: "confGet"}}}); err != nil {
		t.Fatal(err)
	}
	stranger.send(requestFrame("compound", `{"Conf":{}}`))
	if r, f := stranger.response("compound"); r.Succeeded() || r.ResponseErrorCode != CodeMethodNotFound {
		t.Errorf("a compound method with a kernel child, from a stranger: %s, want err_0021", f.text)
	}
	// A stranger's own compound method cannot name one.
	stranger.send(registerFrame("reg", `{"CompoundMethodName":"Stop","CompoundMethods":{"terminate":{}}}`))
	if r, f := stranger.response("reg"); r.Succeeded() || r.ResponseErrorCode != CodeMethodNotFound {
		t.Errorf("a stranger's compound method with a kernel child: %s, want err_0021", f.text)
	}
	stranger.sync("after")
	select {
	case <-tm.Done():
		t.Fatal("a stranger stopped the module")
	default:
	}
	if diff := cmp.Diff(map[string]any{"a": 1}, tm.Settings()); diff != "" {
		t.Errorf("a stranger changed the settings (-want +got):\n%s", diff)
	}

	// The trusted connection of the same module.
	trusted := dialWire(t, tm.url+"?trusted=yes")
	trusted.negotiate(0)
	trusted.send(requestFrame("set", `{"confSet":{"a":2}}`))
	jsonEqual(t, `{"a":2}`, result(t, trusted.ok("set"), "confSet"))
	trusted.send(requestFrame("compound", `{"Conf":{}}`))
	jsonEqual(t, `{"confGet":{"a":2}}`, result(t, trusted.ok("compound"), "Conf"))
	trusted.send(requestFrame("stop", `{"shutdown":{}}`))
	trusted.ok("stop")
	select {
	case <-tm.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the trusted connection's shutdown did not stop the module")
	}
}

// TestTrustedCompounds: with ModuleConfig.TrustedCompounds a connection that
// is not trusted cannot register or unregister compound methods (what the
// module announces to its Manager); a trusted one can, and anyone may call
// them.
func TestTrustedCompounds(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{TrustAccepted: trustQuery, TrustedCompounds: true})
	stranger := dialWire(t, tm.url)
	stranger.negotiate(0)
	stranger.send(registerFrame("reg", `{"CompoundMethodName":"Mine","CompoundMethods":{"echo":{}}}`))
	if r, f := stranger.response("reg"); r.Succeeded() || r.ResponseErrorCode != CodeParameterError {
		t.Errorf("a stranger's RegisterCompoundMethod: %s, want a refusal", f.text)
	}
	for _, mi := range tm.Methods() {
		if mi.MethodName == "Mine" {
			t.Fatal("a stranger's compound method is in the module's method list")
		}
	}
	trusted := dialWire(t, tm.url+"?trusted=yes")
	trusted.negotiate(0)
	trusted.send(registerFrame("reg", `{"CompoundMethodName":"Ours","CompoundMethods":{"echo":{}}}`))
	compoundOK(t, trusted, "reg", "RegisterCompoundMethod", "Ours")
	stranger.send(requestFrame("call", `{"Ours":{}}`))
	stranger.ok("call")
	stranger.send(unregisterFrame("unreg", "Ours"))
	if r, f := stranger.response("unreg"); r.Succeeded() {
		t.Errorf("a stranger's UnregisterCompoundMethod: %s, want a refusal", f.text)
	}
	trusted.send(unregisterFrame("unreg", "Ours"))
	compoundOK(t, trusted, "unreg", "UnregisterCompoundMethod", "Ours")
}

// TestClientTrust: a module serving a Client's connection answers the kernel
// commands there only when the Client is Trusted (a Manager link is).
func TestClientTrust(t *testing.T) {
	t.Parallel()
	for _, trusted := range []bool{false, true} {
		peer := newTestModule(t, ModuleConfig{Abbreviation: "peer"})
		gw, err := NewModule(ModuleConfig{Abbreviation: "gw", Settings: map[string]any{"a": 1}}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gw.Close() })
		c := startClient(t, peer.url, ClientConfig{Abbreviation: "gw", FixedAbbreviation: true, Module: gw, Trusted: trusted})
		if c.Peer().Trusted() != trusted {
			t.Fatalf("Trusted %v: the connection says %v", trusted, c.Peer().Trusted())
		}
		conn := onlyPeer(t, peer.Module)
		_, err = conn.Call(context.Background(), "confSet", map[string]int{"a": 2})
		var rpcErr *RPCError
		switch {
		case trusted && err != nil:
			t.Errorf("confSet over a trusted Client connection: %v", err)
		case !trusted && (!errors.As(err, &rpcErr) || !rpcErr.MethodNotFound()):
			t.Errorf("confSet over an untrusted Client connection: %v, want not found", err)
		}
		want := map[bool]string{false: "1", true: "2"}[trusted]
		if got := fmt.Sprint(gw.Settings()["a"]); got != want {
			t.Errorf("Trusted %v: setting a is %s, want %s", trusted, got, want)
		}
	}
}
