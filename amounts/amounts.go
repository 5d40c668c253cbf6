package amounts

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/nuls-gateway/nuls-gateway/catalog"
)

// Big reports whether t, a catalog type, holds a BigInteger or a String
// anywhere: whether Stringify can change an answer of that type.
func Big(t *catalog.Type) bool {
	switch {
	case t == nil:
		return false
	case isBig(t):
		return true
	case t.Items != nil && Big(t.Items):
		return true
	}
	for _, f := range t.Fields {
		if Big(f) {
			return true
		}
	}
	return false
}

// isBig reports whether a number at a place of type t is written as a
// string: a BigInteger, and a String, which modules sometimes answer as a
// number (the ledger's getBalance declares available a String and answers
// a BigInteger's number).
func isBig(t *catalog.Type) bool {
	return t != nil && (strings.EqualFold(t.Java, "BigInteger") || t.Kind == "string")
}

// maxDepth bounds the nesting Stringify follows; deeper answers are left
// as they are.
const maxDepth = 64

var errTooDeep = errors.New("amounts: answer nested too deep")

// Stringify returns raw with every JSON integer at a place t declares
// BigInteger (or String) written as a string of its digits
// ("1000000000000000001").
// Places t does not describe, and values that are not numbers there, are
// copied as they are. raw is returned unchanged when t holds no
// BigInteger, or when it is not valid JSON.
func Stringify(raw json.RawMessage, t *catalog.Type) json.RawMessage {
	if !Big(t) || !hasNumber(raw) {
		return raw
	}
	var out bytes.Buffer
	out.Grow(len(raw) + 16)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := rewrite(dec, &out, t, 0); err != nil {
		return raw
	}
	if _, err := dec.Token(); err != io.EOF {
		return raw // trailing data: not ours to judge
	}
	return out.Bytes()
}

// hasNumber reports whether raw holds a number outside its strings: most
// answers a type with a String or an amount describes have none to rewrite
// (a header's {"value": "<hex>"}), and are left as they are without
// decoding them.
func hasNumber(raw []byte) bool {
	in, esc := false, false
	for _, c := range raw {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == '-' || c >= '0' && c <= '9'):
			return true
		}
	}
	return false
}

// rewrite copies one value from dec to out, typed t (nil: any).
func rewrite(dec *json.Decoder, out *bytes.Buffer, t *catalog.Type, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			out.WriteByte('{')
			for i := 0; dec.More(); i++ {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				if i > 0 {
					out.WriteByte(',')
				}
				writeJSON(out, key)
				out.WriteByte(':')
				var field *catalog.Type
				if t != nil {
					field = t.Fields[key]
				}
				if err := rewrite(dec, out, field, depth+1); err != nil {
					return err
				}
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			var item *catalog.Type
			if t != nil {
				item = t.Items
			}
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := rewrite(dec, out, item, depth+1); err != nil {
					return err
				}
			}
			out.WriteByte(']')
		}
		_, err := dec.Token() // the closing delimiter
		return err
	case json.Number:
		if isBig(t) && isInteger(string(v)) {
			out.WriteByte('"')
			out.WriteString(string(v))
			out.WriteByte('"')
			return nil
		}
		out.WriteString(string(v))
	case string:
		writeJSON(out, v)
	case bool:
		if v {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	}
	return nil
}

// isInteger reports whether a JSON number has no fraction or exponent: a
// BigInteger's digits.
func isInteger(n string) bool {
	return !strings.ContainsAny(n, ".eE")
}

func writeJSON(out *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	out.Write(b)
}

// Answer is the type of a module's answer whose declared result is t: a
// Java module answers a scalar result as {"value": result}.
func Answer(t *catalog.Type) *catalog.Type {
	if t == nil {
		return nil
	}
	switch t.Kind {
	case "string", "integer", "number", "boolean":
		return &catalog.Type{Kind: "object", Fields: map[string]*catalog.Type{"value": t}}
	}
	return t
}
