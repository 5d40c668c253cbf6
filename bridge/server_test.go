package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
)

// The module side (server) against a scripted peer that sends the frames of
// Java modules, Nulstar and the Python client (docs/protocol.md: the
// message types, and what the real peers send).

// vectorFrame returns the frame of one vector, by file and offset.
func vectorFrame(t *testing.T, file string, offset int) string {
	t.Helper()
	for _, v := range loadVectors(t, file) {
		if v.Offset == offset {
			return string(frameOf(v))
		}
	}
	t.Fatalf("%s has no vector at offset %d", file, offset)
	return ""
}

const (
	pythonVectors = "python_client_vs_nulstar_connector_2020-01.jsonl"
	cppVectors    = "nulstar_cpp_embedded_strings.jsonl"
	javaVectors   = "doc_examples_chainbox_devsite.jsonl"
)

// onlyPeer waits until the module has accepted exactly one connection and
// returns it.
func onlyPeer(t *testing.T, m *Module) *Peer {
	t.Helper()
	waitFor(t, "the accepted connection", func() bool { return len(m.Peers()) == 1 })
	return m.Peers()[0]
}

// TestServerNegotiation covers D7 as a server: the answer's type and
// RequestID, NegotiationStatus "1" iff the major version matches and the
// zlib level can be served, the socket closed after a refusal, and the
// peer's Abbreviation recorded.
func TestServerNegotiation(t *testing.T) {
	t.Parallel()
	java := func(version, rate string) string {
		return envelope("15622130397455", TypeNegotiateConnection,
			`{"Abbreviation":"ledger","ProtocolVersion":`+version+`,"CompressionAlgorithm":"zlib","CompressionRate":`+rate+`}`)
	}
	tests := []struct {
		name     string
		maxRate  int // ModuleConfig.MaxCompressionRate
		frame    string
		id       string
		accepted bool
		abbr     string
	}{
		{name: "java", frame: java(`"0.1"`, `"0"`), id: "15622130397455", accepted: true, abbr: "ledger"},
		// The Python client's frame: CompressionRate a number, an extra
		// ProtocolVersion in the envelope.
		{name: "python captured", frame: vectorFrame(t, pythonVectors, 184), id: "157873380221403-0", accepted: true},
		// Nulstar's Tester: TimeZone and Timestamp are numbers.
		{name: "nulstar tester", frame: vectorFrame(t, cppVectors, 1346), id: "1549963086154-1", accepted: true},
		{name: "same major, other minor", frame: java(`"0.2"`, `"0"`), id: "15622130397455", accepted: true, abbr: "ledger"},
		{name: "version as a number", frame: java(`0.1`, `0`), id: "15622130397455", accepted: true, abbr: "ledger"},
		{name: "rate 6 as a number", frame: java(`"0.1"`, `6`), id: "15622130397455", accepted: true, abbr: "ledger"},
		{name: "rate at the maximum", maxRate: 3, frame: java(`"0.1"`, `"3"`), id: "15622130397455", accepted: true, abbr: "ledger"},
		{name: "no compression when refusing compression", maxRate: -1, frame: java(`"0.1"`, `"0"`), id: "15622130397455", accepted: true, abbr: "ledger"},
		{name: "version 9.9", frame: java(`"9.9"`, `"0"`), id: "15622130397455"},
		{name: "version 1.0", frame: java(`"1.0"`, `"0"`), id: "15622130397455"},
		{name: "version empty", frame: java(`""`, `"0"`), id: "15622130397455"},
		{name: "version not a version", frame: java(`"zero"`, `"0"`), id: "15622130397455"},
		// Nulstar's unit-test frame has ProtocolVersion only in the
		// envelope (V1.1): none in MessageData.
		{name: "version missing", frame: vectorFrame(t, cppVectors, 236), id: "45sdj8jcf8899ekffEFefee"},
		{name: "rate above the maximum", maxRate: 3, frame: java(`"0.1"`, `"6"`), id: "15622130397455"},
		{name: "rate when refusing compression", maxRate: -1, frame: java(`"0.1"`, `"1"`), id: "15622130397455"},
		{name: "rate 10", frame: java(`"0.1"`, `"10"`), id: "15622130397455"},
		{name: "rate negative", frame: java(`"0.1"`, `"-1"`), id: "15622130397455"},
		{name: "rate not numeric", frame: java(`"0.1"`, `"fast"`), id: "15622130397455"},
		{name: "rate with a fraction", frame: java(`"0.1"`, `"1.5"`), id: "15622130397455"},
		{name: "other algorithm", frame: envelope("n", TypeNegotiateConnection, `{"ProtocolVersion":"0.1","CompressionAlgorithm":"gzip","CompressionRate":"6"}`), id: "n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tm := newTestModule(t, ModuleConfig{MaxCompressionRate: tt.maxRate})
			w := dialWire(t, tm.url)
			w.send(tt.frame)
			_, f := w.next(2 * time.Second)
			if f.binary {
				t.Error("the negotiation answer is a binary frame, want text")
			}
			env, data := rawFields(t, f.text)
			wantStatus := "0"
			if tt.accepted {
				wantStatus = "1"
			}
			got := map[string]any{"MessageType": env["MessageType"], "RequestID": data["RequestID"], "NegotiationStatus": data["NegotiationStatus"]}
			want := map[string]any{"MessageType": "NegotiateConnectionResponse", "RequestID": tt.id, "NegotiationStatus": wantStatus}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("answer (-want +got):\n%s\n%s", diff, f.text)
			}
			if !tt.accepted {
				if code := w.closedByModule(2 * time.Second); code != websocket.CloseNormalClosure {
					t.Errorf("closed with code %d, want %d as Nulstar", code, websocket.CloseNormalClosure)
				}
				return
			}
			if got := onlyPeer(t, tm.Module).Abbreviation(); got != tt.abbr {
				t.Errorf("Abbreviation() = %q, want %q", got, tt.abbr)
			}
			w.sync("after")
		})
	}
}

