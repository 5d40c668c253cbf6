package jsonrpc

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestParseSpecExamples runs the specification's examples of bad bodies
// and batches (section 7) through Parse and Encode.
func TestParseSpecExamples(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		whole      int // the code of a whole-body error, or 0
		batch      bool
		invalid    []bool // per request: answered with Invalid Request
		notify     []bool // per request: a notification
	}{
		{name: "positional", body: `{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}`, invalid: []bool{false}, notify: []bool{false}},
		{name: "notification", body: `{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}`, invalid: []bool{false}, notify: []bool{true}},
		{name: "id null is not a notification", body: `{"jsonrpc":"2.0","method":"m","id":null}`, invalid: []bool{false}, notify: []bool{false}},
		{name: "invalid JSON", body: `{"jsonrpc":"2.0","method":"foobar,"params":"bar","baz]`, whole: CodeParseError},
		{name: "invalid request object", body: `{"jsonrpc":"2.0","method":1,"params":"bar"}`, invalid: []bool{true}, notify: []bool{false}},
		{name: "batch, invalid JSON", body: `[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method"]`, whole: CodeParseError},
		{name: "empty array", body: `[]`, whole: CodeInvalidRequest},
		{name: "invalid batch of one", body: `[1]`, batch: true, invalid: []bool{true}, notify: []bool{false}},
		{name: "invalid batch", body: `[1,2,3]`, batch: true, invalid: []bool{true, true, true}, notify: []bool{false, false, false}},
		{name: "mixed batch", batch: true, body: `[
			{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},
			{"jsonrpc":"2.0","method":"notify_hello","params":[7]},
			{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":"2"},
			{"foo":"boo"},
			{"jsonrpc":"2.0","method":"foo.get","params":{"name":"myself"},"id":"5"},
			{"jsonrpc":"2.0","method":"get_data","id":"9"}]`,
			invalid: []bool{false, false, false, true, false, false}, notify: []bool{false, true, false, false, false, false}},
		{name: "wrong version", body: `{"jsonrpc":"1.0","method":"m","id":1}`, invalid: []bool{true}, notify: []bool{false}},
		{name: "params a string", body: `{"jsonrpc":"2.0","method":"m","params":"x","id":1}`, invalid: []bool{true}, notify: []bool{false}},
		{name: "id an object", body: `{"jsonrpc":"2.0","method":"m","id":{}}`, invalid: []bool{true}, notify: []bool{false}},
		{name: "a string body", body: `"x"`, whole: CodeInvalidRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reqs, batch, perr := Parse([]byte(tt.body))
			if tt.whole != 0 {
				if perr == nil || perr.Code != tt.whole {
					t.Fatalf("whole-body error %v, want code %d", perr, tt.whole)
				}
				return
			}
			if perr != nil || batch != tt.batch || len(reqs) != len(tt.invalid) {
				t.Fatalf("got %d requests, batch %v, err %v", len(reqs), batch, perr)
			}
			for i, r := range reqs {
				if (r.Err != nil) != tt.invalid[i] || r.Notification() != tt.notify[i] {
					t.Errorf("request %d: err %v, notification %v", i, r.Err, r.Notification())
				}
				if r.Err != nil && (r.Err.Code != CodeInvalidRequest || string(r.ID) == "") {
					t.Errorf("request %d: %v with id %q, want Invalid Request with an id (null if unknown)", i, r.Err, r.ID)
				}
			}
		})
	}
}

func TestEncode(t *testing.T) {
	one, _ := Encode([]Response{{ID: json.RawMessage(`"a"`), Result: json.RawMessage(`{"x":1}`)}}, false)
	if string(one) != `{"jsonrpc":"2.0","result":{"x":1},"id":"a"}` {
		t.Errorf("single: %s", one)
	}
	many, _ := Encode([]Response{{ID: json.RawMessage(`1`)}, {Error: Errorf(CodeMethodNotFound, "Method not found")}}, true)
	if string(many) != `[{"jsonrpc":"2.0","result":null,"id":1},{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":null}]` {
		t.Errorf("batch: %s", many)
	}
	if none, _ := Encode(nil, true); none != nil {
		t.Errorf("only notifications: %s, want nothing", none)
	}
	if !strings.Contains(Errorf(CodeInternalError, "x %d", 1).Error(), "-32603 x 1") {
		t.Error("Error()")
	}
}

// FuzzParse: no body makes Parse panic, and every request it returns is
// either runnable or carries an error with an id to answer it with.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","method":"m","id":1}`, `[1,{"jsonrpc":"2.0"}]`, `[]`, `{}`, `null`, `[{"id":[]}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reqs, _, perr := Parse(body)
		if perr != nil {
			return
		}
		for _, r := range reqs {
			if r.Err != nil && r.ID == nil {
				t.Fatalf("invalid request without an id to answer: %+v", r)
			}
			if r.Err == nil && r.Method == "" {
				t.Fatalf("runnable request without a method: %+v", r)
			}
		}
	})
}
