package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// BoundError is a parameter beyond its bound: the caller asked for more
// than one call may.
type BoundError struct {
	Param  string
	Reason string
}

func (e *BoundError) Error() string { return "policy: parameter " + e.Param + ": " + e.Reason }

// Detail says what is wrong, for the caller.
func (e *BoundError) Detail() string { return "parameter " + e.Param + ": " + e.Reason }

// checkBounds checks params (a JSON object, or nothing) against bounds.
// A bounded parameter that is absent is left to the module; one present
// must be what the bound can read (an integer, a list), so that nothing
// unread slips past it.
func checkBounds(bounds []Bound, params json.RawMessage) error {
	if len(bounds) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if t := bytes.TrimSpace(params); len(t) > 0 && string(t) != "null" {
		if err := json.Unmarshal(t, &obj); err != nil {
			return &BoundError{Param: "(all)", Reason: "parameters must be a JSON object"}
		}
	}
	for _, b := range bounds {
		if err := b.check(obj); err != nil {
			return err
		}
	}
	return nil
}

func (b Bound) check(obj map[string]json.RawMessage) error {
	ceiling := big.NewInt(b.Max)
	switch {
	case b.Param != "":
		v, ok, err := intParam(obj, b.Param)
		if err != nil || !ok {
			return err
		}
		if v.Cmp(ceiling) > 0 {
			return &BoundError{Param: b.Param, Reason: fmt.Sprintf("at most %d in one call", b.Max)}
		}
	case b.Items != "":
		raw, ok := obj[b.Items]
		if !ok || string(raw) == "null" {
			return nil
		}
		n, err := countItems(raw)
		if err != nil {
			return &BoundError{Param: b.Items, Reason: err.Error()}
		}
		if n > b.Max {
			return &BoundError{Param: b.Items, Reason: fmt.Sprintf("%d items; at most %d in one call", n, b.Max)}
		}
	default:
		from, okFrom, err := intParam(obj, b.Span[0])
		if err != nil {
			return err
		}
		to, okTo, err := intParam(obj, b.Span[1])
		if err != nil {
			return err
		}
		if !okFrom || !okTo {
			if okFrom != okTo {
				missing := b.Span[0]
				if okFrom {
					missing = b.Span[1]
				}
				return &BoundError{Param: missing, Reason: fmt.Sprintf("%s and %s bound a range: give both", b.Span[0], b.Span[1])}
			}
			return nil
		}
		if to.Cmp(from) < 0 {
			return &BoundError{Param: b.Span[1], Reason: fmt.Sprintf("%s is below %s", b.Span[1], b.Span[0])}
		}
		span := new(big.Int).Sub(to, from)
		if span.Add(span, big.NewInt(1)).Cmp(ceiling) > 0 {
			return &BoundError{Param: b.Span[1], Reason: fmt.Sprintf("at most %d heights from %s to %s in one call", b.Max, b.Span[0], b.Span[1])}
		}
	}
	return nil
}

// intParam reads an integer parameter: a JSON number, or a string of
// digits (the Java modules parse either).
func intParam(obj map[string]json.RawMessage, name string) (*big.Int, bool, error) {
	raw, ok := obj[name]
	if !ok || string(raw) == "null" {
		return nil, false, nil
	}
	text := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, false, &BoundError{Param: name, Reason: "not an integer"}
		}
	}
	v, ok := new(big.Int).SetString(strings.TrimSpace(text), 10)
	if !ok {
		return nil, false, &BoundError{Param: name, Reason: "not an integer"}
	}
	return v, true, nil
}

// countItems counts a list: a JSON array, or a string of comma-separated
// items.
func countItems(raw json.RawMessage) (int64, error) {
	switch t := bytes.TrimSpace(raw); {
	case len(t) > 0 && t[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return 0, fmt.Errorf("not a list")
		}
		return int64(len(items)), nil
	case len(t) > 0 && t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return 0, fmt.Errorf("not a list")
		}
		if strings.TrimSpace(s) == "" {
			return 0, nil
		}
		return int64(strings.Count(s, ",") + 1), nil
	}
	return 0, fmt.Errorf("not a list")
}
