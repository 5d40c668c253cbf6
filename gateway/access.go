package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// protocolCommands are the module protocol's own commands, the Managers'
// (Nulstar's ServiceManager and controller, the Java kernel) and the Java
// modules' handshakes: never callable over HTTP, whatever a listing says. A
// stranger calling RegisterAPI through the gateway could take over module
// roles; the others drive the module network itself. Keys are lowercase
// (older Nulstar builds answer listapi and forwardmessage) and compared
// with the name's last dotted part (Nulstar lists "<Domain>.<Method>").
var protocolCommands = setOf(
	// The protocol's messages, in case a peer takes them for methods.
	"negotiateconnection", "negotiateconnectionresponse", "request", "response", "unsubscribe", "ack",
	"notification", "requestonly", "registercompoundmethod", "unregistercompoundmethod",
	// The Managers' commands.
	"registerapi", "getconsolidatedapi", "listapi", "forwardmessage",
	"startmodule", "stopmodule", "startallmodules", "stopallmodules", "scanmanagedmodules", "shutdownsystem",
	"checkupdates",
	// The Java modules' handshakes with one another.
	"registermoduledependencies", "listenerdependenciesready", "connectready", "paramtestcmd",
)

// kernelCommands are the RPC-TOOL kernel commands every module answers
// (D17): they stop a module or change its configuration, so they are
// callable only with the admin scope, and only when the operator allowed
// them (Config.AllowKernelCommands). With them are the network module's
// commands that change a node's peers or send to them, which a live node
// lists with the public scope (protocol vectors, ListAPI): a stranger must
// not disconnect the node or broadcast through it.
var kernelCommands = setOf("status", "shutdown", "terminate", "confget", "confset", "confreset",
	"nw_activecross", "nw_addnodes", "nw_broadcast", "nw_createnodegroup", "nw_delnodegroup", "nw_delnodes",
	"nw_protocolregister", "nw_reconnect", "nw_sendpeersmsg", "nw_updatenodeinfo")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// bareName is a method name without its domain, lowercase: the key of
// protocolCommands and kernelCommands.
func bareName(method string) string {
	if i := strings.LastIndexByte(method, '.'); i >= 0 {
		method = method[i+1:]
	}
	return strings.ToLower(method)
}

// commandKind reports whether method (a valid method name: ASCII, at most
// 128 bytes) is a command of the module protocol or of the kernel. It is
// bareName's lookup without a string for each call.
func commandKind(method string) (protocol, kernel bool) {
	if i := strings.LastIndexByte(method, '.'); i >= 0 {
		method = method[i+1:]
	}
	var buf [128]byte
	if len(method) > len(buf) {
		return false, false // longer than any command
	}
	lower := buf[:len(method)]
	for i := range len(method) {
		c := method[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return protocolCommands[string(lower)], kernelCommands[string(lower)]
}

// scopeRank orders the scopes by how much they allow: a compound method
// needs the highest scope of its children.
var scopeRank = map[string]int{auth.ScopePublic: 1, auth.ScopeAdmin: 2, auth.ScopePrivate: 3}

// access decides whether p may call method, and returns what the listing
// says of it (known is false when the upstream lists nothing). It does not
// check the parameters. Every refusal says why without telling a stranger
// more than the method list already does.
func (s *Server) access(ctx context.Context, p *auth.Principal, method string) (m bridge.MethodInfo, known bool, err error) {
	if !methodName.MatchString(method) {
		return m, false, fmt.Errorf("%w %q", errBadMethodName, method)
	}
	protocol, kernel := commandKind(method)
	if protocol {
		return m, false, fmt.Errorf("%w: %s is a command of the module protocol, never callable through the gateway", errNotCallable, method)
	}
	m, known, ok := s.listing.lookup(ctx, method)
	if kernel {
		if !s.cfg.AllowKernelCommands {
			return m, false, fmt.Errorf("%w: %s is a kernel command; the operator has not allowed them", errNotCallable, method)
		}
		return m, known && ok, s.grant(p, method, auth.ScopeAdmin)
	}
	if !ok {
		return m, known, fmt.Errorf("%w: %s", errUnknownMethod, method)
	}
	scope := ""
	if known {
		scope = m.MethodScope
	}
	if scope == "" {
		// Fail closed: a method whose scope nobody stated is not public
		// unless the operator says what it is.
		if scope = s.cfg.UnlistedScope; scope == "" {
			why := "the upstream does not list it"
			if known {
				why = "the upstream lists it without a scope"
			}
			return m, known, fmt.Errorf("%w: %s: %s, and the operator allows no unlisted methods", errNotCallable, method, why)
		}
	}
	if !s.exposed(scope) {
		return m, known, fmt.Errorf("%w: %s is %s", errNotCallable, method, scope)
	}
	return m, known, s.grant(p, method, scope)
}

// exposed reports whether the gateway exposes methods of scope at all
// (Config.Scopes).
func (s *Server) exposed(scope string) bool {
	for _, sc := range s.cfg.Scopes {
		if sc == scope {
			return true
		}
	}
	return false
}

// grant checks that p has scope and may call method: 401 for an anonymous
// caller (a credential may help), 403 for an authenticated one.
func (s *Server) grant(p *auth.Principal, method, scope string) error {
	if p.HasScope(scope) && p.AllowsMethod(method) {
		return nil
	}
	e := &accessError{method: method, scope: scope, anonymous: p.Anonymous()}
	if p.HasScope(scope) {
		e.scope = "" // the allow-list, not the scope, refused it
	}
	return e
}

// accessError is a method the caller may not call.
type accessError struct {
	method    string
	scope     string // the scope the caller lacks; empty: its method allow-list refused
	anonymous bool
}

func (e *accessError) Error() string {
	switch {
	case e.anonymous && e.scope != "":
		return e.method + " needs a credential with the " + e.scope + " scope"
	case e.anonymous:
		return e.method + " is not open to anonymous callers"
	case e.scope != "":
		return "the credential lacks the " + e.scope + " scope that " + e.method + " needs"
	}
	return "the credential may not call " + e.method
}

// compoundScope is the scope a compound method needs: the highest of its
// children's.
func (s *Server) compoundScope(c Compound) string {
	scope := auth.ScopePublic
	for _, child := range c.Methods {
		info, known, _ := s.listing.lookupCached(child.Method)
		cs := info.MethodScope
		if !known || cs == "" {
			cs = s.cfg.UnlistedScope
		}
		if scopeRank[cs] > scopeRank[scope] {
			scope = cs
		}
	}
	return scope
}
