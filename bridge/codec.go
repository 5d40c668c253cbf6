package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Decode parses one frame tolerantly, as a client must (rule 1 of
// docs/protocol.md#the-two-rules): every scalar may be a string or a number,
// the legacy camelCase spellings are accepted (field names match
// case-insensitively), and unknown fields are ignored. A frame that is not a usable message gives a *DecodeError.
func Decode(data []byte) (*Message, error) {
	return decode(data, false)
}

// DecodeStrict parses one frame as a Java peer does: besides what Decode
// rejects, a field Java does not know anywhere in the envelope or the payload,
// or a field spelt in another case, gives a *DecodeError wrapping
// ErrUnknownField. Servers use it in strict mode to prove that clients send
// only the documented field sets (D2).
func DecodeStrict(data []byte) (*Message, error) {
	return decode(data, true)
}

// Encode renders m as compact JSON with exactly the documented fields of its
// type (D1, D2): every scalar as a string except ResponseStatus, a number.
func Encode(m *Message) ([]byte, error) {
	if m.MessageData == nil {
		return nil, &DecodeError{Field: "MessageData", Reason: "missing payload"}
	}
	w := objectWriter{buf: make([]byte, 0, 256)}
	w.open()
	w.str("MessageID", m.MessageID)
	w.str("Timestamp", m.Timestamp)
	w.str("TimeZone", m.TimeZone)
	w.str("MessageType", string(m.MessageData.MessageType()))
	w.key("MessageData")
	if err := encodePayload(&w, m.MessageData); err != nil {
		return nil, err
	}
	w.close()
	return w.buf, nil
}

func encodePayload(w *objectWriter, p Payload) error {
	w.open()
	switch p := p.(type) {
	case *NegotiateConnection:
		w.str("ProtocolVersion", p.ProtocolVersion)
		w.str("CompressionAlgorithm", p.CompressionAlgorithm)
		w.str("CompressionRate", p.CompressionRate)
		if p.Abbreviation != "" {
			w.str("Abbreviation", p.Abbreviation)
		}
	case *NegotiateConnectionResponse:
		w.str("RequestID", p.RequestID)
		w.str("NegotiationStatus", p.NegotiationStatus)
		w.str("NegotiationComment", p.NegotiationComment)
	case *Request:
		if err := encodeRequest(w, p); err != nil {
			return err
		}
	case *RequestOnly:
		if err := encodeRequest(w, &p.Request); err != nil {
			return err
		}
	case *Unsubscribe:
		w.key("UnsubscribeMethods")
		w.buf = append(w.buf, '[')
		for i, s := range p.UnsubscribeMethods {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.buf = appendJSONString(w.buf, s)
		}
		w.buf = append(w.buf, ']')
	case *Response:
		w.str("RequestID", p.RequestID)
		w.strOrNull("ResponseProcessingTime", p.ResponseProcessingTime)
		w.number("ResponseStatus", p.ResponseStatus)
		w.str("ResponseComment", p.ResponseComment)
		w.str("ResponseMaxSize", strconv.Itoa(p.ResponseMaxSize))
		w.key("ResponseData")
		if p.ResponseData == nil {
			w.buf = append(w.buf, "null"...)
		} else {
			w.open()
			for _, r := range p.ResponseData {
				if err := w.raw(r.Method, r.Result, "null"); err != nil {
					return err
				}
			}
			w.close()
		}
		w.strOrNull("ResponseErrorCode", p.ResponseErrorCode)
	case *Ack:
		w.str("RequestID", p.RequestID)
	case *Notification:
		w.str("NotificationAck", boolString(p.NotificationAck))
		w.str("NotificationType", p.NotificationType)
		w.str("NotificationComment", p.NotificationComment)
		if err := w.raw("NotificationData", p.NotificationData, "{}"); err != nil {
			return err
		}
	case *RegisterCompoundMethod:
		w.str("CompoundMethodName", p.CompoundMethodName)
		w.str("CompoundMethodDescription", p.CompoundMethodDescription)
		// The object form of V1.4, keyed by child method in execution order.
		w.key("CompoundMethods")
		w.open()
		for _, c := range p.CompoundMethods {
			w.key(c.Method)
			w.open()
			for _, a := range c.Aliases {
				w.str(a.Param, a.Alias)
			}
			w.close()
		}
		w.close()
	case *UnregisterCompoundMethod:
		w.str("UnregisterCompoundMethodName", p.UnregisterCompoundMethodName)
	default:
		return &DecodeError{Field: "MessageData", Reason: "unsupported payload type"}
	}
	w.close()
	return nil
}

func encodeRequest(w *objectWriter, r *Request) error {
	w.str("RequestAck", boolString(r.RequestAck))
	w.str("SubscriptionEventCounter", strconv.Itoa(r.SubscriptionEventCounter))
	w.str("SubscriptionPeriod", strconv.Itoa(r.SubscriptionPeriod))
	w.str("SubscriptionRange", r.SubscriptionRange)
	w.str("ResponseMaxSize", strconv.Itoa(r.ResponseMaxSize))
	w.key("RequestMethods")
	w.open()
	for _, mc := range r.RequestMethods {
		if err := w.raw(mc.Method, mc.Params, "{}"); err != nil {
			return err
		}
	}
	w.close()
	if r.TimeOut > 0 {
		w.str("TimeOut", strconv.FormatInt(r.TimeOut, 10))
	}
	return nil
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// objectWriter appends JSON objects to buf, inserting commas as needed.
type objectWriter struct {
	buf []byte
	// first reports whether the innermost open object has no key yet.
	first bool
}

func (w *objectWriter) open() {
	w.buf = append(w.buf, '{')
	w.first = true
}

func (w *objectWriter) close() {
	w.buf = append(w.buf, '}')
	w.first = false
}

func (w *objectWriter) key(k string) {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
	w.buf = appendJSONString(w.buf, k)
	w.buf = append(w.buf, ':')
}

func (w *objectWriter) str(k, v string) {
	w.key(k)
	w.buf = appendJSONString(w.buf, v)
}

func (w *objectWriter) number(k string, n int) {
	w.key(k)
	w.buf = strconv.AppendInt(w.buf, int64(n), 10)
}

func (w *objectWriter) strOrNull(k, v string) {
	w.key(k)
	if v == "" {
		w.buf = append(w.buf, "null"...)
	} else {
		w.buf = appendJSONString(w.buf, v)
	}
}

// raw writes a JSON value given by the caller, after checking it, or def
// when it is empty.
func (w *objectWriter) raw(k string, v json.RawMessage, def string) error {
	w.key(k)
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0:
		w.buf = append(w.buf, def...)
	case !json.Valid(v):
		return &DecodeError{Field: k, Reason: "not valid JSON"}
	default:
		w.buf = append(w.buf, v...)
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does; HTML characters are left alone.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// frame is a decoded JSON object whose fields are taken one by one, so that
// what is left over is what the decoder did not know.
type frame struct {
	path    string
	members []member
	used    []bool
	strict  bool
	// inexact collects names matched only case-insensitively.
	inexact []string
	// err is the first error of the read* helpers, which keep reading
	// after it so a payload reads as a run of plain assignments.
	err error
	// The members and their marks of a usual frame, in the frame's own
	// allocation: the envelope and the payloads have at most about ten.
	memberBuf [frameMembers]member
	usedBuf   [frameMembers]bool
}

// frameMembers is how many members a frame holds without allocating more.
const frameMembers = 12

// keep records the first error of a run of field reads.
func (f *frame) keep(err error) {
	if f.err == nil {
		f.err = err
	}
}

// readStr, readInt and readFlag are str, int and flag with the error kept
// in f.err.
func (f *frame) readStr(name string) string {
	v, err := f.str(name)
	f.keep(err)
	return v
}

func (f *frame) readInt(name string) int {
	v, err := f.int(name)
	f.keep(err)
	return v
}

func (f *frame) readFlag(name string) bool {
	v, err := f.flag(name)
	f.keep(err)
	return v
}

// parseFrame reads an object of a frame that was validated as a whole.
func parseFrame(path string, raw json.RawMessage, strict bool) (*frame, error) {
	if jsonKind(raw) != "an object" {
		return nil, decodeErr(path, "must be a JSON object")
	}
	f := &frame{path: path, strict: strict}
	members, err := appendMembers(f.memberBuf[:0], raw)
	if err != nil {
		return nil, decodeErr(path, "%v", err)
	}
	f.members, f.used = members, f.usedBuf[:0]
	if len(members) > len(f.usedBuf) {
		f.used = make([]bool, len(members))
	}
	f.used = f.used[:len(members)]
	return f, nil
}

func (f *frame) fieldPath(name string) string {
	if f.path == "" {
		return name
	}
	return f.path + "." + name
}

// take marks and returns the field called name, matching the exact
// spelling first and then any spelling that differs only in case (the legacy
// camelCase envelope and payloads, and Java's Ack RequestId). A repeated
// field gives its last value, as encoding/json does.
func (f *frame) take(name string) (json.RawMessage, bool) {
	found := -1
	for i, m := range f.members {
		if m.key == name {
			f.used[i] = true
			found = i
		}
	}
	if found >= 0 {
		return f.members[found].value, true
	}
	for i, m := range f.members {
		if !f.used[i] && strings.EqualFold(m.key, name) {
			f.used[i] = true
			f.inexact = append(f.inexact, m.key)
			found = i
		}
	}
	if found >= 0 {
		return f.members[found].value, true
	}
	return nil, false
}

// finish reports, in strict mode, the fields a Java peer would not know.
func (f *frame) finish(allowInexact ...string) error {
	if !f.strict {
		return nil
	}
	for _, k := range f.inexact {
		if !slices.Contains(allowInexact, k) {
			return &DecodeError{Field: f.fieldPath(k), Reason: "field not known to Java peers", kind: ErrUnknownField}
		}
	}
	for i, m := range f.members {
		if !f.used[i] {
			return &DecodeError{Field: f.fieldPath(m.key), Reason: "field not known to Java peers", kind: ErrUnknownField}
		}
	}
	return nil
}

// str reads a scalar field as text: a string, or the literal of a number or
// boolean (D1: every scalar as string or number). Missing and null give "".
func (f *frame) str(name string) (string, error) {
	v, ok := f.take(name)
	if !ok {
		return "", nil
	}
	s, err := scalarString("", v)
	if err != nil {
		// Only here: de escapes (errors.As takes its address), and
		// str runs for every field of every message.
		var de *DecodeError
		if errors.As(err, &de) {
			de.Field = f.fieldPath(name) // built only for an error
		}
	}
	return s, err
}

// int reads a scalar field as an integer. Missing, null and "" give 0.
func (f *frame) int(name string) (int, error) {
	s, err := f.str(name)
	if err != nil || s == "" {
		return 0, err
	}
	n, perr := strconv.Atoi(strings.TrimSpace(s))
	if perr != nil {
		return 0, decodeErr(f.fieldPath(name), "%q is not an integer", s)
	}
	return n, nil
}

// flag reads a 0/1 field: "1", 1 and true (and "true") are set.
func (f *frame) flag(name string) (bool, error) {
	s, err := f.str(name)
	if err != nil {
		return false, err
	}
	switch strings.TrimSpace(s) {
	case "1", "true":
		return true, nil
	}
	return false, nil
}

func scalarString(path string, v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", nil
	}
	switch v[0] {
	case '"':
		s, err := unquote(v)
		if err != nil {
			return "", decodeErr(path, "%v", err)
		}
		return s, nil
	case 'n':
		return "", nil
	case '{', '[':
		return "", decodeErr(path, "must be a string or a number, not %s", jsonKind(v))
	default: // number, true, false
		return string(v), nil
	}
}

func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "invalid JSON"
}

// member is one key of a JSON object, in document order.
type member struct {
	key   string
	value json.RawMessage
}

// objectMembers is orderedMembers of the field called name, whose path is
// built only for an error.
func (f *frame) objectMembers(name string, raw json.RawMessage) ([]member, error) {
	members, err := orderedMembers("", raw)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Field = f.fieldPath(name)
		}
		return nil, err
	}
	return members, nil
}

