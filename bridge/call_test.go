package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCallRoundTrip(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	ctx := t.Context()

	got, err := c.Call(ctx, "add", map[string]any{"a": 2, "b": 40})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, `{"sum":42}`, got)

	got, err = c.Call(ctx, "echo", json.RawMessage(`{"nested":{"x":[1,"two",null]}}`))
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, `{"nested":{"x":[1,"two",null]}}`, got)

	got, err = c.Call(ctx, "echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, `{}`, got)
}

// TestCallMultiMethod covers D4 with our server's consolidated Response (D4s).
func TestCallMultiMethod(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	reply, err := c.CallMethods(t.Context(), []MethodCall{
		{Method: "add", Params: json.RawMessage(`{"a":1,"b":2}`)},
		{Method: "echo", Params: json.RawMessage(`{"k":"v"}`)},
		{Method: "count"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Results) != 3 || reply.Results[0].Method != "add" || reply.Results[1].Method != "echo" || reply.Results[2].Method != "count" {
		t.Fatalf("results %s", resultsText(reply.Results))
	}
	jsonEqual(t, `{"sum":3}`, reply.Results[0].Result)
	jsonEqual(t, `{"k":"v"}`, reply.Results[1].Result)
	if reply.RequestID == "" || reply.MessageID == "" || reply.ProcessingTime == "" {
		t.Errorf("reply metadata missing: %+v", reply)
	}

	// All-or-nothing: an unknown method fails the call and nothing runs.
	before := tm.calls.Load()
	_, err = c.CallMethods(t.Context(), []MethodCall{{Method: "count"}, {Method: "nope"}})
	var rpcErr *RPCError
	if !errors.As(err, &rpcErr) || !rpcErr.MethodNotFound() {
		t.Fatalf("err = %v, want method not found", err)
	}
	if tm.calls.Load() != before {
		t.Error("a method ran although the Request was invalid")
	}

	// A failure while running fails the whole Response (D4s).
	_, err = c.CallMethods(t.Context(), []MethodCall{{Method: "count"}, {Method: "fail"}})
	if !errors.As(err, &rpcErr) || rpcErr.Code != "ac_0001" {
		t.Fatalf("err = %v, want ac_0001", err)
	}
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	tests := []struct {
		name        string
		method      string
		params      string
		wantCode    string
		wantComment string
	}{
		{"unknown method", "nope", `{}`, CodeMethodNotFound, "Cmd not found:nope,"},
		{"unknown version", "add", `{"a":1,"b":2,"version":"2.0"}`, CodeMethodNotFound, "Cmd not found:add,2.0"},
		{"missing param", "add", `{"a":1}`, CodeParameterError, "Param null:b"},
		{"out of range", "add", `{"a":101,"b":1}`, CodeParameterError, "Param wrong range:a"},
		{"bad format", "add", `{"a":1,"b":1,"label":"X1"}`, CodeParameterError, "Param wrong format:label"},
		{"wrong type", "add", `{"a":"one","b":1}`, CodeServerError, "Server-side processing failed!"},
		{"fraction for int", "add", `{"a":1.5,"b":1}`, CodeServerError, "Server-side processing failed!"},
		{"business failure", "fail", `{}`, "ac_0001", "account not found"},
		{"handler panic", "boom", `{}`, CodeServerError, "Server-side processing failed!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Call(t.Context(), tt.method, json.RawMessage(tt.params))
			var rpcErr *RPCError
			if !errors.As(err, &rpcErr) {
				t.Fatalf("err = %v, want *RPCError", err)
			}
			if rpcErr.Status != StatusFailed || rpcErr.Code != tt.wantCode || !strings.HasPrefix(rpcErr.Comment, tt.wantComment) {
				t.Errorf("got status %d code %q comment %q, want 65536 %q %q", rpcErr.Status, rpcErr.Code, rpcErr.Comment, tt.wantCode, tt.wantComment)
			}
		})
	}
	// The module survived the panic.
	if _, err := c.Call(t.Context(), "count", nil); err != nil {
		t.Fatal(err)
	}
}

// TestCallTimeout covers D19: a context deadline, the default timeout, and
// the TimeOut field sent for Java peers.
func TestCallTimeout(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{CallTimeout: 150 * time.Millisecond})

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Call(ctx, "slow", map[string]int{"ms": 5000})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
	// No deadline: the configured CallTimeout applies.
	if _, err := c.Call(context.Background(), "slow", map[string]int{"ms": 5000}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout from CallTimeout", err)
	}
	// A late Response to a call that gave up is dropped, and the
	// connection goes on.
	if _, err := c.Call(t.Context(), "echo", nil); err != nil {
		t.Fatal(err)
	}
}

// TestCallSendsTimeOut checks the Request a Java peer sees (D19, D2).
func TestCallSendsTimeOut(t *testing.T) {
	t.Parallel()
	got := make(chan *Request, 1)
	url := rawServer(t, func(r *rawPeer) {
		n := r.read(2 * time.Second) // NegotiateConnection
		r.sendMsg(NewMessage("s-1", &NegotiateConnectionResponse{RequestID: n.MessageID, NegotiationStatus: "1"}))
		m, err := r.tryRead(5 * time.Second)
		if err != nil {
			return
		}
		got <- m.MessageData.(*Request)
		r.sendMsg(NewMessage("s-2", &Response{RequestID: m.MessageID, ResponseData: []MethodResult{{Method: "m", Result: json.RawMessage(`1`)}}}))
		_, _ = r.tryRead(5 * time.Second)
	})
	c := startClient(t, url, ClientConfig{})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, "m", nil); err != nil {
		t.Fatal(err)
	}
	req := <-got
	if req.TimeOut <= 0 || req.TimeOut > 3000 {
		t.Errorf("TimeOut = %d, want the remaining deadline in ms", req.TimeOut)
	}
	if req.RequestAck || req.IsSubscription() {
		t.Errorf("request %+v", req)
	}
}
