package bridge

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vector is one line of a testdata/vectors/*.jsonl file: real captured
// traffic and strings, kept verbatim (testdata/vectors/README.md,
// docs/protocol.md#vectors).
type vector struct {
	Source    string          `json:"source"`
	Offset    int             `json:"offset"`
	Direction string          `json:"direction"`
	ValidJSON bool            `json:"valid_json"`
	Message   json.RawMessage `json:"message"`
}

func loadVectors(t testing.TB, name string) []vector {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no vectors", name)
	}
	return out
}

// frameOf returns the frame text of a vector: the raw text when the captured
// message was not JSON.
func frameOf(v vector) []byte {
	if !v.ValidJSON {
		var s string
		if json.Unmarshal(v.Message, &s) == nil {
			return []byte(s)
		}
	}
	return v.Message
}

func TestDecodeRealVectors(t *testing.T) {
	t.Parallel()
	for _, file := range []string{
		"python_client_vs_nulstar_connector_2020-01.jsonl",
		"nulstar_cpp_embedded_strings.jsonl",
		"doc_examples_chainbox_devsite.jsonl",
	} {
		for _, v := range loadVectors(t, file) {
			m, err := Decode(frameOf(v))
			if !v.ValidJSON {
				if err == nil {
					t.Errorf("%s@%d: invalid frame decoded", file, v.Offset)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s@%d: %v", file, v.Offset, err)
				continue
			}
			var env struct{ MessageType, MessageID string }
			_ = json.Unmarshal(v.Message, &env)
			if got := string(m.Type()); got != env.MessageType {
				t.Errorf("%s@%d: type %q, want %q", file, v.Offset, got, env.MessageType)
			}
			if m.MessageID != env.MessageID {
				t.Errorf("%s@%d: MessageID %q, want %q", file, v.Offset, m.MessageID, env.MessageID)
			}
		}
	}
}

// TestCapturedPairsCorrelate checks the captured Python/Nulstar session: each
// Response answers a Request by RequestID, status 0 means success, and
// ResponseData has exactly the requested method's key.
func TestCapturedPairsCorrelate(t *testing.T) {
	t.Parallel()
	requests := map[string]*Request{}
	negotiations := map[string]bool{}
	pairs, failures := 0, 0
	for _, v := range loadVectors(t, "python_client_vs_nulstar_connector_2020-01.jsonl") {
		m, err := Decode(frameOf(v))
		if err != nil {
			t.Fatalf("@%d: %v", v.Offset, err)
		}
		switch p := m.MessageData.(type) {
		case *NegotiateConnection:
			negotiations[m.MessageID] = true
		case *NegotiateConnectionResponse:
			if !negotiations[p.RequestID] || !p.Accepted() {
				t.Errorf("@%d: negotiation response %+v does not answer a negotiation", v.Offset, p)
			}
		case *Request:
			requests[m.MessageID] = p
		case *Response:
			req, ok := requests[p.RequestID]
			if !ok {
				t.Errorf("@%d: response to unknown request %q", v.Offset, p.RequestID)
				continue
			}
			pairs++
			var got []string
			for _, r := range p.ResponseData {
				got = append(got, r.Method)
			}
			if diff := cmp.Diff(req.Methods(), got); diff != "" {
				t.Errorf("@%d: ResponseData keys (-want +got):\n%s", v.Offset, diff)
			}
			if !p.Succeeded() {
				failures++
				if p.ResponseErrorCode == "" {
					t.Errorf("@%d: failure without code", v.Offset)
				}
			}
		}
	}
	if pairs != 43 || failures != 1 || len(negotiations) != 2 {
		t.Errorf("pairs=%d failures=%d negotiations=%d, want 43, 1, 2 (vectors README)", pairs, failures, len(negotiations))
	}
}

// TestDecodeStaleDocExamples feeds the examples of the stale markdown
// protocol document: the forms no code implements must fail with a clear
// error, the rest decode.
func TestDecodeStaleDocExamples(t *testing.T) {
	t.Parallel()
	wantErr := map[int]string{
		56:   "MessageType: missing",
		3004: "RequestMethods: must be an object keyed by method name",
		6406: "ResponseData: must be a JSON object keyed by method name, not an array",
	}
	for _, v := range loadVectors(t, "doc_examples_nulstar_message_protocol_md.jsonl") {
		_, err := Decode(v.Message)
		want, bad := wantErr[v.Offset]
		switch {
		case bad && err == nil:
			t.Errorf("@%d: decoded, want error %q", v.Offset, want)
		case bad && !strings.Contains(err.Error(), want):
			t.Errorf("@%d: error %q, want it to contain %q", v.Offset, err, want)
		case bad && !errors.Is(err, ErrInvalidMessage):
			t.Errorf("@%d: error %v does not wrap ErrInvalidMessage", v.Offset, err)
		case !bad && err != nil:
			t.Errorf("@%d: %v", v.Offset, err)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, frame, want string
	}{
		{"empty", ``, "frame must be a JSON object"},
		{"garbage", `hello`, "frame must be a JSON object, not invalid JSON"},
		{"array", `[1,2]`, "not an array"},
		{"truncated", `{"MessageType":"Request","MessageData":{`, "malformed JSON"},
		{"no type", `{"MessageID":"1","MessageData":{}}`, "MessageType: missing"},
		{"unknown type", `{"MessageType":"NegotiateConnectionReponse","MessageData":{}}`, "unknown message type"},
		{"no data", `{"MessageType":"Ack"}`, "MessageData: missing"},
		{"data not object", `{"MessageType":"Ack","MessageData":"x"}`, "MessageData: must be a JSON object"},
		{"methods missing", `{"MessageType":"Request","MessageData":{}}`, "RequestMethods: missing"},
		{"params array", `{"MessageType":"Request","MessageData":{"RequestMethods":{"m":[1]}}}`, "parameters must be an object"},
		{"counter text", `{"MessageType":"Request","MessageData":{"SubscriptionPeriod":"soon","RequestMethods":{}}}`, "not an integer"},
		{"negative", `{"MessageType":"Request","MessageData":{"SubscriptionPeriod":-1,"RequestMethods":{}}}`, "negative"},
		{"status missing", `{"MessageType":"Response","MessageData":{"RequestID":"1"}}`, "ResponseStatus: missing"},
		{"status text", `{"MessageType":"Response","MessageData":{"ResponseStatus":"ok"}}`, "not an integer"},
		{"scalar object", `{"MessageID":{},"MessageType":"Ack","MessageData":{}}`, "MessageID: must be a string or a number"},
		{"nested scalar array", `{"MessageType":"Ack","MessageData":{"RequestID":[1]}}`, "MessageData.RequestID: must be a string or a number"},
		{"bad escape", `{"MessageType":"Ack","MessageData":{"RequestID":"\x"}}`, "malformed JSON"},
		{"unsubscribe missing", `{"MessageType":"Unsubscribe","MessageData":{}}`, "UnsubscribeMethods: missing"},
		{"compound scalar", `{"MessageType":"RegisterCompoundMethod","MessageData":{"CompoundMethods":3}}`, "must be an object or an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.frame))
			if err == nil {
				t.Fatalf("decoded %s", tt.frame)
			}
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error %T %v is not a *DecodeError wrapping ErrInvalidMessage", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestDecodeTolerant covers what we accept as a client (D1, D3, D6).
func TestDecodeTolerant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		want  *Message
	}{
		{
			name:  "numbers for strings",
			frame: `{"MessageID":123,"Timestamp":1549960969664,"TimeZone":8,"MessageType":"Request","MessageData":{"RequestAck":1,"SubscriptionEventCounter":2,"SubscriptionPeriod":"3","SubscriptionRange":"[1, )","ResponseMaxSize":4,"RequestMethods":{"b":{"x":1},"a":null},"TimeOut":"10000"}}`,
			want: &Message{MessageID: "123", Timestamp: "1549960969664", TimeZone: "8", MessageData: &Request{
				RequestAck: true, SubscriptionEventCounter: 2, SubscriptionPeriod: 3, SubscriptionRange: "[1, )", ResponseMaxSize: 4,
				RequestMethods: []MethodCall{{Method: "b", Params: json.RawMessage(`{"x":1}`)}, {Method: "a"}}, TimeOut: 10000,
			}},
		},
		{
			name:  "legacy camelCase",
			frame: `{"messageId":"7","timestamp":"1","timezone":"9","messageType":"Request","messageData":{"requestAck":"0","requestMethods":{"m":{}}}}`,
			want: &Message{MessageID: "7", Timestamp: "1", TimeZone: "9", MessageData: &Request{
				RequestMethods: []MethodCall{{Method: "m", Params: json.RawMessage(`{}`)}},
			}},
		},
		{
			name:  "boolean ack false",
			frame: `{"MessageType":"Request","MessageData":{"RequestAck":false,"RequestMethods":{}}}`,
			want:  &Message{MessageData: &Request{RequestMethods: []MethodCall{}}},
		},
		{
			name:  "java ack spelling",
			frame: `{"MessageID":"9","MessageType":"Ack","MessageData":{"RequestId":"42"}}`,
			want:  &Message{MessageID: "9", MessageData: &Ack{RequestID: "42"}},
		},
		{
			name:  "status as string, null processing time, unknown field",
			frame: `{"MessageType":"Response","MessageData":{"RequestID":"1","ResponseStatus":"65536","ResponseProcessingTime":null,"ResponseComment":"Cmd not found:x,","ResponseData":null,"ResponseErrorCode":"err_0021","Extra":true}}`,
			want:  &Message{MessageData: &Response{RequestID: "1", ResponseStatus: 65536, ResponseComment: "Cmd not found:x,", ResponseErrorCode: "err_0021"}},
		},
		{
			name:  "notification with string data",
			frame: `{"MessageType":"Notification","MessageData":{"NotificationAck":true,"NotificationType":"T","NotificationComment":"c","NotificationData":"text"}}`,
			want:  &Message{MessageData: &Notification{NotificationAck: true, NotificationType: "T", NotificationComment: "c", NotificationData: json.RawMessage(`"text"`)}},
		},
		{
			name:  "compound object form keeps order",
			frame: `{"MessageType":"RegisterCompoundMethod","MessageData":{"CompoundMethodName":"GetMyInfo","CompoundMethods":{"GetHeight":{},"GetBalance":{"Address":"GetBalanceAddress"}}}}`,
			want: &Message{MessageData: &RegisterCompoundMethod{CompoundMethodName: "GetMyInfo", CompoundMethods: []CompoundChild{
				{Method: "GetHeight"}, {Method: "GetBalance", Aliases: []ParamAlias{{Param: "Address", Alias: "GetBalanceAddress"}}},
			}}},
		},
		{
			name:  "unsubscribe single string",
			frame: `{"MessageType":"Unsubscribe","MessageData":{"UnsubscribeMethods":"17"}}`,
			want:  &Message{MessageData: &Unsubscribe{UnsubscribeMethods: []string{"17"}}},
		},
		{
			name:  "repeated method keeps first position, last value",
			frame: `{"MessageType":"Request","MessageData":{"RequestMethods":{"a":{"v":1},"b":{},"a":{"v":2}}}}`,
			want: &Message{MessageData: &Request{RequestMethods: []MethodCall{
				{Method: "a", Params: json.RawMessage(`{"v":2}`)}, {Method: "b", Params: json.RawMessage(`{}`)},
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Decode([]byte(tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeStrict proves the strict decoder rejects what a Java peer drops
// (docs/protocol.md#strictness) and accepts what we send.
func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	rejected := []string{
		`{"ProtocolVersion":"0.1","MessageID":"1","Timestamp":"1","TimeZone":"8","MessageType":"NegotiateConnection","MessageData":{"ProtocolVersion":"0.1","CompressionAlgorithm":"zlib","CompressionRate":"0"}}`,
		`{"MessageID":"1","Timestamp":"1","TimeZone":"8","MessageType":"Request","MessageData":{"RequestType":"1","RequestMethods":{}}}`,
		`{"messageId":"1","timestamp":"1","timezone":"8","messageType":"Ack","messageData":{"RequestID":"1"}}`,
		`{"MessageID":"1","Timestamp":"1","TimeZone":"8","MessageType":"Response","MessageData":{"RequestID":"1","ResponseStatus":0,"Extra":1}}`,
	}
	for _, f := range rejected {
		if _, err := DecodeStrict([]byte(f)); !errors.Is(err, ErrUnknownField) {
			t.Errorf("DecodeStrict(%s) = %v, want ErrUnknownField", f, err)
		}
		if _, err := Decode([]byte(f)); err != nil {
			t.Errorf("Decode(%s) = %v, want tolerance", f, err)
		}
	}
	if _, err := DecodeStrict([]byte(`{"MessageID":"1","Timestamp":"1","TimeZone":"8","MessageType":"Ack","MessageData":{"RequestId":"1"}}`)); err != nil {
		t.Errorf("strict Ack with Java spelling: %v", err)
	}
	for _, v := range loadVectors(t, "doc_examples_chainbox_devsite.jsonl") {
		if _, err := DecodeStrict(v.Message); err != nil {
			t.Errorf("Java frame @%d rejected by strict decoder: %v", v.Offset, err)
		}
	}
}

// samplePayloads has one message of every type, with every field set.
func samplePayloads() []Payload {
	return []Payload{
		&NegotiateConnection{ProtocolVersion: "0.1", CompressionAlgorithm: "zlib", CompressionRate: "0", Abbreviation: "gw-1"},
		&NegotiateConnectionResponse{RequestID: "1-1", NegotiationStatus: "1", NegotiationComment: "Negotiation successful!"},
		&Request{RequestAck: true, SubscriptionEventCounter: 1, SubscriptionPeriod: 2, SubscriptionRange: "[1000, )", ResponseMaxSize: 3,
			RequestMethods: []MethodCall{{Method: "getBalance", Params: json.RawMessage(`{"chainId":2,"address":"tNULS\"x"}`)}, {Method: "latestHeight", Params: json.RawMessage(`{}`)}}, TimeOut: 10000},
		&RequestOnly{Request{RequestMethods: []MethodCall{{Method: "m", Params: json.RawMessage(`{}`)}}}},
		&Unsubscribe{UnsubscribeMethods: []string{"1-2", "1-3"}},
		&Response{RequestID: "1-2", ResponseProcessingTime: "5", ResponseStatus: 0, ResponseComment: "success", ResponseMaxSize: 0,
			ResponseData: []MethodResult{{Method: "latestHeight", Result: json.RawMessage(`{"value":12}`)}, {Method: "n", Result: json.RawMessage(`7`)}}},
		&Response{RequestID: "1-3", ResponseProcessingTime: "1", ResponseStatus: 65536, ResponseComment: "Cmd not found:x,", ResponseErrorCode: "err_0021"},
		&Ack{RequestID: "1-2"},
		&Notification{NotificationAck: true, NotificationType: "ModuleNotOperational", NotificationComment: "x", NotificationData: json.RawMessage(`{"URL":"ws://h"}`)},
		&RegisterCompoundMethod{CompoundMethodName: "GetMyInfo", CompoundMethodDescription: "d", CompoundMethods: []CompoundChild{
			{Method: "getBalance", Aliases: []ParamAlias{{Param: "address", Alias: "addr"}}}, {Method: "latestHeight"}}},
		&UnregisterCompoundMethod{UnregisterCompoundMethodName: "GetMyInfo"},
	}
}

// TestEncodeRoundTrip encodes every type, checks the strict (Java) decoder
// accepts it, and that decoding gives back the same message.
func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	for i, p := range samplePayloads() {
		m := NewMessage("1-"+string(rune('a'+i)), p)
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("%T: %v", p, err)
		}
		got, err := DecodeStrict(b)
		if err != nil {
			t.Fatalf("%T: strict decode of our own frame %s: %v", p, b, err)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("%T round trip (-want +got):\n%s", p, diff)
		}
	}
}

// TestEncodeFieldSets pins the exact field set and scalar types of what we
// send (D1, D2, D3).
func TestEncodeFieldSets(t *testing.T) {
	t.Parallel()
	want := map[MessageType][]string{
		TypeNegotiateConnection:         {"Abbreviation", "CompressionAlgorithm", "CompressionRate", "ProtocolVersion"},
		TypeNegotiateConnectionResponse: {"NegotiationComment", "NegotiationStatus", "RequestID"},
		TypeRequest:                     {"RequestAck", "RequestMethods", "ResponseMaxSize", "SubscriptionEventCounter", "SubscriptionPeriod", "SubscriptionRange", "TimeOut"},
		TypeRequestOnly:                 {"RequestAck", "RequestMethods", "ResponseMaxSize", "SubscriptionEventCounter", "SubscriptionPeriod", "SubscriptionRange"},
		TypeUnsubscribe:                 {"UnsubscribeMethods"},
		TypeResponse:                    {"RequestID", "ResponseComment", "ResponseData", "ResponseErrorCode", "ResponseMaxSize", "ResponseProcessingTime", "ResponseStatus"},
		TypeAck:                         {"RequestID"},
		TypeNotification:                {"NotificationAck", "NotificationComment", "NotificationData", "NotificationType"},
		TypeRegisterCompoundMethod:      {"CompoundMethodDescription", "CompoundMethodName", "CompoundMethods"},
		TypeUnregisterCompoundMethod:    {"UnregisterCompoundMethodName"},
	}
	for _, p := range samplePayloads() {
		b, err := Encode(NewMessage("x", p))
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]any
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"MessageData", "MessageID", "MessageType", "TimeZone", "Timestamp"}, sortedKeys(env)); diff != "" {
			t.Errorf("%T envelope (-want +got):\n%s", p, diff)
		}
		for _, k := range []string{"MessageID", "Timestamp", "TimeZone", "MessageType"} {
			if _, ok := env[k].(string); !ok {
				t.Errorf("%T: %s is %T, want string", p, k, env[k])
			}
		}
		data := env["MessageData"].(map[string]any)
		if diff := cmp.Diff(want[p.MessageType()], sortedKeys(data)); diff != "" {
			t.Errorf("%T fields (-want +got):\n%s", p, diff)
		}
		for k, v := range data {
			switch k {
			case "ResponseStatus":
				if _, ok := v.(float64); !ok {
					t.Errorf("ResponseStatus is %T, want a number", v)
				}
			case "RequestMethods", "ResponseData", "UnsubscribeMethods", "NotificationData", "CompoundMethods":
			default:
				if _, ok := v.(string); !ok && v != nil {
					t.Errorf("%T: %s is %T, want a string", p, k, v)
				}
			}
		}
	}
}

func TestEncodeRejectsInvalidRaw(t *testing.T) {
	t.Parallel()
	_, err := Encode(NewMessage("1", &Request{RequestMethods: []MethodCall{{Method: "m", Params: json.RawMessage(`{bad`)}}}))
	if !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("Encode with invalid params = %v, want ErrInvalidMessage", err)
	}
	if _, err := Encode(&Message{}); err == nil {
		t.Fatal("Encode without payload succeeded")
	}
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", "q\"b\\s", "\n\r\t\x00\x1f", "héllo 世界", "bad\xffutf8", "<html>&"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, got, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if back != want {
			t.Errorf("%q -> %s -> %q", s, got, back)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}
