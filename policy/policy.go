package policy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/catalog"
)

// Config configures a Policy.
type Config struct {
	// Catalog describes the NULS 2 modules' commands (catalog.NULS2()).
	// Nil: no command is known, and every name is unlisted.
	Catalog *catalog.Catalog
	// Custom describes a custom module's methods (--methods-file): their
	// scopes are the operator's statement, within the secret rule.
	Custom *catalog.Catalog
	// Exposure is the reviewed data. Default: ReviewedExposure().
	Exposure *Exposure
	// UnlistedScope is the scope of a name neither catalog knows. Default
	// "": such a name is not callable.
	UnlistedScope string
	// Overrides set the scope of commands, replacing the reviewed one (the
	// operator opening a private command, or closing a public one). They
	// cannot lower a secret-bearing command below admin.
	Overrides map[string]string
	// AllowKernelCommands lets the kernel commands be called with the admin
	// scope. Default false: never.
	AllowKernelCommands bool
	// DevWallet opens the simulated node's wallet commands (DevWalletCommands)
	// to the public scope, their passwords included. Only for the simulated
	// node, whose keys and funds are made up: cmd/gateway refuses it with an
	// upstream.
	DevWallet bool
}

// DevWalletCommands are what Config.DevWallet opens: the simulated node's
// transfer and account creation, which the README's quick start shows.
var DevWalletCommands = []string{"ac_transfer", "ac_createAccount"}

// Policy decides the scope of each command.
type Policy struct {
	cfg     Config
	public  map[string]bool
	reads   map[string]bool // the public commands that only read
	streams map[string]bool
	dev     map[string]bool
	// folded maps the lowercase names of the catalogs' commands to
	// their names: an upstream may route Nuls.AC_TRANSFER to
	// ac_transfer (Nulstar lists "<Domain>.<Method>", and older builds
	// match in any case), so such a name is decided as the command.
	folded map[string]string
}

// New returns a Policy. It fails when an override names an unknown scope,
// or would open a command the catalog says bears a secret.
func New(cfg Config) (*Policy, error) {
	if cfg.Exposure == nil {
		cfg.Exposure = ReviewedExposure()
	}
	if cfg.UnlistedScope != "" && !bridge.ValidScope(cfg.UnlistedScope) {
		return nil, fmt.Errorf("policy: unknown unlisted scope %q", cfg.UnlistedScope)
	}
	p := &Policy{cfg: cfg, public: cfg.Exposure.publicSet(), reads: cfg.Exposure.readSet(), streams: map[string]bool{}, dev: map[string]bool{}}
	for _, s := range cfg.Exposure.Streams {
		p.streams[s] = true
	}
	p.folded = map[string]string{}
	for _, c := range []*catalog.Catalog{cfg.Catalog, cfg.Custom} {
		if c == nil {
			continue
		}
		for _, cmd := range c.Commands() {
			p.folded[strings.ToLower(cmd.Name)] = cmd.Name
		}
	}
	if cfg.DevWallet {
		for _, n := range DevWalletCommands {
			p.dev[n] = true
		}
	}
	for name, scope := range cfg.Overrides {
		if !bridge.ValidScope(scope) {
			return nil, fmt.Errorf("policy: %s: unknown scope %q", name, scope)
		}
		if scope == bridge.ScopeAdmin || scope == bridge.ScopePrivate {
			continue
		}
		if cmd, ok := p.command(name); ok && len(p.secrets(name, cmd, nil)) > 0 && !p.dev[name] {
			return nil, fmt.Errorf("policy: %s takes or answers a secret (%s): it is admin, whatever the overrides say",
				name, strings.Join(p.secrets(name, cmd, nil), ", "))
		}
	}
	return p, nil
}