// TestServerWithoutNegotiation: a Request on a connection that never
// negotiated is answered, as both real servers do
// (docs/protocol.md#negotiateconnectionresponse).
func TestServerWithoutNegotiation(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	w := dialWire(t, tm.url)
	w.send(requestFrame("r1", `{"add":{"a":1,"b":2}}`))
	jsonEqual(t, `{"sum":3}`, result(t, w.ok("r1"), "add"))
	if got := onlyPeer(t, tm.Module).Abbreviation(); got != "" {
		t.Errorf("Abbreviation() = %q before any negotiation", got)
	}
}

// TestServerCompression covers D9: after a negotiation with CompressionRate
// N > 0 the module's frames are binary frames holding the zlib stream (RFC
// 1950) of the JSON text at level N; the answer to the negotiation itself is
// text; binary zlib frames from the peer are accepted.
func TestServerCompression(t *testing.T) {
	t.Parallel()
	for _, rate := range []int{1, 6, 9} {
		t.Run(fmt.Sprintf("rate %d", rate), func(t *testing.T) {
			t.Parallel()
			tm := newTestModule(t, ModuleConfig{})
			w := dialWire(t, tm.url)
			w.negotiate(rate) // checks the answer is a valid frame; see below for text
			w.send(requestFrame("r1", `{"echo":{"k":"v"}}`, "RequestAck", `"1"`))
			for _, want := range []MessageType{TypeAck, TypeResponse} {
				m, f := w.next(2 * time.Second)
				if m.Type() != want {
					t.Fatalf("got %s, want %s", m.Type(), want)
				}
				if !f.binary {
					t.Fatalf("%s sent as text after negotiating rate %d: %s", want, rate, f.wire)
				}
				checkZlibHeader(t, f.wire, rate)
			}
			// The peer may compress too.
			w.sendZlib(requestFrame("r2", `{"add":{"a":2,"b":3}}`))
			r, f := w.response("r2")
			jsonEqual(t, `{"sum":5}`, result(t, r, "add"))
			if !f.binary {
				t.Error("Response to a compressed Request sent as text")
			}
		})
	}
	t.Run("negotiation answer is text", func(t *testing.T) {
		t.Parallel()
		tm := newTestModule(t, ModuleConfig{})
		w := dialWire(t, tm.url)
		w.send(envelope("n", TypeNegotiateConnection, `{"ProtocolVersion":"0.1","CompressionAlgorithm":"zlib","CompressionRate":"6"}`))
		if _, f := w.next(2 * time.Second); f.binary {
			t.Fatal("the negotiation answer is a binary frame")
		}
		w.send(requestFrame("r", `{"echo":{}}`))
		if _, f := w.response("r"); !f.binary {
			t.Fatal("the frame after the negotiation answer is text")
		}
	})
	t.Run("rate 0 stays text", func(t *testing.T) {
		t.Parallel()
		tm := newTestModule(t, ModuleConfig{})
		w := dialWire(t, tm.url)
		w.negotiate(0)
		// Binary frames are zlib whatever was negotiated; the answer
		// follows the connection's own rate.
		w.sendZlib(requestFrame("r", `{"echo":{"x":1}}`))
		r, f := w.response("r")
		if f.binary {
			t.Error("Response compressed on a connection that negotiated rate 0")
		}
		jsonEqual(t, `{"x":1}`, result(t, r, "echo"))
	})
}

