package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Interval is a numeric range in the syntax of the protocol documents:
// "[1000, )", "(1,100]", "[0,65535]". A square bracket includes its bound, a
// parenthesis excludes it, and an empty side is unbounded. The registration
// form "[1-65535]" (a dash between the bounds) is accepted too.
type Interval struct {
	Min, Max                   float64 // ±Inf when unbounded
	MinInclusive, MaxInclusive bool
}

// ParseInterval parses s. ok is false for the empty string and for "0",
// Java's default SubscriptionRange, both meaning no range (D12).
func ParseInterval(s string) (iv Interval, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Interval{}, false, nil
	}
	if len(s) < 2 {
		return Interval{}, false, fmt.Errorf("bridge: range %q: want [min, max]", s)
	}
	open, closing := s[0], s[len(s)-1]
	if (open != '[' && open != '(') || (closing != ']' && closing != ')') {
		return Interval{}, false, fmt.Errorf("bridge: range %q: must start with [ or ( and end with ] or )", s)
	}
	body := s[1 : len(s)-1]
	lo, hi, found := strings.Cut(body, ",")
	if !found {
		// "[1-65535]": the first dash that is not a sign separates.
		i := strings.IndexByte(strings.TrimLeft(body, " +-"), '-')
		if i < 0 {
			return Interval{}, false, fmt.Errorf("bridge: range %q: no separator", s)
		}
		i += len(body) - len(strings.TrimLeft(body, " +-"))
		lo, hi = body[:i], body[i+1:]
	}
	iv = Interval{Min: math.Inf(-1), Max: math.Inf(1), MinInclusive: open == '[', MaxInclusive: closing == ']'}
	if lo = strings.TrimSpace(lo); lo != "" {
		if iv.Min, err = strconv.ParseFloat(lo, 64); err != nil {
			return Interval{}, false, fmt.Errorf("bridge: range %q: bad lower bound", s)
		}
	}
	if hi = strings.TrimSpace(hi); hi != "" {
		if iv.Max, err = strconv.ParseFloat(hi, 64); err != nil {
			return Interval{}, false, fmt.Errorf("bridge: range %q: bad upper bound", s)
		}
	}
	if iv.Min > iv.Max {
		return Interval{}, false, fmt.Errorf("bridge: range %q: lower bound above upper bound", s)
	}
	return iv, true, nil
}

// Contains reports whether x lies inside the interval.
func (iv Interval) Contains(x float64) bool {
	if x < iv.Min || (x == iv.Min && !iv.MinInclusive && !math.IsInf(iv.Min, -1)) {
		return false
	}
	if x > iv.Max || (x == iv.Max && !iv.MaxInclusive && !math.IsInf(iv.Max, 1)) {
		return false
	}
	return true
}

// numericValue returns the number a result stands for: the result itself
// (a number or a numeric string), or its "value" field, the shape of
// latestHeight's {"value": 12} (D12).
func numericValue(result json.RawMessage) (float64, bool) {
	result = bytes.TrimSpace(result)
	switch jsonKind(result) {
	case "a number":
		f, err := strconv.ParseFloat(string(result), 64)
		return f, err == nil
	case "a string":
		var s string
		if json.Unmarshal(result, &s) != nil {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, err == nil
	case "an object":
		var obj map[string]json.RawMessage
		if json.Unmarshal(result, &obj) != nil {
			return 0, false
		}
		if v, ok := obj["value"]; ok && jsonKind(v) != "an object" {
			return numericValue(v)
		}
	}
	return 0, false
}
