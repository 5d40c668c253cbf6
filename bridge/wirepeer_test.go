package bridge

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wirePeer is a scripted peer for the module-side conformance tests: the
// test writes the frames a Java module, Nulstar or a broken client would
// send, and inspects every frame the module sends back, byte for byte.
//
// Unlike rawPeer it reads on its own goroutine, because gorilla/websocket
// fails every read after the first read timeout: a wirePeer can check for
// silence and then go on reading.
type wirePeer struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan wireFrame
	ended  chan struct{} // closed when the reader stops; err is then set
	err    error
	stop   chan struct{} // closed by close: the reader must not block
	once   sync.Once

	wmu sync.Mutex // serialises writes
}

// wireFrame is one frame received from the module.
type wireFrame struct {
	binary bool   // a binary WebSocket frame (D9)
	wire   []byte // the bytes on the wire
	text   []byte // the JSON text: wire, or wire inflated
	err    error  // why text could not be obtained
}

// dialWire connects a scripted peer to url; it closes with the test.
func dialWire(t *testing.T, url string) *wirePeer {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 2 * time.Second}
	ws, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	w := &wirePeer{t: t, ws: ws, frames: make(chan wireFrame, 1024), ended: make(chan struct{}), stop: make(chan struct{})}
	go w.readLoop()
	t.Cleanup(w.close)
	return w
}

func (w *wirePeer) readLoop() {
	defer close(w.ended)
	for {
		typ, b, err := w.ws.ReadMessage()
		if err != nil {
			w.err = err
			return
		}
		f := wireFrame{binary: typ == websocket.BinaryMessage, wire: b, text: b}
		if f.binary {
			f.text, f.err = inflateAll(b)
		}
		select {
		case w.frames <- f:
		case <-w.stop:
			return
		}
	}
}

// close closes the socket and waits for the reader. It may be called
// more than once.
func (w *wirePeer) close() {
	w.once.Do(func() {
		close(w.stop)
		_ = w.ws.Close()
	})
	<-w.ended
}

