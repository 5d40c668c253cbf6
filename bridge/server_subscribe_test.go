package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Subscriptions on the module side (D5, D10 to D13), driven by a scripted
// peer.

// subscriptionModule is a test module with the methods these tests need.
func subscriptionModule(t *testing.T) *testModule {
	t.Helper()
	tm := newTestModule(t, ModuleConfig{})
	methods := []Method{
		// The height as a bare number: the range applies to the result
		// itself (D12).
		{Name: "heightN", MinEvent: 1, Handler: func(context.Context, *Call) (any, error) { return tm.height.Load(), nil }},
		{Name: "arr", MinEvent: 1, MinPeriod: 1, Handler: func(context.Context, *Call) (any, error) {
			return []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, nil
		}},
		{Name: "ev3", MinEvent: 3, Handler: func(context.Context, *Call) (any, error) { return 3, nil }},
		{Name: "p2", MinPeriod: 2, Handler: func(context.Context, *Call) (any, error) { return 2, nil }},
	}
	for _, m := range methods {
		if err := tm.Register(m); err != nil {
			t.Fatal(err)
		}
	}
	return tm
}

// heightIn returns the height a result carries: {"value": h} or h.
func heightIn(t *testing.T, raw json.RawMessage) int64 {
	t.Helper()
	x, ok := numericValue(raw)
	if !ok {
		t.Fatalf("result %s carries no height", raw)
	}
	return int64(x)
}