// checkZlibHeader checks an RFC 1950 header: CM 8 (deflate), a valid check
// sum, no preset dictionary, and the FLEVEL that Go's writer records for the
// level (RFC 1950 §2.2: 0 fastest, 1 fast, 2 default, 3 maximum).
func checkZlibHeader(t *testing.T, b []byte, level int) {
	t.Helper()
	if len(b) < 2 {
		t.Fatalf("zlib stream of %d bytes", len(b))
	}
	cmf, flg := b[0], b[1]
	if cmf&0x0f != 8 || (uint16(cmf)<<8|uint16(flg))%31 != 0 || flg&0x20 != 0 {
		t.Fatalf("not an RFC 1950 header: % x", b[:2])
	}
	want := map[int]byte{1: 0, 2: 1, 3: 1, 4: 1, 5: 1, 6: 2, 7: 3, 8: 3, 9: 3}[level]
	if got := flg >> 6; got != want {
		t.Errorf("FLEVEL %d, want %d for level %d", got, want, level)
	}
}

// TestServerCompressionBomb: a small zlib frame that inflates beyond
// ConnConfig.ReadLimit is dropped without killing the connection (D9).
func TestServerCompressionBomb(t *testing.T) {
	t.Parallel()
	const limit = 16 << 10
	tm := newTestModule(t, ModuleConfig{Conn: ConnConfig{ReadLimit: limit}})
	w := dialWire(t, tm.url)
	w.negotiate(6)
	// A valid Request once inflated, so that it would be answered if the
	// limit were not applied after inflation.
	bomb := requestFrame("bomb", `{"echo":{"pad":"`+strings.Repeat("x", 64*limit)+`"}}`)
	if z := zlibOf(t, []byte(bomb)); len(z) >= limit {
		t.Fatalf("bomb of %d bytes on the wire, want it under the limit", len(z))
	}
	w.sendZlib(bomb)
	// A frame just under the limit goes through.
	fits := requestFrame("fits", `{"echo":{"pad":"`+strings.Repeat("y", limit/2)+`"}}`)
	w.sendZlib(fits)
	w.ok("fits")
	w.sync("after")
	w.quiet(100 * time.Millisecond)
}

// TestServerAck covers D6 as a server: RequestAck "1", 1 or true gets an
// Ack with the field RequestID, sent on receipt, before the Response; "0",
// 0, false or no field gets none.
func TestServerAck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ack     string // JSON value of RequestAck; "" leaves the field out
		wantAck bool
	}{
		{"string 1", `"1"`, true},
		{"number 1", `1`, true},
		{"true", `true`, true},
		{"string true", `"true"`, true},
		{"string 0", `"0"`, false},
		{"number 0", `0`, false},
		{"false", `false`, false},
		{"missing", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tm := newTestModule(t, ModuleConfig{})
			// gate answers only when the test says so: an Ack that
			// arrives while it waits was sent on receipt.
			release := make(chan struct{})
			if err := tm.Register(Method{Name: "gate", Handler: func(ctx context.Context, _ *Call) (any, error) {
				select {
				case <-release:
					return "open", nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}}); err != nil {
				t.Fatal(err)
			}
			w := dialWire(t, tm.url)
			w.negotiate(0)
			w.send(requestFrame("r-1", `{"gate":{}}`, "RequestAck", tt.ack))
			if tt.wantAck {
				m, f := w.next(2 * time.Second)
				if m.Type() != TypeAck {
					t.Fatalf("got %s, want the Ack: %s", m.Type(), f.text)
				}
				_, data := rawFields(t, f.text)
				if diff := cmp.Diff(map[string]any{"RequestID": "r-1"}, data); diff != "" {
					t.Errorf("Ack MessageData (-want +got):\n%s", diff)
				}
			}
			// An Ack goes out on the reader, before the next Request is
			// read: none came if this Response is the next frame.
			w.sync("sync")
			close(release)
			w.ok("r-1")
		})
	}
}

