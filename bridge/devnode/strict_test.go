package devnode

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// rawPeer is a WebSocket client that writes frames itself.
type rawPeer struct {
	t  *testing.T
	ws *websocket.Conn
	in chan []byte // frames read, closed when the connection ends
}

func dialRaw(t *testing.T, url string) *rawPeer {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	r := &rawPeer{t: t, ws: ws, in: make(chan []byte, 16)}
	// One reader goroutine: a gorilla connection cannot be read again
	// after a read deadline expired.
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(r.in)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			r.in <- b
		}
	}()
	t.Cleanup(func() {
		ws.Close()
		for range r.in {
		}
		<-done
	})
	return r
}

// send writes m, with extra fields merged into the envelope (top) or into
// MessageData (data).
func (r *rawPeer) send(m *bridge.Message, top, data map[string]any) {
	r.t.Helper()
	b, err := bridge.Encode(m)
	if err != nil {
		r.t.Fatal(err)
	}
	var frame map[string]any
	if err := json.Unmarshal(b, &frame); err != nil {
		r.t.Fatal(err)
	}
	for k, v := range top {
		frame[k] = v
	}
	for k, v := range data {
		frame["MessageData"].(map[string]any)[k] = v
	}
	if b, err = json.Marshal(frame); err != nil {
		r.t.Fatal(err)
	}
	if err := r.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		r.t.Fatal(err)
	}
}

// read returns the next message, or nil if none arrives within d.
func (r *rawPeer) read(d time.Duration) *bridge.Message {
	r.t.Helper()
	select {
	case b, ok := <-r.in:
		if !ok {
			r.t.Fatal("connection closed")
		}
		m, err := bridge.Decode(b)
		if err != nil {
			r.t.Fatal(err)
		}
		return m
	case <-time.After(d):
		return nil
	}
}

func (r *rawPeer) negotiate() {
	r.t.Helper()
	r.send(bridge.NewMessage("n-1", &bridge.NegotiateConnection{ProtocolVersion: "0.1", CompressionAlgorithm: "zlib", CompressionRate: "0", Abbreviation: "raw"}), nil, nil)
	m := r.read(5 * time.Second)
	if nr, ok := m.MessageData.(*bridge.NegotiateConnectionResponse); !ok || !nr.Accepted() {
		r.t.Fatalf("negotiation answered %#v", m)
	}
}

func latestHeightRequest(id string) *bridge.Message {
	return bridge.NewMessage(id, &bridge.Request{RequestMethods: []bridge.MethodCall{
		{Method: "latestHeight", Params: json.RawMessage(`{"chainId":2}`)},
	}})
}

// TestStrict checks that a strict node drops, with no reply, a frame with a
// field Java does not know, as the Python client's top-level
// ProtocolVersion or its RequestType (docs/protocol.md#strictness), and
// still answers a correct one; and that a tolerant node answers both.
func TestStrict(t *testing.T) {
	t.Parallel()
	extras := []struct {
		name      string
		top, data map[string]any
	}{
		{"ProtocolVersion in the envelope", map[string]any{"ProtocolVersion": "0.1"}, nil},
		{"RequestType in MessageData", nil, map[string]any{"RequestType": "1"}},
	}
	for _, strict := range []bool{true, false} {
		n := startNode(t, Config{Strict: strict})
		for _, ex := range extras {
			t.Run(ex.name, func(t *testing.T) {
				t.Parallel()
				r := dialRaw(t, n.URL())
				r.negotiate()
				r.send(latestHeightRequest("bad-1"), ex.top, ex.data)
				m := r.read(300 * time.Millisecond)
				switch {
				case strict && m != nil:
					t.Fatalf("strict node answered %#v", m.MessageData)
				case !strict && m == nil:
					t.Fatal("tolerant node did not answer")
				}
				r.send(latestHeightRequest("good-2"), nil, nil)
				m = r.read(5 * time.Second)
				if m == nil {
					t.Fatal("no answer to the correct frame")
				}
				resp, ok := m.MessageData.(*bridge.Response)
				if !ok || resp.RequestID != "good-2" || !resp.Succeeded() {
					t.Fatalf("answer to the correct frame: %#v", m.MessageData)
				}
			})
		}
	}
}
