package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// Command is one command of a module.
type Command struct {
	// Module is the module that serves it (ledger, account, ...); empty
	// for the commands every module serves.
	Module string `json:"module,omitempty"`
	// Name is the command, as called.
	Name string `json:"name"`
	// Version is the command's version (D18).
	Version float64 `json:"version"`
	// Scope is public, admin or private.
	Scope string `json:"scope"`
	// MinEvent and MinPeriod are the subscription minimums; 0 when the
	// command declares no subscription of that kind.
	MinEvent  int `json:"minEvent,omitempty"`
	MinPeriod int `json:"minPeriod,omitempty"`
	// Params are the parameters, in declared order.
	Params []Param `json:"params"`
	// Result is the result's type; nil when not declared.
	Result *Type `json:"result,omitempty"`
	// Secret is set when the command takes a wallet password or a
	// private key: the gateway never exposes it publicly.
	Secret bool `json:"secret,omitempty"`
	// API is set when nuls-api, NULS's own public HTTP server, calls the
	// command: what NULS exposes to the public. The other public commands
	// are called by modules only.
	API bool `json:"api,omitempty"`
	// Events is set when the module raises events of the command
	// (ConnectManager.eventTrigger): an event subscription gets pushes,
	// whatever MinEvent says.
	Events bool `json:"events,omitempty"`
	// Description is set only for custom methods (ReadMethods).
	Description string `json:"description,omitempty"`
}

// Param is one parameter.
type Param struct {
	Name string `json:"name"`
	// Type is the Java type, such as int, String or List.
	Type string `json:"type"`
	// Items is the element type of a list.
	Items string `json:"items,omitempty"`
	// Range bounds a number, such as [1-65535].
	Range string `json:"range,omitempty"`
	// Pattern is the regular expression a string matches.
	Pattern string `json:"pattern,omitempty"`
	// Required is set when the parameter may not be null.
	Required bool `json:"required,omitempty"`
}

// Type is a JSON type of a result, with the Java type it comes from.
type Type struct {
	// Kind is object, array, string, integer, number, boolean or "" (any).
	Kind string `json:"kind,omitempty"`
	// Java is the declared Java type.
	Java string `json:"java,omitempty"`
	// Fields are an object's fields, by name.
	Fields map[string]*Type `json:"fields,omitempty"`
	// Items is an array's element type.
	Items *Type `json:"items,omitempty"`
}

// Provenance says where the data came from.
type Provenance struct {
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
	Generator  string `json:"generator"`
}

// File is the JSON form of the catalog.
type File struct {
	Source   Provenance `json:"source"`
	Commands []Command  `json:"commands"`
}

//go:embed nuls2.json
var nuls2 []byte

// Catalog is a set of commands by name; the highest version of a name is
// the one described.
type Catalog struct {
	source Provenance
	byName map[string]Command
}

// NULS2 returns the catalog of the nuls-v2 modules, built into the binary.
func NULS2() *Catalog {
	c, err := Parse(nuls2)
	if err != nil {
		panic("catalog: the built-in nuls2.json: " + err.Error()) // generated, tested
	}
	return c
}

// Parse reads a catalog in the File format.
func Parse(b []byte) (*Catalog, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Catalog{source: f.Source, byName: map[string]Command{}}
	for _, cmd := range f.Commands {
		c.add(cmd)
	}
	return c, nil
}

func (c *Catalog) add(cmd Command) {
	if old, ok := c.byName[cmd.Name]; !ok || cmd.Version >= old.Version {
		c.byName[cmd.Name] = cmd
	}
}

// Source says where the catalog's data came from.
func (c *Catalog) Source() Provenance { return c.source }

// Len returns the number of commands.
func (c *Catalog) Len() int { return len(c.byName) }

// Lookup returns the command called name.
func (c *Catalog) Lookup(name string) (Command, bool) {
	cmd, ok := c.byName[name]
	return cmd, ok
}

// Commands returns every command, sorted by name.
func (c *Catalog) Commands() []Command {
	out := make([]Command, 0, len(c.byName))
	for _, cmd := range c.byName {
		out = append(out, cmd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// With returns a catalog with the commands of c and of others, the later
// ones winning a name.
func (c *Catalog) With(others ...*Catalog) *Catalog {
	out := &Catalog{source: c.source, byName: make(map[string]Command, len(c.byName))}
	for _, cmd := range c.byName {
		out.byName[cmd.Name] = cmd
	}
	for _, o := range others {
		for _, cmd := range o.byName {
			out.byName[cmd.Name] = cmd
		}
	}
	return out
}

// MethodInfo describes the command as a ListAPI entry would.
func (cmd Command) MethodInfo() bridge.MethodInfo {
	mi := bridge.MethodInfo{
		MethodName: cmd.Name, MethodDescription: cmd.Description, MethodScope: cmd.Scope,
		MethodMinEvent: strconv.Itoa(cmd.MinEvent), MethodMinPeriod: strconv.Itoa(cmd.MinPeriod),
		Parameters: make([]bridge.ParameterInfo, 0, len(cmd.Params)),
	}
	for _, p := range cmd.Params {
		mi.Parameters = append(mi.Parameters, bridge.ParameterInfo{
			ParameterName: p.Name, ParameterType: p.Type, ParameterValidRange: p.Range, ParameterValidRegExp: p.Pattern,
		})
	}
	return mi
}

// Required returns the names of the parameters that may not be null.
func (cmd Command) Required() []string {
	var out []string
	for _, p := range cmd.Params {
		if p.Required {
			out = append(out, p.Name)
		}
	}
	return out
}

// ReadMethods reads a file of methods in the RegisterAPI Methods format
// (an array of {MethodName, MethodScope, MethodMinEvent, MethodMinPeriod,
// Parameters: [{ParameterName, ParameterType, ParameterValidRange,
// ParameterValidRegExp}]}), or an object {"Methods": [...]}, as a custom
// module registers them.
func ReadMethods(path string) (*Catalog, error) {
	b, err := os.ReadFile(path) //nolint:gosec // G304: the operator's file (--methods-file)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	b = bytes.TrimSpace(b)
	var list []bridge.MethodInfo
	if len(b) > 0 && b[0] == '{' {
		var reg struct{ Methods []bridge.MethodInfo }
		if err := json.Unmarshal(b, &reg); err != nil {
			return nil, fmt.Errorf("catalog: %s: %w", path, err)
		}
		list = reg.Methods
	} else if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("catalog: %s: %w", path, err)
	}
	c := &Catalog{source: Provenance{Repository: path}, byName: map[string]Command{}}
	for _, mi := range list {
		if mi.MethodName == "" {
			return nil, fmt.Errorf("catalog: %s: a method without MethodName", path)
		}
		scope := strings.ToLower(mi.MethodScope)
		if scope == "" {
			scope = bridge.ScopePublic // the RegisterAPI default of the Java modules
		}
		if !bridge.ValidScope(scope) {
			return nil, fmt.Errorf("catalog: %s: method %s: scope %q", path, mi.MethodName, mi.MethodScope)
		}
		// API: a custom module's methods are exposed as it declares them;
		// their scope is its own statement.
		cmd := Command{Name: mi.MethodName, Scope: scope, MinEvent: mi.MinEvent(), MinPeriod: mi.MinPeriod(),
			Description: mi.MethodDescription, API: true}
		for _, p := range mi.Parameters {
			cmd.Params = append(cmd.Params, Param{Name: p.ParameterName, Type: p.ParameterType, Range: p.ParameterValidRange, Pattern: p.ParameterValidRegExp})
		}
		c.add(cmd)
	}
	return c, nil
}
