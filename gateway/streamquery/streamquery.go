package streamquery

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// Error is a malformed stream query.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func bad(msg string) error { return &Error{msg: msg} }

// reserved are the query keys of a stream that are not method parameters.
var reserved = map[string]bool{"params": true, "eventCounter": true, "period": true, "range": true, "lastEventId": true, auth.TicketQuery: true}

// Mode is a stream's subscription mode.
type Mode struct {
	// EventCounter pushes every N events; Period every N seconds. At
	// least one is set: a query naming neither asks for every event.
	EventCounter, Period int
	// Range filters the pushes (bridge.ParseInterval).
	Range string
}

// ParseMode reads the mode of q.
func ParseMode(q url.Values) (Mode, error) {
	var m Mode
	var err error
	if m.EventCounter, err = nonNegative(q, "eventCounter"); err != nil {
		return m, err
	}
	if m.Period, err = nonNegative(q, "period"); err != nil {
		return m, err
	}
	if m.EventCounter == 0 && m.Period == 0 {
		m.EventCounter = 1
	}
	m.Range = q.Get("range")
	if _, _, err := bridge.ParseInterval(m.Range); err != nil {
		return m, bad("range: " + err.Error())
	}
	return m, nil
}

// CheckMode refuses a mode the listed method does not offer: a period
// subscription re-runs its method every period, an event one at each
// event, so only methods that declare them may be streamed (a period stream
// of a method that changes state would repeat it).
func CheckMode(info bridge.MethodInfo, m Mode) error {
	if m.Period > 0 {
		switch minPeriod := info.MinPeriod(); {
		case minPeriod <= 0:
			return bad(info.MethodName + " offers no period subscriptions")
		case m.Period < minPeriod:
			return bad(fmt.Sprintf("period: %s allows a period of %d seconds or more", info.MethodName, minPeriod))
		}
	}
	if m.EventCounter > 0 {
		switch minEvent := info.MinEvent(); {
		case minEvent <= 0:
			return bad(info.MethodName + " offers no event subscriptions")
		case m.EventCounter < minEvent:
			return bad(fmt.Sprintf("eventCounter: %s allows %d or more", info.MethodName, minEvent))
		}
	}
	return nil
}

func nonNegative(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, bad(name + " must be a non-negative integer")
	}
	return n, nil
}

// Params builds the parameter object of a stream: the params query as
// JSON, or each other query key typed by the method's declaration (info,
// when known).
func Params(q url.Values, info bridge.MethodInfo, known bool) (json.RawMessage, error) {
	if p := q.Get("params"); p != "" {
		raw := json.RawMessage(strings.TrimSpace(p))
		if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
			return nil, bad("params must be a JSON object")
		}
		return raw, nil
	}
	kinds := map[string]bridge.JSONKind{}
	if known {
		for _, p := range info.Parameters {
			kinds[p.ParameterName] = p.Kind()
		}
	}
	obj := map[string]json.RawMessage{}
	for name, values := range q {
		if reserved[name] {
			continue
		}
		v, err := typedValue(name, values, kinds[name])
		if err != nil {
			return nil, err
		}
		obj[name] = v
	}
	b, _ := json.Marshal(obj)
	return b, nil
}

// typedValue turns query values into the JSON value of a declared kind.
func typedValue(name string, values []string, kind bridge.JSONKind) (json.RawMessage, error) {
	v := values[0]
	not := func(want string) error { return bad(fmt.Sprintf("query %s: %q is not %s", name, v, want)) }
	switch kind {
	case bridge.KindInteger:
		if _, ok := new(big.Int).SetString(v, 10); !ok {
			return nil, not("an integer")
		}
		return json.RawMessage(v), nil
	case bridge.KindNumber:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, not("a number")
		}
		return json.Marshal(f)
	case bridge.KindBoolean:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, not("a boolean")
		}
		return json.Marshal(b)
	case bridge.KindString:
		return json.Marshal(v)
	case bridge.KindArray:
		if strings.HasPrefix(strings.TrimSpace(v), "[") {
			if !json.Valid([]byte(v)) {
				return nil, not("a JSON array")
			}
			return json.RawMessage(v), nil
		}
		return json.Marshal(values) // repeated keys: a list of strings
	case bridge.KindObject:
		if !json.Valid([]byte(v)) || !strings.HasPrefix(strings.TrimSpace(v), "{") {
			return nil, not("a JSON object")
		}
		return json.RawMessage(v), nil
	}
	// Undeclared: JSON when it parses (numbers, booleans), text otherwise.
	if json.Valid([]byte(v)) {
		return json.RawMessage(v), nil
	}
	return json.Marshal(v)
}
