package subscriptions

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxFastMembers bounds the members canonicalFlat sorts on the stack: the
// parameters of a NULS method are a handful.
const maxFastMembers = 16

// member is one name and value of a JSON object, as slices of its text.
type member struct{ name, value []byte }

// canonicalFlat is CanonicalParams without decoding, for the common case:
// an object whose names need no escaping and whose values are numbers,
// literals or strings that json.Marshal writes as they are. It returns the
// same text CanonicalParams' decoding path would; ok is false for anything
// else (nested values, escapes, duplicate names, invalid JSON), which that
// path then handles. A cached read or a stream's key is one of these, and
// the decoding path costs some 26 allocations a call where this costs one.
func canonicalFlat(raw []byte) (string, bool) {
	if !json.Valid(raw) {
		return "", false
	}
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return "", false
	}
	var buf [maxFastMembers]member
	members := buf[:0]
	i = skipSpace(raw, i+1)
	if raw[i] == '}' {
		return "{}", true
	}
	for {
		name, next, ok := plainString(raw, i)
		if !ok || len(members) == maxFastMembers {
			return "", false
		}
		i = skipSpace(raw, next)
		i = skipSpace(raw, i+1) // the ':' (raw is valid)
		var value []byte
		switch raw[i] {
		case '"':
			v, end, ok := plainString(raw, i)
			if !ok {
				return "", false
			}
			value, i = v, end
		case '{', '[':
			return "", false
		default: // a number, true, false or null, verbatim in valid JSON
			end := i
			for end < len(raw) && !isDelimiter(raw[end]) {
				end++
			}
			value, i = raw[i:end], end
		}
		members = append(members, member{name, value})
		i = skipSpace(raw, i)
		if raw[i] == '}' {
			break
		}
		i = skipSpace(raw, i+1) // the ','
	}
	// By the names themselves, not their quoted tokens ("" sorts before " ").
	slices.SortFunc(members, func(a, b member) int { return bytes.Compare(unquote(a.name), unquote(b.name)) })
	n := 2
	for k, m := range members {
		if k > 0 && bytes.Equal(m.name, members[k-1].name) {
			return "", false // the decoding path keeps the last of them
		}
		n += len(m.name) + len(m.value) + 2
	}
	var out strings.Builder
	out.Grow(n)
	out.WriteByte('{')
	for k, m := range members {
		if k > 0 {
			out.WriteByte(',')
		}
		out.Write(m.name)
		out.WriteByte(':')
		out.Write(m.value)
	}
	out.WriteByte('}')
	return out.String(), true
}

// plainString returns the string token at raw[i] (with its quotes) and the
// index after it, when json.Marshal would write its value the same way: no
// escape, no character it escapes (<, >, &, U+2028, U+2029), valid UTF-8.
func plainString(raw []byte, i int) (tok []byte, next int, ok bool) {
	if raw[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(raw); {
		c := raw[j]
		switch {
		case c == '"':
			return raw[i : j+1], j + 1, true
		case c == '\\' || c == '<' || c == '>' || c == '&' || c < 0x20:
			return nil, 0, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(raw[j:])
			if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
				return nil, 0, false
			}
			j += size
		}
	}
	return nil, 0, false
}

// unquote is a plainString token's value.
func unquote(tok []byte) []byte { return tok[1 : len(tok)-1] }

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

func isDelimiter(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
