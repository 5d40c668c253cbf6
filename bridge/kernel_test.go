package bridge

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The kernel commands of the RPC-TOOL design (D17 and its Precisions),
// called over the wire as ordinary methods.

// rpcToolModuleTable is a module table in the shape of the RPC-TOOL design
// document's status command (Part B §5.6): the services and, per module,
// its address, state, commands and dependencies.
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
	tm := newTestModule(t, ModuleConfig{})
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
	tm := newTestModule(t, ModuleConfig{Settings: initial})
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
	tm2 := newTestModule(t, ModuleConfig{})
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
	tm := newTestModule(t, ModuleConfig{})
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
	tm := newTestModule(t, ModuleConfig{})
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