// orderedMembers decodes a JSON object keeping its key order. A repeated key
// keeps its first position and its last value, as Java's LinkedHashMap does.
// raw must be valid JSON (a validated frame, or a value we produced).
func orderedMembers(path string, raw json.RawMessage) ([]member, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, decodeErr(path, "must be a JSON object keyed by method name, not %s", jsonKind(raw))
	}
	members, err := scanObject(raw)
	if err != nil {
		return nil, decodeErr(path, "%v", err)
	}
	out := members[:0]
	for _, m := range members {
		replaced := false
		for i := range out {
			if out[i].key == m.key {
				out[i].value = m.value
				replaced = true
			}
		}
		if !replaced {
			out = append(out, m)
		}
	}
	return out, nil
}

// decode parses one frame. The Message's raw values (parameters, results)
// are subslices of data, which must not change afterwards.
func decode(data []byte, strict bool) (*Message, error) {
	if kind := jsonKind(data); kind != "an object" {
		return nil, decodeErr("", "frame must be a JSON object, not %s", kind)
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v) // only to say what is wrong
		return nil, decodeErr("", "malformed JSON: %v", err)
	}
	env, err := parseFrame("", data, strict)
	if err != nil {
		reason := err.Error()
		var de *DecodeError
		if errors.As(err, &de) { // parseFrame's errors all are
			reason = de.Reason
		}
		return nil, decodeErr("", "malformed JSON: %s", reason)
	}
	m := &Message{}
	if m.MessageID, err = env.str("MessageID"); err != nil {
		return nil, err
	}
	if m.Timestamp, err = env.str("Timestamp"); err != nil {
		return nil, err
	}
	if m.TimeZone, err = env.str("TimeZone"); err != nil {
		return nil, err
	}
	typ, err := env.str("MessageType")
	if err != nil {
		return nil, err
	}
	if typ == "" {
		return nil, decodeErr("MessageType", "missing")
	}
	rawData, ok := env.take("MessageData")
	if !ok {
		return nil, decodeErr("MessageData", "missing")
	}
	data2, err := parseFrame("MessageData", rawData, strict)
	if err != nil {
		return nil, err
	}
	if m.MessageData, err = decodePayload(MessageType(typ), data2); err != nil {
		return nil, err
	}
	if err := env.finish(); err != nil {
		return nil, err
	}
	allow := []string(nil)
	if MessageType(typ) == TypeAck {
		allow = []string{"RequestId"} // what the Java Ack sender writes (D6)
	}
	if err := data2.finish(allow...); err != nil {
		return nil, err
	}
	return m, nil
}