// Decision is what the policy says of one command.
type Decision struct {
	// Scope is the scope a caller needs; "" when nobody may call it
	// through the gateway.
	Scope string
	// Why says why it is not callable, or why it is admin.
	Why string
	// Secrets are the parameters and answer fields that bear a secret.
	Secrets []string
	// Poll is set when the gateway may call it again and again: period
	// subscriptions, and event subscriptions it emulates.
	Poll bool
	// Events is set when the module raises the command's events (the
	// catalog's statement: latestHeight), or a custom module declares
	// event streams of it: an event stream the upstream pushes is then
	// the module's own, not the command run again.
	Events bool
	// OpenSecrets is set for the simulated node's wallet commands under
	// Config.DevWallet: their callers may send passwords without the
	// admin scope.
	OpenSecrets bool
	// Known is set when a catalog (the NULS 2 one, or the custom one)
	// describes the command.
	Known bool
	// Kernel is set for the kernel commands (status, shutdown, ...).
	Kernel bool
	// Bounds limit its parameters.
	Bounds []Bound
}

// Streamable reports whether the command may be streamed: the gateway
// polls it (period streams, emulated events), or the module raises its
// events. Even an event stream the upstream pushes runs the command once
// when it opens (the first answer at once, D10): so no stream of a
// command that is neither.
func (d Decision) Streamable() bool { return d.Poll || d.Events }

// Callable reports whether the command may be called at all.
func (d Decision) Callable() bool { return d.Scope != "" }

// CheckParams checks params against the command's bounds: a *BoundError
// when beyond.
func (d Decision) CheckParams(params json.RawMessage) error { return checkBounds(d.Bounds, params) }

// rank orders scopes by how strict they are: private (modules only) is the
// strictest.
var rank = map[string]int{bridge.ScopePublic: 1, bridge.ScopeAdmin: 2, bridge.ScopePrivate: 3}