// TestServerUnsubscribe covers D5 on our server: an Unsubscribe naming the
// subscription Request's MessageID, or a method it calls, stops its pushes;
// an entry naming nothing is harmless.
func TestServerUnsubscribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entries string // UnsubscribeMethods
		stops   bool
	}{
		{"by request id", `["sub-1"]`, true},
		{"by method name", `["height"]`, true},
		{"by id among others", `["other","sub-1"]`, true},
		{"by id as a lone string", `"sub-1"`, true},
		{"unknown entry", `["nothing"]`, false},
		{"other method", `["echo"]`, false},
		{"empty list", `[]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tm := subscriptionModule(t)
			w := dialWire(t, tm.url)
			w.negotiate(0)
			w.send(requestFrame("sub-1", `{"height":{}}`, "SubscriptionEventCounter", `"1"`))
			w.ok("sub-1")
			tm.bump()
			if r := w.ok("sub-1"); heightIn(t, result(t, r, "height")) != 1 {
				t.Fatalf("push %s", resultsText(r.ResponseData))
			}
			w.send(envelope("unsub", TypeUnsubscribe, `{"UnsubscribeMethods":`+tt.entries+`}`))
			// No reply to an Unsubscribe (docs/protocol.md#unsubscribe);
			// it is handled before the next Request.
			w.sync("sync")
			tm.bump()
			if tt.stops {
				w.quiet(150 * time.Millisecond)
				if n := serverSubs(tm.Module); n != 0 {
					t.Errorf("%d subscriptions left on the server", n)
				}
			} else if r := w.ok("sub-1"); heightIn(t, result(t, r, "height")) != 2 {
				t.Fatalf("push %s", resultsText(r.ResponseData))
			}
			w.sync("usable")
		})
	}
	t.Run("period subscription", func(t *testing.T) {
		t.Parallel()
		// Unlike Java (docs/protocol.md#java), our server stops period
		// subscriptions.
		tm := subscriptionModule(t)
		w := dialWire(t, tm.url)
		w.negotiate(0)
		w.send(requestFrame("per", `{"height":{}}`, "SubscriptionPeriod", `"1"`))
		w.ok("per")
		w.send(envelope("unsub", TypeUnsubscribe, `{"UnsubscribeMethods":["per"]}`))
		w.sync("sync")
		w.quiet(1300 * time.Millisecond)
	})
	t.Run("only the named subscription", func(t *testing.T) {
		t.Parallel()
		tm := subscriptionModule(t)
		w := dialWire(t, tm.url)
		w.negotiate(0)
		w.send(requestFrame("a", `{"height":{}}`, "SubscriptionEventCounter", `"1"`))
		w.ok("a")
		w.send(requestFrame("b", `{"heightN":{}}`, "SubscriptionEventCounter", `"1"`))
		w.ok("b")
		w.send(envelope("unsub", TypeUnsubscribe, `{"UnsubscribeMethods":["a"]}`))
		w.sync("sync")
		tm.height.Add(1)
		tm.Trigger("height")
		tm.Trigger("heightN")
		if r := w.ok("b"); heightIn(t, result(t, r, "heightN")) != 1 {
			t.Fatalf("push %s", resultsText(r.ResponseData))
		}
		w.quiet(150 * time.Millisecond)
	})
}

// TestServerMultiMethodSubscription covers D10 with several methods (the
// Precisions): the first method's events drive the pushes, and each push
// re-runs every method of the Request.
func TestServerMultiMethodSubscription(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprintf("every %d", n), func(t *testing.T) {
			t.Parallel()
			tm := subscriptionModule(t)
			w := dialWire(t, tm.url)
			w.negotiate(0)
			w.send(requestFrame("multi", `{"height":{},"count":{},"echo":{"k":1}}`, "SubscriptionEventCounter", strconv.Quote(strconv.Itoa(n))))
			r := w.ok("multi")
			if diff := cmp.Diff([]string{"height", "count", "echo"}, resultKeys(r)); diff != "" {
				t.Fatalf("first Response keys (-want +got):\n%s", diff)
			}
			jsonEqual(t, `1`, result(t, r, "count"))
			// Events of the other methods drive nothing.
			tm.Trigger("count")
			tm.Trigger("echo")
			w.quiet(100 * time.Millisecond)
			for i := 1; i <= 3*n; i++ {
				tm.bump()
				if i%n != 0 {
					continue
				}
				r := w.ok("multi")
				if diff := cmp.Diff([]string{"height", "count", "echo"}, resultKeys(r)); diff != "" {
					t.Fatalf("push keys (-want +got):\n%s", diff)
				}
				if h := heightIn(t, result(t, r, "height")); h != int64(i) {
					t.Errorf("push after event %d has height %d", i, h)
				}
				// count ran again for this push.
				jsonEqual(t, strconv.Itoa(1+i/n), result(t, r, "count"))
				jsonEqual(t, `{"k":1}`, result(t, r, "echo"))
			}
			w.quiet(100 * time.Millisecond)
		})
	}
}

// TestServerPeriodSubscription covers D11: the first Response at once, then
// one every N seconds with the same RequestID, each running the methods
// again.
func TestServerPeriodSubscription(t *testing.T) {
	t.Parallel()
	tm := subscriptionModule(t)
	w := dialWire(t, tm.url)
	w.negotiate(0)
	start := time.Now()
	w.send(requestFrame("per", `{"height":{},"count":{}}`, "SubscriptionPeriod", `"1"`))
	jsonEqual(t, `1`, result(t, w.ok("per"), "count"))
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("first Response after %v, want at once", d)
	}
	first := time.Now()
	_, f := w.response("per")
	if d := time.Since(first); d < 800*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("period push after %v, want about 1s", d)
	}
	r, _ := DecodeStrict(f.text)
	jsonEqual(t, `2`, result(t, r.MessageData.(*Response), "count"))
}

// TestServerSubscriptionRange covers D12: the first Response is always sent;
// pushes only when the numeric result (or its value field) is inside the
// interval; "" and "0" mean no range; an invalid range is refused. Every
// row is one subscription on the same connection, fed the same events.
func TestServerSubscriptionRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		rng    string // JSON value of SubscriptionRange; "" leaves the field out
		want   []int64
	}{
		{"half open", "height", `"[3, 5)"`, []int64{3, 4}},
		{"on the result itself", "heightN", `"[3, 5)"`, []int64{3, 4}},
		{"exclusive lower, unbounded upper", "height", `"(4, )"`, []int64{5, 6}},
		{"unbounded lower", "height", `"(,2]"`, []int64{1, 2}},
		{"both inclusive", "height", `"[2,2]"`, []int64{2}},
		{"dash form", "height", `"[5-65535]"`, []int64{5, 6}},
		{"negative bound", "height", `"[-10, 1]"`, []int64{1}},
		{"nothing inside", "height", `"[100, )"`, nil},
		{"zero means none", "height", `"0"`, []int64{1, 2, 3, 4, 5, 6}},
		{"number zero means none", "heightN", `0`, []int64{1, 2, 3, 4, 5, 6}},
		{"empty means none", "height", `""`, []int64{1, 2, 3, 4, 5, 6}},
		{"missing means none", "height", ``, []int64{1, 2, 3, 4, 5, 6}},
	}
	tm := subscriptionModule(t)
	w := dialWire(t, tm.url)
	w.negotiate(0)
	for i, tt := range tests {
		id := fmt.Sprintf("rng-%d", i)
		w.send(requestFrame(id, `{"`+tt.method+`":{}}`, "SubscriptionEventCounter", `"1"`, "SubscriptionRange", tt.rng))
		// Height 0 is outside most ranges, yet answered.
		if h := heightIn(t, result(t, w.ok(id), tt.method)); h != 0 {
			t.Fatalf("%s: first Response height %d", tt.name, h)
		}
	}
	for _, bad := range []string{`"[5, 1]"`, `"abc"`, `"[1,2"`, `"1,2"`, `"[a, 2]"`, `"[12]"`, `"5"`} {
		w.send(requestFrame("bad", `{"height":{}}`, "SubscriptionEventCounter", `"1"`, "SubscriptionRange", bad))
		r, f := w.response("bad")
		if r.Succeeded() || r.ResponseErrorCode != CodeParameterError || !strings.Contains(r.ResponseComment, "SubscriptionRange") {
			t.Errorf("range %s: got %s, want err_0012 about SubscriptionRange", bad, f.text)
		}
	}
	if n := serverSubs(tm.Module); n != len(tests) {
		t.Errorf("%d subscriptions on the server, want %d: refused ones kept", n, len(tests))
	}
	for range 6 {
		tm.height.Add(1)
		tm.Trigger("height")
		tm.Trigger("heightN")
	}
	got := map[string][]int64{}
	for {
		select {
		case f := <-w.frames:
			m, err := DecodeStrict(f.text)
			if err != nil {
				t.Fatalf("%s: %v", f.text, err)
			}
			r, ok := m.MessageData.(*Response)
			if !ok || !r.Succeeded() || len(r.ResponseData) != 1 {
				t.Fatalf("got %s, want a push", f.text)
			}
			got[r.RequestID] = append(got[r.RequestID], heightIn(t, r.ResponseData[0].Result))
			continue
		case <-time.After(150 * time.Millisecond):
		}
		break
	}
	for i, tt := range tests {
		if diff := cmp.Diff(tt.want, got[fmt.Sprintf("rng-%d", i)]); diff != "" {
			t.Errorf("%s %s: pushed heights (-want +got):\n%s", tt.name, tt.rng, diff)
		}
	}
}

// TestServerResponseMaxSize covers D13: list results cut to N items, for an
// array result and for each array of an object result ({"list": [...]}),
// on one-shot Requests and on pushes; 0 is unlimited; the size is echoed.
func TestServerResponseMaxSize(t *testing.T) {
	t.Parallel()
	tm := subscriptionModule(t)
	w := dialWire(t, tm.url)
	w.negotiate(0)
	tests := []struct {
		name    string
		methods string
		max     string
		want    map[string]string // method -> result
	}{
		{"array", `{"arr":{}}`, `"3"`, map[string]string{"arr": `[1,2,3]`}},
		{"list field", `{"list":{}}`, `"3"`, map[string]string{"list": `{"list":[1,2,3],"total":10}`}},
		{"number", `{"arr":{},"list":{}}`, `2`, map[string]string{"arr": `[1,2]`, "list": `{"list":[1,2],"total":10}`}},
		{"larger than the list", `{"arr":{}}`, `"50"`, map[string]string{"arr": `[1,2,3,4,5,6,7,8,9,10]`}},
		{"zero is unlimited", `{"arr":{}}`, `"0"`, map[string]string{"arr": `[1,2,3,4,5,6,7,8,9,10]`}},
		{"not a list", `{"echo":{"list":"abc","n":[1,2,3]}}`, `"1"`, map[string]string{"echo": `{"list":"abc","n":[1]}`}},
	}
	for i, tt := range tests {
		id := fmt.Sprintf("max-%d", i)
		w.send(requestFrame(id, tt.methods, "ResponseMaxSize", tt.max))
		r, f := w.response(id)
		if !r.Succeeded() {
			t.Fatalf("%s: %s", tt.name, f.text)
		}
		for method, want := range tt.want {
			jsonEqual(t, want, result(t, r, method))
		}
		_, data := rawFields(t, f.text)
		var wantMax string
		_ = json.Unmarshal([]byte(tt.max), &wantMax)
		if wantMax == "" {
			wantMax = tt.max
		}
		if data["ResponseMaxSize"] != wantMax {
			t.Errorf("%s: ResponseMaxSize %v, want %q echoed", tt.name, data["ResponseMaxSize"], wantMax)
		}
	}
	// Pushes are cut too.
	w.send(requestFrame("sub", `{"arr":{}}`, "SubscriptionEventCounter", `"1"`, "ResponseMaxSize", `"2"`))
	jsonEqual(t, `[1,2]`, result(t, w.ok("sub"), "arr"))
	tm.Trigger("arr")
	jsonEqual(t, `[1,2]`, result(t, w.ok("sub"), "arr"))
}

// TestServerSubscriptionLimits: counters below the method's MethodMinEvent or
// MethodMinPeriod, or on a method that allows none (0), are refused with a
// comment naming the counter and the method; counters at or above the
// minimum are accepted. Only the first method is checked (D10).
func TestServerSubscriptionLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		methods     string
		set         []string
		wantComment string // "" when accepted
	}{
		{"event on a method without events", `{"echo":{}}`, []string{"SubscriptionEventCounter", `"1"`}, "SubscriptionEventCounter parameter: '1' not valid for method 'echo'"},
		{"event below the minimum", `{"ev3":{}}`, []string{"SubscriptionEventCounter", `"2"`}, "SubscriptionEventCounter parameter: '2' not valid for method 'ev3'"},
		{"event at the minimum", `{"ev3":{}}`, []string{"SubscriptionEventCounter", `"3"`}, ""},
		{"event above the minimum", `{"ev3":{}}`, []string{"SubscriptionEventCounter", `4`}, ""},
		{"period on a method without periods", `{"echo":{}}`, []string{"SubscriptionPeriod", `"1"`}, "SubscriptionPeriod parameter: '1' not valid for method 'echo'"},
		{"period below the minimum", `{"p2":{}}`, []string{"SubscriptionPeriod", `"1"`}, "SubscriptionPeriod parameter: '1' not valid for method 'p2'"},
		{"period at the minimum", `{"p2":{}}`, []string{"SubscriptionPeriod", `"2"`}, ""},
		{"event on a period-only method", `{"p2":{}}`, []string{"SubscriptionEventCounter", `"1"`}, "SubscriptionEventCounter parameter: '1' not valid for method 'p2'"},
		{"both counters", `{"height":{}}`, []string{"SubscriptionEventCounter", `"1"`, "SubscriptionPeriod", `"1"`}, ""},
		{"both on an event-only method", `{"heightN":{}}`, []string{"SubscriptionEventCounter", `"1"`, "SubscriptionPeriod", `"1"`}, "SubscriptionPeriod parameter: '1' not valid for method 'heightN'"},
		{"first method decides", `{"height":{},"echo":{}}`, []string{"SubscriptionEventCounter", `"1"`}, ""},
		{"first method refuses", `{"echo":{},"height":{}}`, []string{"SubscriptionEventCounter", `"1"`}, "SubscriptionEventCounter parameter: '1' not valid for method 'echo'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tm := subscriptionModule(t)
			w := dialWire(t, tm.url)
			w.negotiate(0)
			w.send(requestFrame("s", tt.methods, tt.set...))
			r, f := w.response("s")
			if tt.wantComment == "" {
				if !r.Succeeded() {
					t.Fatalf("refused: %s", f.text)
				}
				waitFor(t, "the subscription", func() bool { return serverSubs(tm.Module) == 1 })
				return
			}
			want := [3]any{StatusFailed, CodeParameterError, tt.wantComment}
			if got := [3]any{r.ResponseStatus, r.ResponseErrorCode, r.ResponseComment}; got != want {
				t.Errorf("got %v, want %v", got, want)
			}
			if n := serverSubs(tm.Module); n != 0 {
				t.Errorf("%d subscriptions kept after a refusal", n)
			}
		})
	}
}
