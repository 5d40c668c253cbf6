package subscriptions

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// Key identifies one upstream subscription: clients asking for the same
// method, parameters and mode share it (and its event IDs).
type Key struct {
	// Method is the NULS method subscribed to.
	Method string
	// Params is the canonical JSON object of parameters (see
	// CanonicalParams): equal parameters give equal text.
	Params string
	// EventCounter > 0 asks for a push every N events.
	EventCounter int
	// Period > 0 asks for a push every N seconds.
	Period int
	// Range limits pushes to numeric results inside an interval.
	Range string
}

// Topic returns a stable identifier of the key, usable in URLs and Redis
// keys.
func (k Key) Topic() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%s", k.Method, k.Params, k.EventCounter, k.Period, k.Range)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// String describes the key for logs.
func (k Key) String() string {
	mode := "event=" + strconv.Itoa(k.EventCounter)
	if k.Period > 0 {
		mode = "period=" + strconv.Itoa(k.Period) + "s"
	}
	s := k.Method + " " + k.Params + " " + mode
	if k.Range != "" {
		s += " range=" + k.Range
	}
	return s
}

// CanonicalParams renders a JSON object with sorted keys and no spaces, so
// that {"b":1, "a":2} and {"a":2,"b":1} name the same subscription.
func CanonicalParams(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", nil
	}
	if s, ok := canonicalFlat(raw); ok {
		return s, nil
	}
	return canonicalDecoded(raw)
}

// canonicalDecoded is CanonicalParams for any object: decoded, then written
// again.
func canonicalDecoded(raw json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("subscriptions: params: %w", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return "", errors.New("subscriptions: params must be a JSON object")
	}
	var b bytes.Buffer
	writeCanonical(&b, v)
	return b.String(), nil
}

func writeCanonical(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	default:
		eb, _ := json.Marshal(v)
		b.Write(eb)
	}
}
