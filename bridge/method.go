package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Scope says who may call a method (RegisterAPI MethodScope): public methods
// are for other modules and external applications, private ones for other
// modules only, admin ones for external administrators.
type Scope string

// The method scopes of the protocol: the project's one set. They are
// untyped, so that they serve as a Scope and as the plain strings of
// listings, credentials and policies alike.
const (
	ScopePublic  = "public"
	ScopePrivate = "private"
	ScopeAdmin   = "admin"
)

// ValidScope reports whether s is one of the three scopes.
func ValidScope[S ~string](s S) bool {
	return s == ScopePublic || s == ScopeAdmin || s == ScopePrivate
}

// HandlerFunc answers one method call. It returns the result, which is
// marshalled to JSON (a json.RawMessage is sent as is), or an error: an
// *RPCError is sent with its status, code and comment; any other error is
// sent as status 65536, code err_0002 and the error text as comment.
type HandlerFunc func(ctx context.Context, call *Call) (any, error)

// Parameter declares one parameter of a method. Declared parameters are
// checked before the handler runs.
type Parameter struct {
	Name string
	// Type is the Java type name NULS uses: int, short, byte, long,
	// BigInteger, double, float, BigDecimal, boolean, String, List, Map or
	// Object. A value of another JSON type is refused; an unknown name is
	// not checked.
	Type string
	// ValidRange bounds a numeric value, as "[1,65535]", "[1-65535]" or
	// "(0, )". Empty: no bound.
	ValidRange string
	// ValidRegExp must match the whole value (numbers as their literal).
	// Empty: no pattern.
	ValidRegExp string
	// Required makes a missing or null value an error.
	Required bool
}

// Method declares a method a Module serves.
type Method struct {
	Name        string
	Description string
	// Version is "major.minor"; default "1.0" (D18).
	Version string
	// PreCompatible says this version also answers callers asking for an
	// earlier version of the same major (D18).
	PreCompatible bool
	// Scope defaults to public.
	Scope Scope
	// MinEvent > 0 allows event subscriptions with a counter of at least
	// MinEvent; 0 forbids them.
	MinEvent int
	// MinPeriod > 0 allows period subscriptions of at least MinPeriod
	// seconds; 0 forbids them.
	MinPeriod  int
	Parameters []Parameter
	Handler    HandlerFunc
	// TrustedOnly answers the method only to Requests that arrive on a
	// trusted connection (Peer.Trusted: the Manager link, see
	// ModuleConfig.TrustAccepted), directly or as a compound method's
	// child. To any other connection it does not exist: "Cmd not found"
	// (err_0021), and the refusal is logged. The kernel commands are
	// trusted-only: they stop the module or change its configuration.
	TrustedOnly bool
}

// Call is one invocation of a method, as its handler sees it.
type Call struct {
	// Method is the name called.
	Method string
	// Version is the version of the handler that answers.
	Version string
	// Params is the JSON object of parameters ({} when none were sent).
	Params json.RawMessage
	// Peer is the connection the Request arrived on; nil when the call is
	// internal (a child of a compound method run by the module itself).
	Peer *Peer

	params     map[string]json.RawMessage
	afterReply func()
}

// Param returns the raw value of one parameter and whether it is present
// and not null.
func (c *Call) Param(name string) (json.RawMessage, bool) {
	if c.params == nil {
		_ = json.Unmarshal(c.Params, &c.params)
	}
	v, ok := c.params[name]
	if !ok || jsonKind(v) == "null" {
		return nil, false
	}
	return v, true
}

// Bind unmarshals the parameters into v.
func (c *Call) Bind(v any) error {
	if err := json.Unmarshal(c.Params, v); err != nil {
		return ParamError(CodeParameterError, "Param wrong format: "+err.Error())
	}
	return nil
}

// AfterReply runs f once the Response to this call is queued: the kernel
// commands use it to stop only after saying they will.
func (c *Call) AfterReply(f func()) { c.afterReply = f }

// Fail returns the error a handler returns for a business failure: status
// 65536 with a module error code such as "ac_0001", as a Java module sends.
func Fail(code, comment string) *RPCError {
	return &RPCError{Status: StatusFailed, Code: code, Comment: comment}
}

