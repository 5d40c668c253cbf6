package nulsapi

import (
	"encoding/json"
	"testing"
)

// TestCompat checks the quirks nuls-api's clients see: the id as a string,
// the string error code, a null result left out, a batch of one as an
// object.
func TestCompat(t *testing.T) {
	for _, tt := range []struct{ id, want string }{{`1234`, `"1234"`}, {`"abc"`, `"abc"`}, {``, `"null"`}, {`null`, `"null"`}, {`1.5`, `"1.5"`}} {
		b, _ := json.Marshal(Outcome{ID: json.RawMessage(tt.id), Result: 7})
		if want := `{"jsonrpc":"2.0","id":` + tt.want + `,"result":7}`; string(b) != want {
			t.Errorf("id %q: %s, want %s", tt.id, b, want)
		}
	}
	b, _ := json.Marshal(Outcome{ID: json.RawMessage(`1`), Error: &Error{Code: CodeParams, Message: "Parameters is wrong!", Data: "[chainId] is inValid"}})
	if string(b) != `{"jsonrpc":"2.0","id":"1","error":{"code":"1000","message":"Parameters is wrong!","data":"[chainId] is inValid"}}` {
		t.Errorf("error: %s", b)
	}
	if b, _ := json.Marshal(Outcome{ID: json.RawMessage(`1`)}); string(b) != `{"jsonrpc":"2.0","id":"1"}` {
		t.Errorf("null result: %s", b)
	}
	one, _ := EncodeCompat([]Outcome{{ID: json.RawMessage(`1`), Result: 1}}, true)
	two, _ := EncodeCompat([]Outcome{{ID: json.RawMessage(`1`), Result: 1}, {ID: json.RawMessage(`2`), Result: 2}}, true)
	none, _ := EncodeCompat(nil, true)
	if string(one) != `{"jsonrpc":"2.0","id":"1","result":1}` || string(two)[0] != '[' || string(none) != `[]` {
		t.Errorf("batches: %s %s %s", one, two, none)
	}
}