// TestServerConsolidatedResponse covers D4s: several methods in one Request
// get one Response with the results in request order; methods run in
// request order; one failing method fails the whole Response; an unknown
// method means nothing runs.
func TestServerConsolidatedResponse(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	var mu sync.Mutex
	var ran []string
	for _, name := range []string{"zeta", "alpha", "mid"} {
		if err := tm.Register(Method{Name: name, Handler: func(context.Context, *Call) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, name)
			return name, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	w := dialWire(t, tm.url)
	w.negotiate(0)

	// Not in alphabetical order, so that sorting would show.
	w.send(requestFrame("all", `{"zeta":{},"echo":{"k":"v"},"alpha":{},"add":{"a":1,"b":2},"mid":{}}`))
	r := w.ok("all")
	if diff := cmp.Diff([]string{"zeta", "echo", "alpha", "add", "mid"}, resultKeys(r)); diff != "" {
		t.Errorf("ResponseData keys (-want +got):\n%s", diff)
	}
	jsonEqual(t, `{"k":"v"}`, result(t, r, "echo"))
	jsonEqual(t, `{"sum":3}`, result(t, r, "add"))
	mu.Lock()
	if diff := cmp.Diff([]string{"zeta", "alpha", "mid"}, ran); diff != "" {
		t.Errorf("execution order (-want +got):\n%s", diff)
	}
	mu.Unlock()

	// One business failure fails the whole Response.
	w.send(requestFrame("one-fails", `{"count":{},"fail":{},"echo":{}}`))
	r, f := w.response("one-fails")
	if r.Succeeded() || r.ResponseStatus != StatusFailed || r.ResponseErrorCode != "ac_0001" || r.ResponseComment != "account not found" {
		t.Errorf("Response %s, want status 65536 ac_0001 for the whole", f.text)
	}
	if tm.calls.Load() != 1 {
		t.Errorf("count ran %d times, want once (methods run in order)", tm.calls.Load())
	}

	// A panicking method fails it too.
	w.send(requestFrame("one-panics", `{"echo":{},"boom":{}}`))
	if r, f := w.response("one-panics"); r.Succeeded() || r.ResponseErrorCode != CodeServerError {
		t.Errorf("Response %s, want a failure", f.text)
	}

	// An unknown method: nothing runs.
	w.send(requestFrame("unknown", `{"count":{},"nope":{}}`))
	if r, f := w.response("unknown"); r.Succeeded() || r.ResponseErrorCode != CodeMethodNotFound {
		t.Errorf("Response %s, want err_0021", f.text)
	}
	// A parameter error: nothing runs either.
	w.send(requestFrame("bad-param", `{"count":{},"add":{"a":500,"b":1}}`))
	if r, f := w.response("bad-param"); r.Succeeded() || r.ResponseErrorCode != CodeParameterError {
		t.Errorf("Response %s, want err_0012", f.text)
	}
	if tm.calls.Load() != 1 {
		t.Errorf("count ran %d times, want once: a method ran although the Request was invalid", tm.calls.Load())
	}
	// Exactly one Response per Request.
	w.quiet(100 * time.Millisecond)
}

// TestServerJavaErrorShapes covers D3 and the Java error frames
// (docs/protocol.md#java): status 65536 (a JSON number), the err_ codes
// and comments, and ResponseData null for an unknown method.
func TestServerJavaErrorShapes(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	w := dialWire(t, tm.url)
	w.negotiate(0)
	tests := []struct {
		name    string
		methods string
		want    map[string]any // expected MessageData fields
	}{
		{
			name:    "unknown method",
			methods: `{"nope":{}}`,
			want:    map[string]any{"ResponseStatus": 65536.0, "ResponseErrorCode": "err_0021", "ResponseComment": "Cmd not found:nope,", "ResponseData": nil},
		},
		{
			name:    "unknown method with a version",
			methods: `{"nope":{"version":"1.0"}}`,
			want:    map[string]any{"ResponseStatus": 65536.0, "ResponseErrorCode": "err_0021", "ResponseComment": "Cmd not found:nope,1.0", "ResponseData": nil},
		},
		{
			name:    "parameter out of range",
			methods: `{"add":{"a":101,"b":1}}`,
			want:    map[string]any{"ResponseStatus": 65536.0, "ResponseErrorCode": "err_0012", "ResponseComment": "Param wrong range:a"},
		},
		{
			name:    "parameter missing",
			methods: `{"add":{"a":1}}`,
			want:    map[string]any{"ResponseStatus": 65536.0, "ResponseErrorCode": "err_0012", "ResponseComment": "Param null:b"},
		},
		{
			name:    "parameter of the wrong format",
			methods: `{"add":{"a":1,"b":2,"label":"A1"}}`,
			want:    map[string]any{"ResponseStatus": 65536.0, "ResponseErrorCode": "err_0012", "ResponseComment": "Param wrong format:label"},
		},
		{
			name:    "success",
			methods: `{"add":{"a":1,"b":2}}`,
			want:    map[string]any{"ResponseStatus": 0.0, "ResponseErrorCode": nil, "ResponseComment": "success", "ResponseData": map[string]any{"add": map[string]any{"sum": 3.0}}},
		},
	}
	for i, tt := range tests {
		id := fmt.Sprintf("e-%d", i)
		w.send(requestFrame(id, tt.methods))
		_, f := w.response(id)
		_, data := rawFields(t, f.text)
		got := map[string]any{}
		for k := range tt.want {
			got[k] = data[k]
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s\n%s", tt.name, diff, f.text)
		}
	}
}

// toleranceCase is a frame our server must accept (D1, D2), and whether a
// strict server, behaving as a Java module, drops it.
type toleranceCase struct {
	name    string
	frame   string
	id      string // the Request's MessageID as the module reads it
	methods []string
	ack     bool // the frame asks for an Ack
	strict  bool // a strict server drops it
}

func toleranceCases(t *testing.T) []toleranceCase {
	t.Helper()
	cases := []toleranceCase{
		{
			name:    "java ac_createAccount",
			frame:   vectorFrame(t, javaVectors, findRequestOffset(t, javaVectors, "ac_createAccount")),
			id:      "156222086356134",
			methods: []string{"ac_createAccount"},
		},
		{
			// Numbers for Timestamp and TimeZone, JSON false for RequestAck.
			name:    "nulstar tester RegisterAPI",
			frame:   vectorFrame(t, cppVectors, 725),
			id:      "1549960969557-3",
			methods: []string{"RegisterAPI"},
		},
		{
			name:    "numbers for every scalar",
			frame:   `{"MessageID":123,"Timestamp":1562213039745,"TimeZone":9,"MessageType":"Request","MessageData":{"RequestAck":1,"SubscriptionEventCounter":0,"SubscriptionPeriod":0,"SubscriptionRange":0,"ResponseMaxSize":0,"RequestMethods":{"echo":{"n":1}}}}`,
			id:      "123",
			methods: []string{"echo"},
			ack:     true,
		},
		{
			name:    "legacy camelCase envelope",
			frame:   `{"messageId":"cc-1","timestamp":"1562213039745","timezone":"9","messageType":"Request","messageData":{"requestAck":"1","subscriptionEventCounter":"0","subscriptionPeriod":"0","subscriptionRange":"0","responseMaxSize":"0","requestMethods":{"echo":{}}}}`,
			id:      "cc-1",
			methods: []string{"echo"},
			ack:     true,
			strict:  true,
		},
		{
			name:    "unknown envelope field",
			frame:   `{"MessageID":"u-1","Timestamp":"1","TimeZone":"8","MessageType":"Request","MessageVersion":"1.0","MessageData":` + javaRequest(`{"echo":{}}`) + `}`,
			id:      "u-1",
			methods: []string{"echo"},
			strict:  true,
		},
		{
			name:    "unknown payload field",
			frame:   envelope("u-2", TypeRequest, javaRequest(`{"echo":{}}`, "RequestType", `"2"`, "Priority", `{"x":[1]}`)),
			id:      "u-2",
			methods: []string{"echo"},
			strict:  true,
		},
	}
	// Every Request the Python client sent to a live Connector: a
	// ProtocolVersion in the envelope and RequestType instead of
	// RequestAck.
	for _, v := range loadVectors(t, pythonVectors) {
		var env struct {
			MessageID   string
			MessageType string
			MessageData struct{ RequestMethods map[string]json.RawMessage }
		}
		if err := json.Unmarshal(v.Message, &env); err != nil || env.MessageType != "Request" {
			continue
		}
		var methods []string
		for name := range env.MessageData.RequestMethods {
			methods = append(methods, name)
		}
		cases = append(cases, toleranceCase{
			name:    fmt.Sprintf("python@%d %s", v.Offset, methods[0]),
			frame:   string(frameOf(v)),
			id:      env.MessageID,
			methods: methods,
			strict:  true,
		})
	}
	return cases
}

func findRequestOffset(t *testing.T, file, method string) int {
	t.Helper()
	for _, v := range loadVectors(t, file) {
		if strings.Contains(string(v.Message), `"`+method+`"`) && strings.Contains(string(v.Message), `"Request"`) {
			return v.Offset
		}
	}
	t.Fatalf("%s: no Request for %s", file, method)
	return 0
}

// echoAll registers a method for every name that answers its parameters.
func echoAll(t *testing.T, m *Module, names []string) {
	t.Helper()
	for _, name := range names {
		m.mu.RLock()
		known := len(m.methods[name]) > 0
		m.mu.RUnlock()
		if known {
			continue
		}
		if err := m.Register(Method{Name: name, Handler: func(_ context.Context, c *Call) (any, error) {
			return c.Params, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServerTolerance covers D1 and D2 on our server (Precisions): legacy
// casing, numbers for strings and unknown fields are accepted; with
// ConnConfig.Strict the frames a Java module drops are dropped with no
// reply, the connection stays open and a clean frame is answered after.
func TestServerTolerance(t *testing.T) {
	t.Parallel()
	cases := toleranceCases(t)
	for _, strict := range []bool{false, true} {
		for _, tc := range cases {
			if strict && tc.strict {
				continue // below
			}
			name := "tolerant/" + tc.name
			if strict {
				name = "strict/" + tc.name
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				tm := newTestModule(t, ModuleConfig{Conn: ConnConfig{Strict: strict}})
				echoAll(t, tm.Module, tc.methods)
				w := dialWire(t, tm.url)
				w.negotiate(0)
				w.send(tc.frame)
				if tc.ack {
					m, f := w.next(2 * time.Second)
					if a, ok := m.MessageData.(*Ack); !ok || a.RequestID != tc.id {
						t.Fatalf("got %s, want the Ack to %s", f.text, tc.id)
					}
				}
				r := w.ok(tc.id)
				if diff := cmp.Diff(tc.methods, resultKeys(r)); diff != "" {
					t.Errorf("ResponseData keys (-want +got):\n%s", diff)
				}
				w.sync("clean")
			})
		}
	}
	t.Run("strict/dropped", func(t *testing.T) {
		t.Parallel()
		tm := newTestModule(t, ModuleConfig{Conn: ConnConfig{Strict: true}})
		w := dialWire(t, tm.url)
		w.negotiate(0)
		n := 0
		for _, tc := range cases {
			if !tc.strict {
				continue
			}
			echoAll(t, tm.Module, tc.methods)
			w.send(tc.frame)
			n++
			// Dropped on the reader: the next frame is the answer to a
			// clean Request, and nothing follows.
			w.sync(fmt.Sprintf("clean-%d", n))
		}
		if n < 40 {
			t.Fatalf("only %d frames a Java module drops", n)
		}
		w.quiet(150 * time.Millisecond)
	})
}

// TestServerTolerancePythonSession replays the Python client's whole
// session, negotiations included, on one connection.
func TestServerTolerancePythonSession(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	w := dialWire(t, tm.url)
	answered := 0
	for _, v := range loadVectors(t, pythonVectors) {
		if v.Direction != "client->connector" {
			continue
		}
		var env struct {
			MessageID   string
			MessageType string
			MessageData struct{ RequestMethods map[string]json.RawMessage }
		}
		if err := json.Unmarshal(v.Message, &env); err != nil {
			t.Fatal(err)
		}
		var methods []string
		for name := range env.MessageData.RequestMethods {
			methods = append(methods, name)
		}
		echoAll(t, tm.Module, methods)
		w.send(string(frameOf(v)))
		m, f := w.next(2 * time.Second)
		switch env.MessageType {
		case "NegotiateConnection":
			if nr, ok := m.MessageData.(*NegotiateConnectionResponse); !ok || !nr.Accepted() || nr.RequestID != env.MessageID {
				t.Fatalf("@%d: %s", v.Offset, f.text)
			}
		case "Request":
			r, ok := m.MessageData.(*Response)
			if !ok || r.RequestID != env.MessageID || !r.Succeeded() {
				t.Fatalf("@%d: %s", v.Offset, f.text)
			}
			jsonEqual(t, string(env.MessageData.RequestMethods[methods[0]]), result(t, r, methods[0]))
		}
		answered++
	}
	if answered != 45 {
		t.Errorf("%d frames answered, want 45 (2 negotiations, 43 Requests)", answered)
	}
}

// TestServerNotification covers D15: a Notification reaches OnNotification
// with an object or a string as NotificationData, and gets an Ack whose
// RequestID is its MessageID when NotificationAck is "1", 1 or true.
func TestServerNotification(t *testing.T) {
	t.Parallel()
	type got struct {
		peer bool
		n    Notification
	}
	tests := []struct {
		name    string
		ack     string // JSON value of NotificationAck, "" for none
		data    string
		wantAck bool
	}{
		{"ack string, object data", `"1"`, `{"Date":"2018-11-11","Time":"23:00:00","NewVersion":"1.1.6"}`, true},
		{"ack number, string data", `1`, `"upgrade at 23:00"`, true},
		{"ack true", `true`, `{}`, true},
		{"ack 0", `"0"`, `"text"`, false},
		{"ack false", `false`, `{"a":1}`, false},
		{"no ack field", ``, `"text"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			notes := make(chan got, 4)
			tm := newTestModule(t, ModuleConfig{OnNotification: func(p *Peer, n *Notification) {
				notes <- got{peer: p != nil, n: *n}
			}})
			w := dialWire(t, tm.url)
			w.negotiate(0)
			data := `"NotificationType":"SystemUpgrade","NotificationComment":"A system upgrade is about to be performed!","NotificationData":` + tt.data
			if tt.ack != "" {
				data = `"NotificationAck":` + tt.ack + `,` + data
			}
			w.send(envelope("note-1", TypeNotification, "{"+data+"}"))
			if tt.wantAck {
				m, f := w.next(2 * time.Second)
				if a, ok := m.MessageData.(*Ack); !ok || a.RequestID != "note-1" {
					t.Fatalf("got %s, want the Ack to note-1", f.text)
				}
			}
			// The Notification is handled on the reader, before the next
			// frame: an Ack would come before this Response.
			w.sync("after")
			select {
			case g := <-notes:
				want := got{peer: true, n: Notification{
					NotificationAck: tt.wantAck, NotificationType: "SystemUpgrade",
					NotificationComment: "A system upgrade is about to be performed!", NotificationData: json.RawMessage(tt.data),
				}}
				if diff := cmp.Diff(want, g, cmp.AllowUnexported(got{})); diff != "" {
					t.Errorf("OnNotification (-want +got):\n%s", diff)
				}
			default:
				t.Fatal("OnNotification not called")
			}
		})
	}
}

// TestServerRequestOnly covers D16 (and its Precision for D6): a RequestOnly
// is executed, with no Response and no Ack even when RequestAck is "1".
func TestServerRequestOnly(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	w := dialWire(t, tm.url)
	w.negotiate(0)
	w.send(envelope("ro-1", TypeRequestOnly, javaRequest(`{"count":{}}`, "RequestAck", `"1"`)))
	w.send(envelope("ro-2", TypeRequestOnly, javaRequest(`{"count":{},"echo":{}}`, "RequestAck", `1`)))
	// Failures are not answered either.
	w.send(envelope("ro-3", TypeRequestOnly, javaRequest(`{"nope":{}}`, "RequestAck", `"1"`)))
	w.send(envelope("ro-4", TypeRequestOnly, javaRequest(`{"fail":{}}`)))
	w.send(envelope("ro-5", TypeRequestOnly, javaRequest(`{}`)))
	waitFor(t, "the RequestOnly side effects", func() bool { return tm.calls.Load() == 2 })
	w.quiet(150 * time.Millisecond)
	w.sync("after")
}

// TestServerRobustness: frames that are not usable messages never crash the
// module and get no reply; the connection stays usable. A Request with no
// methods gets a failure Response.
func TestServerRobustness(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	w := dialWire(t, tm.url)
	w.negotiate(0)
	garbage := []string{
		``,
		`not json`,
		`{"MessageID":"x","MessageType":"Request","MessageData":{`,
		`[1,2,3]`,
		`[{"MessageID":"a1","MessageType":"Request","MessageData":{"RequestMethods":{"echo":{}}}}]`,
		`"Request"`,
		`null`,
		`42`,
		`{}`,
		envelope("t-1", "Bogus", `{}`),
		envelope("t-2", "NegotiateConnectionReponse", `{"RequestID":"x","NegotiationStatus":"1"}`),
		envelope("t-3", "request", javaRequest(`{"echo":{}}`)),
		`{"MessageID":"t-4","MessageType":"Request"}`,
		`{"MessageID":"t-5","MessageType":"Request","MessageData":"RequestMethods"}`,
		`{"MessageID":"t-6","MessageType":"Request","MessageData":[]}`,
		envelope("t-7", TypeRequest, `{"RequestAck":"1"}`),
		envelope("t-8", TypeRequest, javaRequest(`[{"echo":{}}]`, "RequestAck", `"1"`)),
		envelope("t-9", TypeRequest, javaRequest(`"echo"`)),
		envelope("t-10", TypeRequest, javaRequest(`null`)),
		envelope("t-11", TypeRequest, javaRequest(`{"echo":[1]}`)),
		envelope("t-12", TypeRequest, javaRequest(`{"echo":"x"}`)),
		envelope("t-13", TypeRequest, javaRequest(`{"":{}}`)),
		envelope("t-14", TypeRequest, javaRequest(`{"echo":{}}`, "SubscriptionEventCounter", `"soon"`)),
		envelope("t-15", TypeRequest, javaRequest(`{"echo":{}}`, "SubscriptionPeriod", `-1`)),
		envelope("t-16", TypeRequest, javaRequest(`{"echo":{}}`, "ResponseMaxSize", `"99999999999999999999999"`)),
		envelope("t-17", TypeRequest, javaRequest(`{"echo":{}}`, "RequestAck", `{"x":1}`)),
		envelope("t-18", TypeRequest, javaRequest(`{"echo":{"deep":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}}`)),
		`{"MessageID":{"a":1},"MessageType":"Request","MessageData":` + javaRequest(`{"echo":{}}`) + `}`,
		envelope("t-19", TypeResponse, `{"RequestID":"nobody","ResponseStatus":0,"ResponseData":{"m":1}}`),
		envelope("t-20", TypeResponse, `{"RequestID":"nobody"}`),
		envelope("t-21", TypeAck, `{"RequestID":"nobody"}`),
		envelope("t-22", TypeAck, `{"RequestId":"nobody"}`),
		envelope("t-23", TypeNegotiateConnectionResponse, `{"RequestID":"nobody","NegotiationStatus":"1"}`),
		envelope("t-24", TypeUnsubscribe, `{"UnsubscribeMethods":[]}`),
		envelope("t-25", TypeUnsubscribe, `{"UnsubscribeMethods":["nobody", 7, null]}`),
		envelope("t-26", TypeUnsubscribe, `{}`),
		envelope("t-27", TypeRegisterCompoundMethod, `{"CompoundMethodName":"X","CompoundMethods":3}`),
		envelope("t-28", TypeNotification, `{"NotificationData":`+strings.Repeat("[", 20000)+`}`),
	}
	for i, g := range garbage {
		w.send(g)
		// Garbage is dropped on the reader: the next frame must be the
		// answer to this clean Request.
		w.sync(fmt.Sprintf("sync-%d", i))
	}
	// Binary frames that are not zlib, or zlib of garbage.
	w.write(websocket.BinaryMessage, []byte("not zlib"))
	w.write(websocket.BinaryMessage, []byte{0x78, 0x9c, 0xff, 0x00})
	w.write(websocket.BinaryMessage, nil)
	w.sendZlib(`{"MessageType":`)
	w.sync("sync-binary")

	// No methods at all: a failure Response, not a panic and not silence.
	w.send(requestFrame("empty", `{}`, "RequestAck", `"1"`))
	if m, f := w.next(2 * time.Second); m.Type() != TypeAck {
		t.Fatalf("got %s, want the Ack", f.text)
	}
	r, f := w.response("empty")
	if r.Succeeded() || r.ResponseStatus != StatusFailed || r.ResponseErrorCode != CodeParameterError || r.ResponseComment == "" {
		t.Errorf("Response to an empty RequestMethods: %s", f.text)
	}
	w.send(requestFrame("empty-sub", `{}`, "SubscriptionEventCounter", `"1"`))
	if r, f := w.response("empty-sub"); r.Succeeded() {
		t.Errorf("subscription without methods accepted: %s", f.text)
	}
	// Parameters null are no parameters.
	w.send(requestFrame("null-params", `{"echo":null}`))
	jsonEqual(t, `{}`, result(t, w.ok("null-params"), "echo"))
	w.quiet(100 * time.Millisecond)
	w.sync("final")
}