func inflateAll(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

func (w *wirePeer) send(frame string) {
	w.t.Helper()
	w.write(websocket.TextMessage, []byte(frame))
}

// sendZlib sends frame as a binary frame holding its zlib stream (D9).
func (w *wirePeer) sendZlib(frame string) {
	w.t.Helper()
	w.write(websocket.BinaryMessage, zlibOf(w.t, []byte(frame)))
}

func (w *wirePeer) write(typ int, b []byte) {
	w.t.Helper()
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.ws.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if err := w.ws.WriteMessage(typ, b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

func zlibOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// nextFrame returns the next frame, failing the test if none arrives within
// the time given or the connection ends.
func (w *wirePeer) nextFrame(within time.Duration) wireFrame {
	w.t.Helper()
	select {
	case f := <-w.frames:
		if f.err != nil {
			w.t.Fatalf("binary frame is not a zlib stream: %v", f.err)
		}
		return f
	case <-w.ended:
		select {
		case f := <-w.frames:
			return f
		default:
		}
		w.t.Fatalf("connection ended while waiting for a frame: %v", w.err)
	case <-time.After(within):
		w.t.Fatalf("no frame within %v", within)
	}
	return wireFrame{}
}

// next returns the next message. The module's frames are decoded with the
// strict decoder: what our server sends must be what a Java peer accepts
// (D1, D2).
func (w *wirePeer) next(within time.Duration) (*Message, wireFrame) {
	w.t.Helper()
	f := w.nextFrame(within)
	m, err := DecodeStrict(f.text)
	if err != nil {
		w.t.Fatalf("module sent a frame a Java peer would drop: %v\n%s", err, f.text)
	}
	return m, f
}

// response reads the next message and checks that it is a Response to id.
func (w *wirePeer) response(id string) (*Response, wireFrame) {
	w.t.Helper()
	m, f := w.next(2 * time.Second)
	r, ok := m.MessageData.(*Response)
	if !ok {
		w.t.Fatalf("got %s, want the Response to %s: %s", m.Type(), id, f.text)
	}
	if r.RequestID != id {
		w.t.Fatalf("got the Response to %q, want the one to %q: %s", r.RequestID, id, f.text)
	}
	return r, f
}

// ok reads the Response to id and checks that it succeeded.
func (w *wirePeer) ok(id string) *Response {
	w.t.Helper()
	r, f := w.response(id)
	if !r.Succeeded() {
		w.t.Fatalf("Response to %s failed: %s", id, f.text)
	}
	return r
}

// quiet checks that the module sends nothing for a while.
func (w *wirePeer) quiet(within time.Duration) {
	w.t.Helper()
	select {
	case f := <-w.frames:
		w.t.Fatalf("unexpected frame: %s", f.text)
	case <-w.ended:
		w.t.Fatalf("connection ended: %v", w.err)
	case <-time.After(within):
	}
}

// sync sends an echo Request and waits for its Response, skipping nothing:
// the frame read must be that Response. Frames the module handles on its
// reader (Unsubscribe, Notification, garbage) are handled before it, and
// their synchronous answers (Acks) would arrive first.
func (w *wirePeer) sync(id string) {
	w.t.Helper()
	w.send(requestFrame(id, `{"echo":{}}`))
	w.ok(id)
}

// closedByModule waits for the module to close the connection and returns
// the close code (or -1 if it ended without a close frame).
func (w *wirePeer) closedByModule(within time.Duration) int {
	w.t.Helper()
	select {
	case f := <-w.frames:
		w.t.Fatalf("frame instead of the close: %s", f.text)
	case <-w.ended:
		select {
		case f := <-w.frames:
			w.t.Fatalf("frame instead of the close: %s", f.text)
		default:
		}
		var ce *websocket.CloseError
		if errors.As(w.err, &ce) {
			return ce.Code
		}
		return -1
	case <-time.After(within):
		w.t.Fatalf("connection still open after %v", within)
	}
	return 0
}

// negotiate performs the handshake as a Java module does, asking for a zlib
// level, and checks it is accepted.
func (w *wirePeer) negotiate(rate int) {
	w.t.Helper()
	w.send(envelope("neg", TypeNegotiateConnection,
		`{"Abbreviation":"wire","ProtocolVersion":"0.1","CompressionAlgorithm":"zlib","CompressionRate":"`+strconv.Itoa(rate)+`"}`))
	m, f := w.next(2 * time.Second)
	nr, ok := m.MessageData.(*NegotiateConnectionResponse)
	if !ok || !nr.Accepted() || nr.RequestID != "neg" {
		w.t.Fatalf("negotiation answer: %s", f.text)
	}
}

// envelope builds a frame with the Java envelope (D1) around data, a JSON
// object given as text.
func envelope(id string, typ MessageType, data string) string {
	return `{"MessageID":"` + id + `","Timestamp":"1562213039745","TimeZone":"9","MessageType":"` + string(typ) + `","MessageData":` + data + `}`
}

// javaRequest is the MessageData of a Request as a Java module sends it
// (every counter a string, SubscriptionRange "0"), with fields set to other
// JSON values by name/value pairs.
func javaRequest(methods string, set ...string) string {
	keys := []string{"RequestAck", "SubscriptionEventCounter", "SubscriptionPeriod", "SubscriptionRange", "ResponseMaxSize", "RequestMethods"}
	vals := map[string]string{
		"RequestAck": `"0"`, "SubscriptionEventCounter": `"0"`, "SubscriptionPeriod": `"0"`,
		"SubscriptionRange": `"0"`, "ResponseMaxSize": `"0"`, "RequestMethods": methods,
	}
	for i := 0; i+1 < len(set); i += 2 {
		if _, ok := vals[set[i]]; !ok {
			keys = append(keys, set[i])
		}
		vals[set[i]] = set[i+1]
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if vals[k] == "" {
			continue // "" removes the field
		}
		parts = append(parts, `"`+k+`":`+vals[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// requestFrame is a whole Java-style Request frame.
func requestFrame(id, methods string, set ...string) string {
	return envelope(id, TypeRequest, javaRequest(methods, set...))
}

// rawFields returns the MessageData of a frame as generic JSON, to check
// spellings and JSON types the decoder would hide.
func rawFields(t *testing.T, text []byte) (env, data map[string]any) {
	t.Helper()
	if err := json.Unmarshal(text, &env); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	data, ok := env["MessageData"].(map[string]any)
	if !ok {
		t.Fatalf("MessageData is not an object: %s", text)
	}
	return env, data
}

// resultKeys lists the methods of a Response in wire order.
func resultKeys(r *Response) []string {
	keys := make([]string, 0, len(r.ResponseData))
	for _, mr := range r.ResponseData {
		keys = append(keys, mr.Method)
	}
	return keys
}

// result returns the result of method in r, failing if it is missing.
func result(t *testing.T, r *Response, method string) json.RawMessage {
	t.Helper()
	v, ok := r.Result(method)
	if !ok {
		t.Fatalf("no result for %s in %s", method, resultsText(r.ResponseData))
	}
	return v
}