// ParamError returns a parameter failure with a Java error code.
func ParamError(code, comment string) *RPCError { return Fail(code, comment) }

// version is a parsed "major.minor".
type version struct{ major, minor int }

func parseVersion(s string) (version, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return version{}, errors.New("empty version")
	}
	maj, minor, _ := strings.Cut(s, ".")
	if i := strings.IndexByte(minor, '.'); i >= 0 {
		minor = minor[:i]
	}
	a, err := strconv.Atoi(maj)
	if err != nil || a < 0 {
		return version{}, fmt.Errorf("bad version %q", s)
	}
	b := 0
	if minor != "" {
		if b, err = strconv.Atoi(minor); err != nil || b < 0 {
			return version{}, fmt.Errorf("bad version %q", s)
		}
	}
	return version{a, b}, nil
}

func (v version) less(w version) bool {
	return v.major < w.major || (v.major == w.major && v.minor < w.minor)
}

func (v version) String() string { return strconv.Itoa(v.major) + "." + strconv.Itoa(v.minor) }

// registered is a Method ready to be called: its version parsed and its
// parameter checks compiled.
type registered struct {
	Method
	ver    version
	checks []paramCheck
}

type paramCheck struct {
	Parameter
	kind   JSONKind
	iv     Interval
	hasIv  bool
	regexp *regexp.Regexp
}

func compileMethod(m Method) (*registered, error) {
	if m.Name == "" || strings.ContainsAny(m.Name, " \t\r\n") {
		return nil, fmt.Errorf("bridge: method name %q", m.Name)
	}
	if m.Handler == nil {
		return nil, fmt.Errorf("bridge: method %s: no handler", m.Name)
	}
	if m.Version == "" {
		m.Version = "1.0"
	}
	if m.Scope == "" {
		m.Scope = ScopePublic
	}
	if m.MinEvent < 0 || m.MinPeriod < 0 {
		return nil, fmt.Errorf("bridge: method %s: negative MinEvent or MinPeriod", m.Name)
	}
	v, err := parseVersion(m.Version)
	if err != nil {
		return nil, fmt.Errorf("bridge: method %s: %w", m.Name, err)
	}
	r := &registered{Method: m, ver: v}
	for _, p := range m.Parameters {
		pc := paramCheck{Parameter: p, kind: ParameterKind(p.Type)}
		if pc.iv, pc.hasIv, err = ParseInterval(p.ValidRange); err != nil {
			return nil, fmt.Errorf("bridge: method %s parameter %s: %w", m.Name, p.Name, err)
		}
		if p.ValidRegExp != "" {
			if pc.regexp, err = regexp.Compile(`^(?:` + p.ValidRegExp + `)$`); err != nil {
				return nil, fmt.Errorf("bridge: method %s parameter %s: %w", m.Name, p.Name, err)
			}
		}
		r.checks = append(r.checks, pc)
	}
	return r, nil
}

// checkParams validates params against the declared parameters, with the
// comments and codes of the Java modules (docs/protocol.md#response).
func (r *registered) checkParams(params map[string]json.RawMessage) *RPCError {
	for _, pc := range r.checks {
		v, ok := params[pc.Name]
		if !ok || jsonKind(v) == "null" {
			if pc.Required {
				return ParamError(CodeParameterError, "Param null:"+pc.Name)
			}
			continue
		}
		if !pc.kind.Matches(v) {
			// What Java answers when a handler's cast fails
			// (docs/protocol.md#java).
			return ParamError(CodeServerError, "Server-side processing failed! Param wrong type:"+pc.Name)
		}
		if pc.hasIv {
			x, isNum := numericValue(v)
			if !isNum || !pc.iv.Contains(x) {
				return ParamError(CodeParameterError, "Param wrong range:"+pc.Name)
			}
		}
		if pc.regexp != nil && !pc.regexp.MatchString(scalarText(v)) {
			return ParamError(CodeParameterError, "Param wrong format:"+pc.Name)
		}
	}
	return nil
}

