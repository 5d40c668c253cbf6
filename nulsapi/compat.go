package nulsapi

import (
	"bytes"
	"encoding/json"
)

// Codes of nuls-api's errors, as its clients compare them (strings).
const (
	CodeParseError     = "-32700"
	CodeInvalidRequest = "-32600"
	CodeMethodNotFound = "-32601"
	CodeParams         = "1000"
	CodeDataNotFound   = "404"
	CodeTxParse        = "999"
	CodeUnknown        = "10002"
)

// Error is nuls-api's error object: its code is a string.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// Outcome is one request's answer in a body, encoded as nuls-api does.
type Outcome struct {
	// ID is the request's id as sent (nil when absent).
	ID     json.RawMessage
	Result any
	Error  *Error
}

// CompatID is the id as nuls-api echoes it: the text of a string id, the
// literal of a number, and "null" for an id that was null or absent (Java's
// String concatenation of a missing value).
func CompatID(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "null"
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// MarshalJSON writes {"jsonrpc":"2.0","id":"…","result":…} or the error,
// leaving out a null result as nuls-api (NON_NULL) does.
func (a Outcome) MarshalJSON() ([]byte, error) {
	out := struct {
		JSONRPC string `json:"jsonrpc"`
		ID      string `json:"id"`
		Result  any    `json:"result,omitempty"`
		Error   *Error `json:"error,omitempty"`
	}{JSONRPC: "2.0", ID: CompatID(a.ID), Result: a.Result, Error: a.Error}
	if a.Error != nil {
		out.Result = nil
	}
	return json.Marshal(out)
}

// EncodeCompat writes the answers of a body as nuls-api does: a batch of
// one as the object alone, an empty batch as [].
func EncodeCompat(answers []Outcome, batch bool) ([]byte, error) {
	if !batch || len(answers) == 1 {
		if len(answers) == 0 {
			return []byte("[]"), nil
		}
		return json.Marshal(answers[0])
	}
	if answers == nil {
		answers = []Outcome{}
	}
	return json.Marshal(answers)
}