func decodePayload(typ MessageType, f *frame) (Payload, error) {
	switch typ {
	case TypeNegotiateConnection:
		p := &NegotiateConnection{
			ProtocolVersion:      f.readStr("ProtocolVersion"),
			CompressionAlgorithm: f.readStr("CompressionAlgorithm"),
			CompressionRate:      f.readStr("CompressionRate"),
			Abbreviation:         f.readStr("Abbreviation"),
		}
		return p, f.err
	case TypeNegotiateConnectionResponse:
		p := &NegotiateConnectionResponse{
			RequestID:          f.readStr("RequestID"),
			NegotiationStatus:  f.readStr("NegotiationStatus"),
			NegotiationComment: f.readStr("NegotiationComment"),
		}
		return p, f.err
	case TypeRequest:
		p := &Request{}
		return p, decodeRequest(f, p)
	case TypeRequestOnly:
		p := &RequestOnly{}
		return p, decodeRequest(f, &p.Request)
	case TypeUnsubscribe:
		p := &Unsubscribe{}
		var err error
		p.UnsubscribeMethods, err = stringList(f, "UnsubscribeMethods")
		return p, err
	case TypeResponse:
		p := &Response{}
		return p, decodeResponse(f, p)
	case TypeAck:
		p := &Ack{RequestID: f.readStr("RequestID")}
		return p, f.err
	case TypeNotification:
		p := &Notification{
			NotificationAck:     f.readFlag("NotificationAck"),
			NotificationType:    f.readStr("NotificationType"),
			NotificationComment: f.readStr("NotificationComment"),
		}
		if raw, ok := f.take("NotificationData"); ok {
			p.NotificationData = bytes.TrimSpace(raw)
		}
		return p, f.err
	case TypeRegisterCompoundMethod:
		p := &RegisterCompoundMethod{
			CompoundMethodName:        f.readStr("CompoundMethodName"),
			CompoundMethodDescription: f.readStr("CompoundMethodDescription"),
		}
		if raw, ok := f.take("CompoundMethods"); ok {
			var err error
			p.CompoundMethods, err = compoundChildren(f.fieldPath("CompoundMethods"), raw)
			f.keep(err)
		}
		return p, f.err
	case TypeUnregisterCompoundMethod:
		p := &UnregisterCompoundMethod{UnregisterCompoundMethodName: f.readStr("UnregisterCompoundMethodName")}
		return p, f.err
	}
	return nil, decodeErr("MessageType", "unknown message type %q", string(typ))
}

