package compound

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"unicode/utf8"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// Definition is a compound method (D14): its child methods run in order,
// each with the caller's parameters renamed through its aliases.
type Definition struct {
	// Name of the virtual method, called with POST /rpc/{name}.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Methods are the children, in execution order.
	Methods []Child `json:"methods"`
} //	@name	gateway.Compound

// Child is one child method and its parameter aliases.
type Child struct {
	Method string `json:"method"`
	// Params maps each child parameter to the name the caller uses for it
	// (the NULS CompoundMethods form {"param": "alias"}).
	Params map[string]string `json:"params,omitempty"`
} //	@name	gateway.CompoundChild

// Bounds of one compound method: they are kept by every instance,
// described in every OpenAPI document and announced to the Manager.
const (
	MaxBytes       = 16 << 10
	MaxChildren    = 16
	maxParams      = 32 // per child
	maxDescription = 1024
)

// paramName is what a compound method accepts as a parameter or an alias.
var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// InvalidError is a definition that cannot be kept: the caller's fault.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "compound: " + e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// Decode reads a definition strictly: known fields only, one JSON value
// and nothing after it.
func Decode(body []byte) (Definition, error) {
	var c Definition
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, invalid("malformed compound method: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return c, invalid("malformed compound method: data after the JSON object")
	}
	return c, nil
}

// Validate checks a definition's shape: children, sizes, names, aliases.
// An alias may feed several parameters (chainId and assetChainId, say) but
// only of one type: an alias feeding an integer and a string collides.
// child returns what a child method declares (its parameters, to type the
// aliases), or the reason it may not be a child.
func (c Definition) Validate(child func(method string) (bridge.MethodInfo, error)) error {
	switch {
	case len(c.Methods) == 0:
		return invalid("a compound method needs child methods")
	case len(c.Methods) > MaxChildren:
		return invalid("a compound method has at most %d children", MaxChildren)
	case utf8.RuneCountInString(c.Description) > maxDescription:
		return invalid("the description is longer than %d characters", maxDescription)
	}
	aliasKind := map[string]bridge.JSONKind{}
	seen := map[string]bool{}
	for _, ch := range c.Methods {
		if seen[ch.Method] {
			return invalid("child method %s appears twice", ch.Method)
		}
		seen[ch.Method] = true
		info, err := child(ch.Method)
		if err != nil {
			return fmt.Errorf("child method %s: %w", ch.Method, err)
		}
		if len(ch.Params) > maxParams {
			return invalid("child method %s: at most %d parameters", ch.Method, maxParams)
		}
		for param, alias := range ch.Params {
			if !paramName.MatchString(alias) || !paramName.MatchString(param) {
				return invalid("child method %s: parameters and aliases are names of letters, digits and _", ch.Method)
			}
			kind := declaredKind(info, param)
			if prev, ok := aliasKind[alias]; ok && prev != kind && prev != bridge.KindAny && kind != bridge.KindAny {
				return invalid("alias %s collides: it names parameters of types %s and %s", alias, prev, kind)
			}
			if kind != bridge.KindAny || aliasKind[alias] == bridge.KindAny {
				aliasKind[alias] = kind
			}
		}
	}
	return nil
}

func declaredKind(m bridge.MethodInfo, param string) bridge.JSONKind {
	for _, p := range m.Parameters {
		if p.ParameterName == param {
			return p.Kind()
		}
	}
	return bridge.KindAny
}

// Info describes a compound method like an upstream one, in scope: its
// parameters are its aliases, typed by the child parameters they feed, and
// the children's declared parameters that no alias feeds, which the caller
// passes under their own names (Child.Arguments). child returns what a child
// declares.
func (c Definition) Info(scope string, child func(method string) bridge.MethodInfo) bridge.MethodInfo {
	mi := bridge.MethodInfo{
		MethodName: c.Name, MethodDescription: c.Description, MethodMinEvent: "0", MethodMinPeriod: "0",
		MethodScope: scope, Parameters: []bridge.ParameterInfo{},
	}
	seen := map[string]bool{}
	add := func(name string, typed bridge.ParameterInfo) {
		if seen[name] {
			return
		}
		seen[name] = true
		typed.ParameterName = name
		mi.Parameters = append(mi.Parameters, typed)
	}
	for _, ch := range c.Methods {
		info := child(ch.Method)
		declared := map[string]bridge.ParameterInfo{}
		for _, p := range info.Parameters {
			declared[p.ParameterName] = p
		}
		aliases := make([]string, 0, len(ch.Params))
		byAlias := map[string]string{}
		for param, alias := range ch.Params {
			aliases = append(aliases, alias)
			byAlias[alias] = param
		}
		sort.Strings(aliases)
		for _, alias := range aliases {
			add(alias, declared[byAlias[alias]])
		}
		for _, p := range info.Parameters {
			if _, aliased := ch.Params[p.ParameterName]; !aliased {
				add(p.ParameterName, p)
			}
		}
	}
	return mi
}

// Arguments are the parameters of one child, from the caller's: each
// alias's value under the child's name for it, and each parameter the
// child declares (info) that no alias feeds, under its own name.
func (ch Child) Arguments(caller map[string]json.RawMessage, info bridge.MethodInfo) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for param, alias := range ch.Params {
		if v, ok := caller[alias]; ok {
			out[param] = v
		}
	}
	for _, p := range info.Parameters {
		if _, aliased := ch.Params[p.ParameterName]; aliased {
			continue
		}
		if v, ok := caller[p.ParameterName]; ok {
			out[p.ParameterName] = v
		}
	}
	return out
}
