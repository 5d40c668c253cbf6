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