// scalarText is a value as a regexp sees it: a string's content, or the
// JSON text of anything else.
func scalarText(v json.RawMessage) string {
	if jsonKind(v) == "a string" {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

// JSONKind is the JSON type a declared Java parameter type maps to.
type JSONKind string

// The JSON kinds of parameters. KindAny accepts every value.
const (
	KindInteger JSONKind = "integer"
	KindNumber  JSONKind = "number"
	KindBoolean JSONKind = "boolean"
	KindString  JSONKind = "string"
	KindArray   JSONKind = "array"
	KindObject  JSONKind = "object"
	KindAny     JSONKind = ""
)

// ParameterKind maps a Java type name of a NULS method declaration (as
// ListAPI and RegisterAPI give it) to the JSON kind its values have.
func ParameterKind(javaType string) JSONKind {
	t := strings.TrimSpace(javaType)
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:] // java.lang.String → String
	}
	lower := strings.ToLower(t)
	switch {
	case strings.HasSuffix(t, "[]"), strings.HasPrefix(lower, "list"), strings.HasPrefix(lower, "set"), lower == "array", lower == "collection":
		return KindArray
	case strings.HasPrefix(lower, "map"):
		return KindObject
	}
	switch lower {
	case "int", "integer", "short", "byte", "long":
		return KindInteger
	case "biginteger":
		return KindInteger // also sent as a string of digits, see Matches
	case "double", "float", "bigdecimal", "number":
		return KindNumber
	case "boolean", "bool":
		return KindBoolean
	case "string", "char", "character", "qstring": // QString: Nulstar's C++ declarations
		return KindString
	}
	return KindAny
}

// Matches reports whether the JSON value v is of kind k. Integers must have
// no fraction; big numbers may be sent as strings of digits, as NULS amounts
// often are.
func (k JSONKind) Matches(v json.RawMessage) bool {
	got := jsonKind(v)
	switch k {
	case KindAny:
		return true
	case KindInteger:
		if got == "a string" {
			var s string
			_ = json.Unmarshal(v, &s)
			_, ok := new(big.Int).SetString(s, 10)
			return ok
		}
		if got != "a number" {
			return false
		}
		if !bytes.ContainsAny(v, ".eE") {
			return true // digits only: the usual case, without big.Float
		}
		f, ok := new(big.Float).SetString(string(v))
		return ok && f.IsInt()
	case KindNumber:
		if got == "a string" {
			var s string
			_ = json.Unmarshal(v, &s)
			f, err := strconv.ParseFloat(s, 64)
			return err == nil && !math.IsInf(f, 0)
		}
		return got == "a number"
	case KindBoolean:
		return got == "a boolean"
	case KindString:
		return got == "a string"
	case KindArray:
		return got == "an array"
	case KindObject:
		return got == "an object"
	}
	return true
}

// methodTable holds every version of every method. It is not safe for
// concurrent use; Module guards it.
type methodTable map[string][]*registered // ascending by version

func (t methodTable) add(r *registered) error {
	for _, old := range t[r.Name] {
		if old.ver == r.ver {
			return fmt.Errorf("bridge: method %s version %s registered twice", r.Name, r.ver)
		}
	}
	vs := append(t[r.Name], r)
	sort.Slice(vs, func(i, j int) bool { return vs[i].ver.less(vs[j].ver) })
	t[r.Name] = vs
	return nil
}

// find selects the handler for a call (D18). With no requested version the
// highest one answers. Otherwise, among the versions of the same major at
// least as high as the one requested, the lowest answers unless higher ones
// declare themselves pre-compatible, in which case the highest of the
// unbroken pre-compatible run does (the rule of the Java RPC library).
func (t methodTable) find(name, requested string) *registered {
	vs := t[name]
	if len(vs) == 0 {
		return nil
	}
	if strings.TrimSpace(requested) == "" {
		return vs[len(vs)-1]
	}
	want, err := parseVersion(requested)
	if err != nil {
		return nil
	}
	var found *registered
	for _, r := range vs {
		if r.ver.major != want.major || r.ver.less(want) {
			continue
		}
		if found == nil {
			found = r
		} else if r.PreCompatible {
			found = r
		} else {
			break
		}
	}
	return found
}
