package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Version is the only jsonrpc member value accepted and sent.
const Version = "2.0"

// The error codes of the specification.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// Request is one call of a body.
type Request struct {
	// ID is the request's id as sent (a JSON string, number or null);
	// nil for a notification.
	ID     json.RawMessage
	Method string
	// Params is the JSON object or array sent, or nil.
	Params json.RawMessage
	// Err, when set, is why the request is invalid: it is answered with
	// it (if it has an id) and not run.
	Err *Error
}

// Notification reports whether r expects no answer.
func (r *Request) Notification() bool { return r.ID == nil }

// ByName reports whether r's params are an object (or absent).
func (r *Request) ByName() bool { return len(r.Params) == 0 || r.Params[0] == '{' }

// Error is a JSON-RPC error object.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	// Data is anything the server adds; omitted when nil.
	Data any `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("jsonrpc: %d %s", e.Code, e.Message) }

// Errorf returns an Error with code and a formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Response answers one Request: Result or Error, never both.
type Response struct {
	ID     json.RawMessage
	Result json.RawMessage
	Error  *Error
}

// MarshalJSON writes the response object, with "result" (null when
// empty) or "error", and the id (null when unknown).
func (r Response) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0",`)
	if r.Error != nil {
		e, err := json.Marshal(r.Error)
		if err != nil {
			return nil, err
		}
		b.WriteString(`"error":`)
		b.Write(e)
	} else {
		b.WriteString(`"result":`)
		if len(r.Result) == 0 {
			b.WriteString("null")
		} else {
			b.Write(r.Result)
		}
	}
	b.WriteString(`,"id":`)
	if len(r.ID) == 0 {
		b.WriteString("null")
	} else {
		b.Write(r.ID)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Parse reads a body: one request object, or a batch (an array of them).
// A body that is not JSON is a Parse error, and one that is neither an
// object nor a non-empty array an Invalid Request: either is returned as
// the error to answer alone. Otherwise every element becomes a Request,
// the invalid ones with their Err set.
func Parse(body []byte) (reqs []Request, batch bool, perr *Error) {
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return nil, false, Errorf(CodeParseError, "Parse error: the body is not JSON")
	}
	switch body[0] {
	case '{':
		return []Request{parseOne(body)}, false, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, false, Errorf(CodeParseError, "Parse error: %v", err)
		}
		if len(items) == 0 {
			return nil, false, Errorf(CodeInvalidRequest, "Invalid Request: empty batch")
		}
		reqs = make([]Request, len(items))
		for i, it := range items {
			reqs[i] = parseOne(bytes.TrimSpace(it))
		}
		return reqs, true, nil
	}
	return nil, false, Errorf(CodeInvalidRequest, "Invalid Request: the body must be a request object or an array of them")
}

// parseOne reads one element of a body, which is valid JSON.
func parseOne(raw []byte) Request {
	invalid := func(id json.RawMessage, why string) Request {
		return Request{ID: id, Err: Errorf(CodeInvalidRequest, "Invalid Request: %s", why)}
	}
	if len(raw) == 0 || raw[0] != '{' {
		return invalid(json.RawMessage("null"), "a request must be an object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return invalid(json.RawMessage("null"), err.Error())
	}
	var r Request
	if id, ok := m["id"]; ok {
		id = bytes.TrimSpace(id)
		switch id[0] {
		case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			r.ID = id
		default:
			return invalid(json.RawMessage("null"), "id must be a string, a number or null")
		}
	}
	idOrNull := r.ID
	if idOrNull == nil {
		idOrNull = json.RawMessage("null")
	}
	if v := m["jsonrpc"]; string(bytes.TrimSpace(v)) != `"2.0"` {
		return invalid(idOrNull, `jsonrpc must be "2.0"`)
	}
	if err := json.Unmarshal(m["method"], &r.Method); err != nil || r.Method == "" {
		return invalid(idOrNull, "method must be a non-empty string")
	}
	if p, ok := m["params"]; ok {
		p = bytes.TrimSpace(p)
		if p[0] != '{' && p[0] != '[' {
			return invalid(idOrNull, "params must be an object or an array")
		}
		r.Params = p
	}
	return r
}

// Encode writes the answers of a body: the single response, or the batch's
// array without the notifications'. It returns nil when nothing is to be
// sent (only notifications).
func Encode(resps []Response, batch bool) ([]byte, error) {
	if len(resps) == 0 {
		return nil, nil
	}
	if !batch {
		return json.Marshal(resps[0])
	}
	return json.Marshal(resps)
}