// Stricter returns the stricter of two scopes; "" (not callable) is the
// strictest of all.
func Stricter(a, b string) string {
	if a == "" || b == "" {
		return ""
	}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Decide decides a command called name, which the upstream lists as listed
// (nil when it lists nothing of it). name is a valid method name.
func (p *Policy) Decide(name string, listed *bridge.MethodInfo) Decision {
	protocol, kernel := CommandKind(name)
	switch {
	case protocol:
		return Decision{Why: name + " is a command of the module protocol, never callable through the gateway"}
	case kernel:
		if !p.cfg.AllowKernelCommands {
			return Decision{Kernel: true, Why: name + " is a kernel command; the operator has not allowed them"}
		}
		return Decision{Scope: bridge.ScopeAdmin, Kernel: true, Why: name + " is a kernel command"}
	}
	if canon, ok := p.folded[BareName(name)]; ok {
		name = canon
	}
	d := Decision{Bounds: p.cfg.Exposure.Bounds[name]}
	cmd, known := p.command(name)
	d.Known = known
	custom := false
	if p.cfg.Custom != nil {
		_, custom = p.cfg.Custom.Lookup(name)
	}
	// The gateway's own rule.
	switch {
	case custom:
		d.Scope = cmd.Scope
		d.Poll = cmd.MinPeriod > 0 || cmd.MinEvent > 0
		d.Events = cmd.MinEvent > 0
	case known:
		d.Scope, d.Why = bridge.ScopePrivate, name+" is not among the commands the gateway opens to the public"
		if p.public[name] {
			d.Scope, d.Why = bridge.ScopePublic, ""
			d.Poll = p.streams[name]
			d.Events = cmd.Events
		}
	default:
		d.Scope = p.cfg.UnlistedScope
		why := "the catalog does not know it"
		if listed == nil {
			why = "neither the upstream nor the catalog lists it"
		}
		d.Why = name + ": " + why + ", and the operator allows no unlisted methods"
	}
	if scope, ok := p.cfg.Overrides[name]; ok {
		d.Scope, d.Why = scope, ""
	}
	secrets := p.secrets(name, cmd, listed)
	if len(secrets) > 0 && d.Scope != "" {
		// A secret makes it admin, whoever says otherwise: the reviewed
		// data, the operator, the catalog, the upstream; only a stricter
		// scope than admin stays.
		switch {
		case p.dev[name]:
			d.Scope, d.OpenSecrets = bridge.ScopePublic, true
		case d.Scope == bridge.ScopePublic || d.Scope == bridge.ScopePrivate && !p.explicit(name):
			d.Scope = bridge.ScopeAdmin
		}
	}
	// What the catalog and the upstream say can only tighten it.
	if known && cmd.Scope != "" {
		d.Scope = Stricter(d.Scope, cmd.Scope)
	}
	if listed != nil && listed.MethodScope != "" {
		listedScope := strings.ToLower(listed.MethodScope)
		if !bridge.ValidScope(listedScope) {
			listedScope = bridge.ScopePrivate // a scope nobody knows: fail closed
		}
		d.Scope = Stricter(d.Scope, listedScope)
	}
	if d.Secrets = secrets; len(secrets) > 0 {
		d.Poll, d.Events = false, false
		if !p.dev[name] {
			d.Why = name + " takes or answers a secret (" + strings.Join(secrets, ", ") + ")"
		}
	}
	if d.Scope != bridge.ScopePublic && d.Scope != "" && !custom {
		// The gateway polls only the reviewed public reads, and a custom
		// module's methods as it declares them.
		d.Poll, d.Events = false, false
	}
	return d
}

// ReadOnly reports whether a command only reads the chain: one of the
// reviewed public reads. Every other command, whatever its scope (a signed
// transaction, the wallet's, a custom module's, one nobody reviewed), may
// change state: a gateway in front of several nodes never sends it twice.
func (p *Policy) ReadOnly(name string) bool {
	if canon, ok := p.folded[BareName(name)]; ok {
		name = canon
	}
	return p.reads[name]
}

// explicit reports whether the operator or a custom module set name's
// scope: a private scope so set stays private; the reviewed data's private
// default gives way to admin for a secret-bearing command.
func (p *Policy) explicit(name string) bool {
	if _, ok := p.cfg.Overrides[name]; ok {
		return true
	}
	if p.cfg.Custom != nil {
		if _, ok := p.cfg.Custom.Lookup(name); ok {
			return true
		}
	}
	return false
}

// command returns what a catalog says of name: the custom one first.
func (p *Policy) command(name string) (catalog.Command, bool) {
	if p.cfg.Custom != nil {
		if cmd, ok := p.cfg.Custom.Lookup(name); ok {
			return cmd, true
		}
	}
	if p.cfg.Catalog != nil {
		return p.cfg.Catalog.Lookup(name)
	}
	return catalog.Command{}, false
}

// secrets lists what of a command bears a secret: the catalog's statement
// (a parameter, or an object one takes, with a password or a key), its
// answer fields, the reviewed answers, and the names of the parameters the
// upstream lists.
func (p *Policy) secrets(name string, cmd catalog.Command, listed *bridge.MethodInfo) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	cmds := []catalog.Command{cmd}
	if p.cfg.Catalog != nil {
		// A custom definition of a NULS 2 command's name does not hide
		// what the NULS 2 command takes and answers.
		if nuls, ok := p.cfg.Catalog.Lookup(name); ok {
			cmds = append(cmds, nuls)
		}
	}
	for _, cmd := range cmds {
		objects := cmd.Secret
		for _, prm := range cmd.Params {
			if SecretName(prm.Name) {
				add("parameter " + prm.Name)
				objects = false
			}
		}
		if objects {
			add("a parameter's objects")
		}
		fields := secretFields(cmd.Result, "", nil)
		sort.Strings(fields)
		for _, f := range fields {
			add("answer " + f)
		}
	}
	if why, ok := p.cfg.Exposure.SecretAnswers[name]; ok {
		add("answer: " + why)
	}
	if listed != nil {
		for _, prm := range listed.Parameters {
			if SecretName(prm.ParameterName) {
				add("parameter " + prm.ParameterName)
			}
		}
	}
	return out
}

// Streamable reports whether the reviewed data lets the gateway poll name.
func (p *Policy) Streamable(name string) bool { return p.streams[name] }
