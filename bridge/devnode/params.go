package devnode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// param declares a parameter as the real node does (name, Java type, valid
// range, copied from its ListAPI), plus whether we require it.
func param(name, javaType, validRange string, required bool) bridge.Parameter {
	return bridge.Parameter{Name: name, Type: javaType, ValidRange: validRange, Required: required}
}

// javaLenient returns m as the devnode serves it, and its parameters as the
// real node declares them (for ListAPI). bridge refuses a value whose JSON
// kind does not match the declared type before the handler runs, but the
// Java ledger reads its booleans with Boolean.valueOf(value.toString()): a
// live node answered getNonce with "isConfirmed": 1 (captured traffic). So
// boolean parameters are served untyped, and flexBool reads them as Java
// does.
func javaLenient(m bridge.Method) (bridge.Method, []bridge.ParameterInfo) {
	declared := make([]bridge.ParameterInfo, 0, len(m.Parameters))
	served := make([]bridge.Parameter, 0, len(m.Parameters))
	for _, p := range m.Parameters {
		declared = append(declared, bridge.ParameterInfo{
			ParameterName: p.Name, ParameterType: p.Type, ParameterValidRange: p.ValidRange, ParameterValidRegExp: p.ValidRegExp,
		})
		if bridge.ParameterKind(p.Type) == bridge.KindBoolean {
			p.Type = ""
		}
		served = append(served, p)
	}
	m.Parameters = served
	return m, declared
}

// flexInt is an integer parameter that may arrive as a JSON number or as a
// string of digits (the bridge's type check lets both through for int).
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (v *flexInt) UnmarshalJSON(b []byte) error {
	s, err := scalar(b)
	if err != nil || s == "" {
		return err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*v = flexInt(n)
	return nil
}

// amount is a BigInteger parameter: a JSON number or a string of digits.
type amount struct{ *big.Int }

// UnmarshalJSON implements json.Unmarshaler.
func (a *amount) UnmarshalJSON(b []byte) error {
	s, err := scalar(b)
	if err != nil || s == "" {
		return err
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return fmt.Errorf("not an integer amount: %s", b)
	}
	a.Int = n
	return nil
}

// scalar returns the text of a JSON number or string, "" for null.
func scalar(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return "", nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	return string(b), nil
}

// flexBool is a boolean parameter: Java reads isConfirmed with
// Boolean.valueOf(value.toString()), so true, "true" (any case) are true and
// everything else false.
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (v *flexBool) UnmarshalJSON(b []byte) error {
	s, err := scalar(b)
	if err != nil {
		return err
	}
	*v = flexBool(len(s) == 4 && (s[0]|0x20) == 't' && (s[1]|0x20) == 'r' && (s[2]|0x20) == 'u' && (s[3]|0x20) == 'e')
	return nil
}

// chainParams is the parameter every chain method has.
type chainParams struct {
	ChainID flexInt `json:"chainId"`
}
