package auth

import (
	"slices"
	"time"
)

// The scopes of credentials are those of NULS methods (bridge.ScopePublic,
// ...); the admin scope is also the gateway's own administration.

// Kinds of Principal.
const (
	KindAnonymous = "anonymous"
	KindKey       = "key"
	KindJWT       = "jwt"
)

// Principal is a caller as the gateway knows it.
type Principal struct {
	// ID names an authenticated caller for rate limits, fair shares and
	// the data it owns (idempotency keys, asynchronous answers): "key:<id>"
	// or "jwt:<issuer>|<subject>". It is empty for anonymous callers, whom
	// the gateway tells apart by address.
	ID string
	// Kind is KindAnonymous, KindKey or KindJWT; a stream ticket carries
	// the kind of the credential it was issued for.
	Kind string
	// Name is a key's name, for logs.
	Name string
	// Scopes are the method scopes the caller may call.
	Scopes []string
	// Methods, when not nil, are the only methods the caller may call or
	// stream.
	Methods []string
	// Plan names the caller's rate plan; empty means the default one.
	Plan string
	// Expires is when the credential stops being valid; zero when never.
	// A stream or socket opened with it ends then (Recheck).
	Expires time.Time
	// Ticket is set when the credential was a stream ticket: it may
	// follow streams, not call.
	Ticket bool
}

// Anonymous reports whether p is the anonymous caller.
func (p *Principal) Anonymous() bool { return p.Kind == KindAnonymous }

// HasScope reports whether p may call methods of scope s.
func (p *Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// AllowsMethod reports whether p's method allow-list, if any, names method.
func (p *Principal) AllowsMethod(method string) bool {
	return p.Methods == nil || slices.Contains(p.Methods, method)
}
