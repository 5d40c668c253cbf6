package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
)

// authenticator is what the gateway uses of an *auth.Authenticator.
type authenticator interface {
	Authenticate(*http.Request) (*auth.Principal, error)
	AuthenticateStream(*http.Request) (*auth.Principal, error)
	IssueTicket(context.Context, *auth.Principal) (auth.Ticket, error)
	AllowsAnonymous(method, scope string) bool
	// Recheck reports, for each principal, whether its credential still
	// holds (auth.Authenticator.Recheck): open streams and sockets end
	// when it no longer does.
	Recheck(ctx context.Context, ps []*auth.Principal, now time.Time) []error
}

// authRealm names the gateway in WWW-Authenticate challenges.
const authRealm = "nuls-gateway"

type principalKey struct{}

// principalOf returns the caller of an authenticated route. A route that
// was not authenticated gets a caller with no scope at all: fail closed.
func principalOf(r *http.Request) *auth.Principal {
	if st := edge.StateOf(r); st != nil && st.Principal() != nil {
		return st.Principal()
	}
	if p, ok := r.Context().Value(principalKey{}).(*auth.Principal); ok {
		return p
	}
	return &auth.Principal{Kind: auth.KindAnonymous}
}

// modulePrincipal is the caller of the gateway's own module methods (the
// compound methods other modules call): the module network is trusted as
// the Manager trusts it, within the scopes the gateway exposes.
var modulePrincipal = &auth.Principal{ID: "module", Kind: "module",
	Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin, bridge.ScopePrivate}}

// authenticate admits the callers of plain routes: a header credential, or
// the anonymous policy.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return s.authenticateWith(s.cfg.Auth.Authenticate, next)
}

// authenticateStream admits the callers of stream routes, which also take
// stream tickets.
func (s *Server) authenticateStream(next http.Handler) http.Handler {
	return s.authenticateWith(s.cfg.Auth.AuthenticateStream, next)
}

func (s *Server) authenticateWith(check func(*http.Request) (*auth.Principal, error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := check(r)
		if err != nil {
			s.metrics.AuthFailed(authFailure(err))
			// Failed attempts spend the address's anonymous quota: a
			// stranger cannot try credentials, or make the gateway ask
			// Redis for made-up keys, faster than an anonymous caller
			// may call.
			if !errors.Is(err, auth.ErrUnavailable) {
				if aerr := s.admitAddress(w, r); aerr != nil {
					err = aerr
				}
			}
			s.writeError(w, r, err)
			return
		}
		if st := edge.StateOf(r); st != nil {
			st.SetPrincipal(p) // no new context and request: the hot path
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// requireAdmin lets only callers with the admin scope through: the routes
// that change what every instance serves or what the Manager is told.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		if !p.HasScope(bridge.ScopeAdmin) {
			s.writeError(w, r, s.denied(&accessError{method: r.Method + " " + r.URL.Path, scope: bridge.ScopeAdmin, anonymous: p.Anonymous()}))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// challenge is the WWW-Authenticate value of a 401 or 403 (RFC 6750 3).
func challenge(err error) string {
	c := `Bearer realm="` + authRealm + `"`
	var ae *auth.Error
	var acc *accessError
	switch {
	case errors.As(err, &ae):
		c += `, error="` + ae.Code + `", error_description="` + quoteSafe(ae.Description) + `"`
	case errors.As(err, &acc) && !acc.anonymous:
		c += `, error="insufficient_scope"`
		if acc.scope != "" {
			c += `, scope="` + acc.scope + `"`
		}
	}
	return c
}

// quoteSafe drops what cannot appear in a quoted-string.
func quoteSafe(s string) string {
	b := []byte(s)
	out := b[:0]
	for _, c := range b {
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x7f {
			out = append(out, c)
		}
	}
	return string(out)
}

// StreamTicket is the answer of POST /stream-tickets.
type StreamTicket struct {
	// Ticket opens streams: ?ticket=<ticket>, or the cookie when asked.
	Ticket string `json:"ticket"`
	// ExpiresAt is when the ticket stops opening streams.
	ExpiresAt time.Time `json:"expiresAt"`
	// ExpiresIn is ExpiresAt in seconds from now.
	ExpiresIn int `json:"expiresIn"`
}

// streamTicket issues a stream ticket to the caller.
//
//	@Summary		Issue a stream ticket
//	@ID				createStreamTicket
//	@Description	EventSource cannot send an Authorization header. An authenticated caller gets here a short-lived signed ticket that opens streams with the caller's grants: as the ticket query parameter of a stream URL, or, with ?cookie=1, as the HttpOnly cookie nulsgw_ticket (same-site pages). A ticket opens streams, and the JSON-RPC socket for subscribe and unsubscribe only: it is no credential for calls, on any route. A stream opened with a ticket ends, with an end event (a 401 problem), when the credential the ticket was issued for expires or, for an API key, is revoked; a ticket of a revoked key opens nothing more.
//	@Tags			streams
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			cookie	query		bool			false	"Also set the ticket as an HttpOnly cookie"
//	@Success		201		{object}	StreamTicket	"The ticket"
//	@Failure		401		{object}	Problem			"No credential, or a refused one"
//	@Failure		429		{object}	Problem			"Rate limited"
//	@Failure		503		{object}	Problem			"The shared secret is unavailable"
//	@Router			/stream-tickets [post]
func (s *Server) streamTicket(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if p.Anonymous() || p.Ticket {
		// A ticket is a credential's stand-in; a ticket cannot beget one.
		return &auth.Error{Code: "invalid_request", Description: "a stream ticket is issued for an API key or a JWT"}
	}
	if err := s.admit(w, r, p, 1); err != nil {
		return err
	}
	t, err := s.cfg.Auth.IssueTicket(r.Context(), p)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("cookie") == "1" || r.URL.Query().Get("cookie") == "true" {
		// Secure when this connection is TLS; HttpOnly and SameSite=Strict always.
		http.SetCookie(w, &http.Cookie{ //nolint:gosec // G124: see above
			Name: auth.TicketCookie, Value: t.Token, Path: "/", Expires: t.Expires,
			MaxAge: int(time.Until(t.Expires).Seconds()), HttpOnly: true, Secure: r.TLS != nil,
			SameSite: http.SameSiteStrictMode,
		})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, StreamTicket{Ticket: t.Token, ExpiresAt: t.Expires, ExpiresIn: int(time.Until(t.Expires).Seconds())})
	return nil
}
