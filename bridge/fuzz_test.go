package bridge

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that no input makes the decoder panic, that what it
// accepts re-encodes into a frame a Java peer accepts, and that encoding is
// stable after one round (Decode may normalise, e.g. null params to {}).
// Each input is also decoded in two halves, as a truncated frame would be.
func FuzzDecode(f *testing.F) {
	for _, p := range samplePayloads() {
		b, err := Encode(NewMessage("seed", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, file := range []string{
		"python_client_vs_nulstar_connector_2020-01.jsonl",
		"nulstar_cpp_embedded_strings.jsonl",
		"doc_examples_chainbox_devsite.jsonl",
		"doc_examples_nulstar_message_protocol_md.jsonl",
	} {
		for _, v := range loadVectors(f, file) {
			f.Add(frameOf(v))
		}
	}
	f.Add([]byte(`{"messageId":"1","messageType":"Ack","messageData":{"RequestId":"2"}}`))
	f.Add([]byte(`{"MessageType":"Request","MessageData":{"RequestMethods":[{"a":{}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		half := len(data) / 2
		_, _ = Decode(data[:half])
		_, _ = DecodeStrict(data[half:])
		m, err := Decode(data)
		if err != nil {
			return
		}
		b1, err := Encode(m)
		if err != nil {
			// Only payload values that are not JSON can fail, and the
			// decoder hands over only JSON it parsed.
			t.Fatalf("Encode of decoded %q: %v", data, err)
		}
		m2, err := DecodeStrict(b1)
		if err != nil {
			t.Fatalf("our frame %s rejected by the strict decoder: %v", b1, err)
		}
		b2, err := Encode(m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encoding not stable:\n%s\n%s", b1, b2)
		}
	})
}
