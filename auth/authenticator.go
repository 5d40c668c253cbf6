package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// HeaderAPIKey is the header an API key can come in, besides Authorization.
const HeaderAPIKey = "X-API-Key" //nolint:gosec // G101: a header's name, not a credential

// AnonymousPolicy says what callers without a credential may do.
type AnonymousPolicy struct {
	// Scopes are the scopes they may call; empty: anonymous callers are
	// refused (ErrNoCredential).
	Scopes []string
	// Methods, when not nil, are the only methods they may call.
	Methods []string
	// Plan names their rate plan (applied per address).
	Plan string
}

// Config configures an Authenticator. The zero value admits nobody.
type Config struct {
	// Keys are the API key stores, asked in order.
	Keys []KeyStore
	// JWT, when set, accepts JWTs.
	JWT *JWTConfig
	// Anonymous is the policy for requests without a credential.
	Anonymous AnonymousPolicy
	// Tickets configures stream tickets.
	Tickets TicketConfig
}

// Authenticator turns a request's credential into a Principal.
type Authenticator struct {
	keys      []KeyStore
	jwt       *jwtVerifier
	anonymous *Principal
	tickets   *Tickets
	logger    *slog.Logger
}

// New checks cfg and returns an Authenticator; Run keeps its key file and
// JWKS current.
func New(cfg Config, logger *slog.Logger) (*Authenticator, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{keys: slices.Clone(cfg.Keys), logger: logger}
	if cfg.JWT != nil {
		v, err := newJWTVerifier(*cfg.JWT, logger)
		if err != nil {
			return nil, err
		}
		a.jwt = v
	}
	for _, s := range cfg.Anonymous.Scopes {
		if !bridge.ValidScope(s) {
			return nil, errors.New("auth: unknown anonymous scope " + s)
		}
	}
	if len(cfg.Anonymous.Scopes) > 0 {
		a.anonymous = &Principal{Kind: KindAnonymous, Scopes: slices.Clone(cfg.Anonymous.Scopes), Plan: cfg.Anonymous.Plan}
		if cfg.Anonymous.Methods != nil {
			a.anonymous.Methods = slices.Clone(cfg.Anonymous.Methods)
		}
	}
	t, err := newTickets(cfg.Tickets)
	if err != nil {
		return nil, err
	}
	a.tickets = t
	return a, nil
}

// Open returns an Authenticator that lets every caller in anonymously with
// the public scope: the gateway's embedded default.
func Open() *Authenticator {
	a, err := New(Config{Anonymous: AnonymousPolicy{Scopes: []string{bridge.ScopePublic}}}, nil)
	if err != nil {
		panic(err) // a constant configuration
	}
	return a
}

// Run keeps the key files and the JWKS current until ctx ends, or until a
// key store's Run fails: then it stops the others and returns that error.
// With nothing to keep current it returns nil at once.
func (a *Authenticator) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, s := range a.keys {
		if r, ok := s.(interface{ Run(context.Context) error }); ok {
			g.Go(func() error { return r.Run(ctx) })
		}
	}
	if a.jwt != nil {
		g.Go(func() error { a.jwt.run(ctx); return nil })
	}
	return g.Wait()
}

// AllowsAnonymous reports whether callers without a credential may call
// method, of scope.
func (a *Authenticator) AllowsAnonymous(method, scope string) bool {
	return a.anonymous != nil && a.anonymous.HasScope(scope) && a.anonymous.AllowsMethod(method)
}

// Authenticate returns the caller of r, from its Authorization or X-API-Key
// header. Errors: ErrNoCredential, *Error (refused credential),
// ErrUnavailable.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	cred, err := headerCredential(r)
	if err != nil {
		return nil, err
	}
	if r.URL.Query().Has(TicketQuery) {
		// A ticket opens streams only. Refused rather than ignored: the
		// caller meant it as its credential, and a credential present
		// but not good here is never taken for none. (The cookie is not
		// looked at: a browser sends it with every request of the site,
		// also the anonymous calls of a page.)
		return nil, errTicketNotForCalls
	}
	if cred == "" {
		return a.anonymousPrincipal()
	}
	return a.check(r.Context(), cred)
}

// errTicketNotForCalls refuses a stream ticket given to a route that calls.
var errTicketNotForCalls = &Error{Code: "invalid_request", Reason: ReasonInvalidTicket,
	Description: "a stream ticket opens streams and subscriptions only; call with the API key or JWT it was issued for"}

// AuthenticateStream is Authenticate for stream routes, which also take a
// stream ticket: the ticket query parameter, or the ticket cookie.
func (a *Authenticator) AuthenticateStream(r *http.Request) (*Principal, error) {
	cred, err := headerCredential(r)
	if err != nil || cred != "" {
		if err != nil {
			return nil, err
		}
		return a.check(r.Context(), cred)
	}
	ticket := r.URL.Query().Get(TicketQuery)
	if ticket == "" {
		if c, err := r.Cookie(TicketCookie); err == nil {
			ticket = c.Value
		}
	}
	if ticket == "" {
		return a.anonymousPrincipal()
	}
	p, err := a.tickets.verify(r.Context(), ticket)
	if err != nil {
		return nil, err
	}
	// The ticket is signed, but its credential may have been revoked
	// since it was issued.
	if err := a.Recheck(r.Context(), []*Principal{p}, time.Now())[0]; err != nil {
		return nil, err
	}
	return p, nil
}

// IssueTicket signs a stream ticket for p.
func (a *Authenticator) IssueTicket(ctx context.Context, p *Principal) (Ticket, error) {
	return a.tickets.Issue(ctx, p)
}

func (a *Authenticator) anonymousPrincipal() (*Principal, error) {
	if a.anonymous == nil {
		return nil, ErrNoCredential
	}
	p := *a.anonymous
	return &p, nil
}

// check verifies a bearer credential: an API key or a JWT.
func (a *Authenticator) check(ctx context.Context, cred string) (*Principal, error) {
	if looksLikeKey(cred) {
		if len(a.keys) == 0 {
			return nil, invalidToken(ReasonInvalidKey, "API keys are not accepted here")
		}
		return checkKey(ctx, a.keys, cred, time.Now())
	}
	if strings.Count(cred, ".") == 2 {
		if a.jwt == nil {
			return nil, invalidToken(ReasonInvalidJWT, "JWTs are not accepted here")
		}
		return a.jwt.verify(ctx, cred)
	}
	return nil, invalidToken(ReasonMalformed, "the credential is neither an API key nor a JWT")
}

// maxCredential bounds a credential's length: a JWT with many claims is a
// few kilobytes.
const maxCredential = 8 << 10

// headerCredential returns the bearer credential of r, or "" when it has
// none. RFC 6750 2: a client uses one way of sending its token.
func headerCredential(r *http.Request) (string, error) {
	authz := r.Header.Values("Authorization")
	key := r.Header.Values(HeaderAPIKey)
	if len(authz)+len(key) > 1 {
		return "", invalidRequest("more than one credential")
	}
	var cred string
	switch {
	case len(key) == 1:
		cred = strings.TrimSpace(key[0])
	case len(authz) == 1:
		scheme, token, ok := strings.Cut(strings.TrimSpace(authz[0]), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", invalidRequest("the Authorization scheme must be Bearer")
		}
		cred = strings.TrimSpace(token)
	default:
		return "", nil
	}
	if cred == "" {
		return "", invalidRequest("empty credential")
	}
	if len(cred) > maxCredential {
		return "", invalidRequest("credential too long")
	}
	return cred, nil
}
