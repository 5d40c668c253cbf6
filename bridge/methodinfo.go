package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"sync"
)

// MinEvent returns MethodMinEvent as a number (0 when not a number).
func (mi MethodInfo) MinEvent() int { n, _ := strconv.Atoi(mi.MethodMinEvent); return n }

// MinPeriod returns MethodMinPeriod as a number (0 when not a number).
func (mi MethodInfo) MinPeriod() int { n, _ := strconv.Atoi(mi.MethodMinPeriod); return n }

// Kind returns the JSON kind of the parameter's declared type.
func (pi ParameterInfo) Kind() JSONKind { return ParameterKind(pi.ParameterType) }

// CheckParams checks a parameter object against a method as a peer
// described it (ListAPI, RegisterAPI): the declared types, ranges and
// patterns. A description cannot say which parameters are required, so
// missing ones pass. The error is a *ParamCheckError.
func (mi MethodInfo) CheckParams(params json.RawMessage) error { return mi.checkParams(params, false) }

// CheckDeclaredParams is CheckParams that also refuses the members the
// method does not declare, but the reserved version selector (D18).
func (mi MethodInfo) CheckDeclaredParams(params json.RawMessage) error {
	return mi.checkParams(params, true)
}

func (mi MethodInfo) checkParams(params json.RawMessage, declaredOnly bool) error {
	var members []member
	if len(bytes.TrimSpace(params)) > 0 && jsonKind(params) != "null" {
		var err error
		if jsonKind(params) != "an object" || !json.Valid(params) {
			return &ParamCheckError{Reason: "parameters must be a JSON object"}
		}
		if members, err = scanObject(params); err != nil {
			return &ParamCheckError{Reason: "parameters must be a JSON object"}
		}
	}
	if declaredOnly {
		for _, m := range members {
			if m.key != VersionParam && !mi.declares(m.key) {
				return &ParamCheckError{Param: m.key, Reason: "not a parameter of " + mi.MethodName}
			}
		}
	}
	for _, p := range mi.Parameters {
		v, ok := lastMember(members, p.ParameterName)
		if !ok || jsonKind(v) == "null" {
			continue
		}
		if k := p.Kind(); !k.Matches(v) {
			return &ParamCheckError{Param: p.ParameterName, Reason: fmt.Sprintf("want %s (%s), got %s", k, p.ParameterType, jsonKind(v))}
		}
		if iv, ok, err := ParseInterval(p.ParameterValidRange); err == nil && ok {
			if x, isNum := numericValue(v); !isNum || !iv.Contains(x) {
				return &ParamCheckError{Param: p.ParameterName, Reason: "out of range " + p.ParameterValidRange}
			}
		}
		if p.ParameterValidRegExp != "" {
			if re := cachedRegexp(p.ParameterValidRegExp); re != nil && !re.MatchString(scalarText(v)) {
				return &ParamCheckError{Param: p.ParameterName, Reason: "does not match " + p.ParameterValidRegExp}
			}
		}
	}
	return nil
}

// declares reports whether the method has a parameter called name.
func (mi MethodInfo) declares(name string) bool {
	for _, p := range mi.Parameters {
		if p.ParameterName == name {
			return true
		}
	}
	return false
}

// lastMember returns the value of the last member called name (the one
// encoding/json and Java keep).
func lastMember(members []member, name string) (json.RawMessage, bool) {
	for i := len(members) - 1; i >= 0; i-- {
		if members[i].key == name {
			return members[i].value, true
		}
	}
	return nil, false
}

// regexps caches the compiled patterns of described parameters: a gateway
// checks the same few on every call. Patterns come from the upstream's
// listing, so the cache is bounded by it.
var regexps sync.Map // pattern → *regexp.Regexp, or nil for an invalid one

func cachedRegexp(pattern string) *regexp.Regexp {
	if re, ok := regexps.Load(pattern); ok {
		r, _ := re.(*regexp.Regexp)
		return r
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		re = nil // an upstream pattern Go cannot compile is not checked
	}
	regexps.Store(pattern, re)
	return re
}

// ParamCheckError reports a parameter that does not fit its declaration.
type ParamCheckError struct {
	// Param is the parameter's name; empty when the whole object is wrong.
	Param  string
	Reason string
}

func (e *ParamCheckError) Error() string { return "bridge: " + e.Detail() }

// Detail says what is wrong, for the caller that sent the parameters.
func (e *ParamCheckError) Detail() string {
	if e.Param == "" {
		return e.Reason
	}
	return "parameter " + e.Param + ": " + e.Reason
}

// ParseMethodList reads a method listing: the result of Nulstar's ListAPI
// ({"<Domain>.<Method>": {...}}) or of GetConsolidatedAPI ({"Public": {...},
// "Admin": {...}, "Private": {...}}). Entries keep their domain in the key;
// the returned infos carry the bare MethodName.
func ParseMethodList(result json.RawMessage) ([]MethodInfo, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(result, &top); err != nil {
		return nil, fmt.Errorf("bridge: method list: %w", err)
	}
	scoped := false
	for _, k := range []string{"Public", "Admin", "Private"} {
		if _, ok := top[k]; ok {
			scoped = true
		}
	}
	var out []MethodInfo
	add := func(m map[string]json.RawMessage) error {
		for key, raw := range m {
			var mi MethodInfo
			if err := json.Unmarshal(raw, &mi); err != nil {
				return fmt.Errorf("bridge: method list entry %s: %w", key, err)
			}
			if mi.MethodName == "" {
				mi.MethodName = key
				if i := lastDot(key); i >= 0 {
					mi.MethodName = key[i+1:]
				}
			}
			out = append(out, mi)
		}
		return nil
	}
	if !scoped {
		return out, add(top)
	}
	for _, k := range []string{"Public", "Admin", "Private"} {
		var m map[string]json.RawMessage
		if raw, ok := top[k]; ok && json.Unmarshal(raw, &m) == nil {
			if err := add(m); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// VersionParam is the reserved parameter that selects a method version
// (D18); every method takes it.
const VersionParam = "version"