func decodeRequest(f *frame, r *Request) error {
	r.RequestAck = f.readFlag("RequestAck")
	r.SubscriptionEventCounter = f.readInt("SubscriptionEventCounter")
	r.SubscriptionPeriod = f.readInt("SubscriptionPeriod")
	r.SubscriptionRange = f.readStr("SubscriptionRange")
	r.ResponseMaxSize = f.readInt("ResponseMaxSize")
	r.TimeOut = int64(f.readInt("TimeOut"))
	if f.err != nil {
		return f.err
	}
	if r.SubscriptionEventCounter < 0 || r.SubscriptionPeriod < 0 || r.ResponseMaxSize < 0 || r.TimeOut < 0 {
		return decodeErr(f.path, "negative counter")
	}
	raw, ok := f.take("RequestMethods")
	if !ok {
		return decodeErr(f.fieldPath("RequestMethods"), "missing")
	}
	// The field's path is built only for an error: this is every
	// Request's path.
	path := func() string { return f.fieldPath("RequestMethods") }
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		// The V1.1/1.2 array form: no real peer accepts it
		// (docs/protocol.md#request).
		return decodeErr(path(), "must be an object keyed by method name; the V1.1 array form is not supported")
	}
	members, err := f.objectMembers("RequestMethods", raw)
	if err != nil {
		return err
	}
	r.RequestMethods = make([]MethodCall, 0, len(members))
	for _, mb := range members {
		if mb.key == "" {
			return decodeErr(path(), "empty method name")
		}
		params := bytes.TrimSpace(mb.value)
		switch jsonKind(params) {
		case "null":
			params = nil
		case "an object":
		default:
			return decodeErr(path()+"."+mb.key, "parameters must be an object, not %s", jsonKind(params))
		}
		r.RequestMethods = append(r.RequestMethods, MethodCall{Method: mb.key, Params: params})
	}
	return nil
}

