package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nuls-gateway/nuls-gateway/gateway/socket"
)

// TestJSONRPCSocket: GET /jsonrpc is a WebSocket of JSON-RPC 2.0 calls and
// subscriptions: a call is answered as on POST, a subscription to
// newHeaders sends a notification per new block, unsubscribe ends it; a
// page of a foreign origin cannot open it.
func TestJSONRPCSocket(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	wsURL := "ws" + strings.TrimPrefix(tg.url, "http") + "/jsonrpc"
	conn, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL, nil)
	if err != nil {
		t.Fatalf("dial: %v %v", err, resp)
	}
	defer conn.Close()
	read := func() map[string]json.RawMessage {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		return m
	}
	write := func(s string) {
		t.Helper()
		if err := conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"jsonrpc":"2.0","method":"latestHeight","params":[2],"id":1}`)
	if m := read(); string(m["id"]) != "1" || !strings.HasPrefix(string(m["result"]), `{"value":`) {
		t.Fatalf("call: %v", m)
	}
	// Method not found comes before the params, as on POST.
	write(`{"jsonrpc":"2.0","method":"nope","params":[2,"x"],"id":"u"}`)
	if m := read(); string(m["id"]) != `"u"` || !strings.Contains(string(m["error"]), `"code":-32601`) {
		t.Fatalf("unknown method with positional params: %v", m)
	}
	write(`{"jsonrpc":"2.0","method":"subscribe","params":["newHeaders",{"chainId":2}],"id":2}`)
	sub := read()
	var id string
	if err := json.Unmarshal(sub["result"], &id); err != nil || id == "" {
		t.Fatalf("subscribe: %v", sub)
	}
	type note struct {
		Subscription string
		ID           string
		Type         string
		Result       struct{ Height *int64 }
	}
	next := func() note {
		t.Helper()
		m := read()
		var n note
		if string(m["method"]) != `"subscription"` || json.Unmarshal(m["params"], &n) != nil || n.Subscription != id {
			t.Fatalf("notification: %v", m)
		}
		return n
	}
	if n := next(); n.Result.Height == nil || *n.Result.Height != 0 || n.ID == "" || n.Type != "" {
		t.Fatalf("first notification %+v", n)
	}
	tg.node.ProduceBlock()
	if n := next(); n.Result.Height == nil || *n.Result.Height != 1 {
		t.Fatalf("after a block: %+v", n)
	}
	write(`{"jsonrpc":"2.0","method":"unsubscribe","params":["` + id + `"],"id":3}`)
	if m := read(); string(m["result"]) != "true" {
		t.Fatalf("unsubscribe: %v", m)
	}
	write(`{"jsonrpc":"2.0","method":"subscribe","params":["nope",{}],"id":4}`)
	if m := read(); !strings.Contains(string(m["error"]), `"code":-32601`) {
		t.Errorf("subscribe to an unknown method: %v", m)
	}
	// A foreign page cannot open the socket.
	_, resp, err = websocket.DefaultDialer.DialContext(t.Context(), wsURL, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a foreign origin: %v %v", err, resp)
	}
}

// TestJSONRPCSocketLimits: a socket holds at most socket.DefaultMaxSubscriptions
// subscriptions, and a batch no larger than POST's.
func TestJSONRPCSocketLimits(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws"+strings.TrimPrefix(tg.url, "http")+"/jsonrpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	answers := map[string]string{}
	for i := range socket.DefaultMaxSubscriptions + 1 {
		req := `{"jsonrpc":"2.0","method":"subscribe","params":["latestHeight",{"chainId":2},{"eventCounter":` + strconv.Itoa(i+1) + `}],"id":"s` + strconv.Itoa(i) + `"}`
		if err := conn.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
			t.Fatal(err)
		}
	}
	for len(answers) < socket.DefaultMaxSubscriptions+1 {
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %d answers: %v", len(answers), err)
		}
		var m struct {
			ID     string
			Result json.RawMessage
			Error  json.RawMessage
		}
		if json.Unmarshal(msg, &m) == nil && m.ID != "" {
			answers[m.ID] = string(m.Result) + string(m.Error)
		}
	}
	if last := answers["s"+strconv.Itoa(socket.DefaultMaxSubscriptions)]; !strings.Contains(last, "as many subscriptions as one socket may") {
		t.Errorf("subscription %d: %s", socket.DefaultMaxSubscriptions+1, last)
	}
	if first := answers["s0"]; first != `"1"` {
		t.Errorf("first subscription: %s", first)
	}
}

// TestJSONRPCSocketTakesASlot: a socket is one of the caller's streams, so
// a stranger cannot hold sockets beyond its share of streams.
func TestJSONRPCSocketTakesASlot(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{MaxStreamsPerClient: 2}})
	url := "ws" + strings.TrimPrefix(tg.url, "http") + "/jsonrpc"
	for i := range 2 {
		c, _, err := websocket.DefaultDialer.DialContext(t.Context(), url, nil)
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	_, resp, err := websocket.DefaultDialer.DialContext(t.Context(), url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third socket with a share of 2: %v %v, want 429", err, resp)
	}
}
