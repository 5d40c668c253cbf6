package bridge

import (
	"encoding/json"
	"testing"
)

// benchRequest is a typical call as the gateway sends it: one method, a small
// parameter object and the Java TimeOut (D19).
func benchRequest() *Message {
	return &Message{
		MessageID: "17952921848323668-3", Timestamp: "1795292184832", TimeZone: "0",
		MessageData: &Request{
			RequestMethods: []MethodCall{{Method: "latestHeight", Params: json.RawMessage(`{"chainId":2}`)}},
			TimeOut:        10000,
		},
	}
}

// benchResponse is a typical answer: one result, as a Java module sends it.
func benchResponse() *Message {
	return &Message{
		MessageID: "17952921848315465-3", Timestamp: "1795292184832", TimeZone: "0",
		MessageData: &Response{
			RequestID:              "17952921848323668-3",
			ResponseProcessingTime: "0",
			ResponseStatus:         StatusSuccess,
			ResponseComment:        "Congratulations! Processing completed！",
			ResponseData:           []MethodResult{{Method: "latestHeight", Result: json.RawMessage(`{"value":123456}`)}},
		},
	}
}

func benchmarkEncode(b *testing.B, m *Message) {
	frame, err := Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkDecode(b *testing.B, m *Message) {
	frame, err := Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B)  { benchmarkEncode(b, benchRequest()) }
func BenchmarkDecodeRequest(b *testing.B)  { benchmarkDecode(b, benchRequest()) }
func BenchmarkEncodeResponse(b *testing.B) { benchmarkEncode(b, benchResponse()) }
func BenchmarkDecodeResponse(b *testing.B) { benchmarkDecode(b, benchResponse()) }

// TestDecodeAllocs: decoding a typical message allocates a fixed, small
// number of times. Every field of every message is decoded, so one
// allocation too many per field is a dozen per call: this caught the
// decoder allocating an error target for every field read (escape of an
// errors.As target declared outside the error branch). The bounds are what
// the decoder needs today (go1.27).
func TestDecodeAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *Message
		max  float64
	}{
		{"request", benchRequest(), 10},
		{"response", benchResponse(), 10},
	} {
		frame, err := Encode(tc.m)
		if err != nil {
			t.Fatal(err)
		}
		n := testing.AllocsPerRun(200, func() {
			if _, err := Decode(frame); err != nil {
				t.Fatal(err)
			}
		})
		if n > tc.max {
			t.Errorf("decoding a %s: %.0f allocations, want at most %.0f", tc.name, n, tc.max)
		}
	}
}