func decodeResponse(f *frame, r *Response) error {
	r.RequestID = f.readStr("RequestID")
	r.ResponseProcessingTime = f.readStr("ResponseProcessingTime")
	status := f.readStr("ResponseStatus")
	r.ResponseComment = f.readStr("ResponseComment")
	r.ResponseMaxSize = f.readInt("ResponseMaxSize")
	r.ResponseErrorCode = f.readStr("ResponseErrorCode")
	if f.err != nil {
		return f.err
	}
	if status == "" {
		return decodeErr(f.fieldPath("ResponseStatus"), "missing")
	}
	n, perr := strconv.Atoi(strings.TrimSpace(status))
	if perr != nil {
		return decodeErr(f.fieldPath("ResponseStatus"), "%q is not an integer", status)
	}
	r.ResponseStatus = n
	raw, ok := f.take("ResponseData")
	if !ok || jsonKind(raw) == "null" {
		return nil
	}
	members, err := f.objectMembers("ResponseData", raw)
	if err != nil {
		return err
	}
	r.ResponseData = make([]MethodResult, len(members))
	for i, mb := range members {
		r.ResponseData[i] = MethodResult{Method: mb.key, Result: bytes.TrimSpace(mb.value)}
	}
	return nil
}

// stringList reads an array of scalars; a lone scalar counts as a list of one.
func stringList(f *frame, name string) ([]string, error) {
	raw, ok := f.take(name)
	path := f.fieldPath(name)
	if !ok {
		return nil, decodeErr(path, "missing")
	}
	if jsonKind(raw) != "an array" {
		s, err := scalarString(path, raw)
		if err != nil || s == "" {
			return nil, err
		}
		return []string{s}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, decodeErr(path, "%v", err)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := scalarString(path, it)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// compoundChildren reads CompoundMethods in the object form of V1.4
// ({"child": {"param": "alias"}}, in key order) or the array form of the
// older documents and Java ([{"child": {...}}, ...]).
func compoundChildren(path string, raw json.RawMessage) ([]CompoundChild, error) {
	var groups [][]member
	switch jsonKind(raw) {
	case "an object":
		ms, err := orderedMembers(path, raw)
		if err != nil {
			return nil, err
		}
		groups = append(groups, ms)
	case "an array":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, decodeErr(path, "%v", err)
		}
		for _, it := range items {
			ms, err := orderedMembers(path, it)
			if err != nil {
				return nil, err
			}
			groups = append(groups, ms)
		}
	default:
		return nil, decodeErr(path, "must be an object or an array, not %s", jsonKind(raw))
	}
	var out []CompoundChild
	for _, g := range groups {
		for _, mb := range g {
			child := CompoundChild{Method: mb.key}
			if jsonKind(mb.value) != "null" {
				aliases, err := orderedMembers(path+"."+mb.key, mb.value)
				if err != nil {
					return nil, err
				}
				for _, a := range aliases {
					alias, err := scalarString(path+"."+mb.key+"."+a.key, a.value)
					if err != nil {
						return nil, err
					}
					child.Aliases = append(child.Aliases, ParamAlias{Param: a.key, Alias: alias})
				}
			}
			out = append(out, child)
		}
	}
	return out, nil
}
