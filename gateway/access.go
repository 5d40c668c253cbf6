package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/policy"
)

// methodName is what the gateway accepts as a NULS method name: the names of
// the real node's listing, with room for domains.
var methodName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$`)

// access decides whether p may call method, and returns what the listing
// says of it (known is false when the upstream lists nothing) and what the
// policy decided (package policy: the strictest of the listing, the catalog
// and the gateway's rules). It does not check the parameters. Every refusal
// says why without telling a stranger more than the method list already
// does.
func (s *Server) access(ctx context.Context, p *auth.Principal, method string) (m bridge.MethodInfo, known bool, d policy.Decision, err error) {
	if !methodName.MatchString(method) {
		return m, false, d, fmt.Errorf("%w %q", errBadMethodName, method)
	}
	if protocol, _ := policy.CommandKind(method); protocol {
		return m, false, d, fmt.Errorf("%w: %s is a command of the module protocol, never callable through the gateway", errNotCallable, method)
	}
	m, known, ok := s.listing.Lookup(ctx, method)
	d = s.listing.Decide(method, m, known && ok)
	switch {
	case d.Kernel && !d.Callable():
		return m, false, d, fmt.Errorf("%w: %s", errNotCallable, d.Why)
	case d.Kernel:
		// Every module answers the kernel commands, listed or not.
		return m, known && ok, d, s.grant(p, method, d.Scope)
	}
	if err := s.refusal(method, d, ok); err != nil {
		if !known && s.awaitingListing() {
			// Maybe refused for want of the listing: until the
			// upstream has listed its methods, no name is told
			// unknown (404), so that clients retry.
			return m, known, d, fmt.Errorf("%w (%s)", errNotListedYet, method)
		}
		return m, known, d, err
	}
	return m, known, d, s.grant(p, method, d.Scope)
}

// refusal is why nobody may call method through the gateway, as the
// listing (ok: the name is listed, or nothing is known) and the policy's
// decision d say; nil when somebody may.
func (s *Server) refusal(method string, d policy.Decision, ok bool) error {
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", errUnknownMethod, method)
	case !d.Callable():
		return fmt.Errorf("%w: %s", errNotCallable, d.Why)
	case !s.exposed(d.Scope) && d.Why != "":
		return fmt.Errorf("%w: %s is %s: %s", errNotCallable, method, d.Scope, d.Why)
	case !s.exposed(d.Scope):
		return fmt.Errorf("%w: %s is %s", errNotCallable, method, d.Scope)
	}
	return nil
}

// awaitingListing reports whether what may be called is not known yet: the
// upstream has never listed its methods (nor said it lists none), and it is
// not connected or has not been asked. An upstream that refused to list
// and has no catalog passes every name through (Config.UnlistedScope).
func (s *Server) awaitingListing() bool {
	return !s.listing.Known() && (!s.listing.Attempted() || s.cfg.Upstream.Ready() != nil)
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
	return s.denied(e)
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

// compoundScope is the scope a compound method needs: the strictest of its
// children's; "" when a child is not callable.
func (s *Server) compoundScope(c compound.Definition) string {
	scope := bridge.ScopePublic
	for _, child := range c.Methods {
		info, known, ok := s.listing.LookupCached(child.Method)
		scope = policy.Stricter(scope, s.listing.Decide(child.Method, info, known && ok).Scope)
	}
	return scope
}

// errSecretParam refuses parameters that carry a secret from a caller who
// may not send secrets: 403, whoever the caller.
var errSecretParam = errors.New("a parameter carries a secret (a password, a private key, a keystore, a mnemonic), which only the admin scope may send")

// checkSecretParams refuses, for a caller without the admin scope,
// parameters with a member named as a secret, at any depth: the policy
// makes the commands it knows to take one admin, and this holds for those
// it does not (a name only the upstream knows, opened by --unlisted-scope,
// whose objects hide a password).
func (s *Server) checkSecretParams(p *auth.Principal, method string, d policy.Decision, params []byte) error {
	if d.OpenSecrets || p.HasScope(bridge.ScopeAdmin) {
		return nil
	}
	if field, secret := policy.SecretField(params); secret {
		return fmt.Errorf("%w (%s): %s", errSecretParam, field, method)
	}
	return nil
}

// errSecretAnswer refuses an answer that carries a secret to a caller who
// may not read secrets: 403, whoever the caller.
var errSecretAnswer = policy.ErrSecretAnswer

// release is the last line on the way out: an answer that carries a secret
// field (policy.SecretField) reaches only callers with the admin scope.
// The policy should have kept such a method from p already; when an
// upstream answers what its method was not known to answer, the answer
// is refused and the operator told.
func (s *Server) release(p *auth.Principal, method string, answer []byte) error {
	if p.HasScope(bridge.ScopeAdmin) {
		return nil
	}
	field, secret := policy.SecretField(answer)
	if !secret {
		return nil
	}
	s.metrics.SecretWithheld()
	s.logger.Warn("an answer carrying a secret was withheld from a caller without the admin scope",
		slog.String("method", method), slog.String("field", field), slog.String("caller", p.ID))
	return fmt.Errorf("%w (%s): %s", errSecretAnswer, field, method)
}
