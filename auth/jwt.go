package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// Defaults of JWTConfig.
const (
	defaultScopesClaim  = "scope"
	defaultMethodsClaim = "methods"
	defaultPlanClaim    = "plan"
	defaultLeeway       = 10 * time.Second
	jwksRefresh         = time.Hour
	jwksHTTPTimeout     = 5 * time.Second
	// jwksUnknownKID is the least time between two fetches of a JWKS URL
	// caused by tokens with a key ID the set lacks (a key rotation): a
	// stranger's made-up key IDs must not make the gateway hammer the
	// identity provider.
	jwksUnknownKID = time.Minute
)

// Asymmetric algorithms accepted with a JWKS. HS256 is accepted only with
// JWTConfig.Secret, and never checked against a JWKS key, so that a public
// key cannot be used as an HMAC secret (algorithm confusion); "none" never.
var jwksAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// JWTConfig configures JWT authentication. At least one of Secret and JWKS
// is set.
type JWTConfig struct {
	// Secret is the HS256 shared secret; nil: HS256 is refused.
	Secret []byte
	// JWKS is where the RS256/ES256/EdDSA verification keys are: a file
	// (re-read when it changes) or an https URL (fetched at start, again
	// every hour, and when a token names a key ID the set lacks, at most
	// once a minute). An http URL needs AllowHTTP. Empty: asymmetric
	// tokens are refused.
	JWKS string
	// AllowHTTP lets JWKS be a plain http URL. Default false: such a URL
	// is refused, because whoever is on its path can swap the keys for
	// their own and then mint tokens with any scope; and the default
	// client follows no redirect away from https.
	AllowHTTP bool
	// Issuer, when set, must be the token's iss.
	Issuer string
	// Audience, when set, must be in the token's aud.
	Audience string
	// ScopesClaim holds the scopes, as a space-separated string (OAuth
	// 2.0's scope) or an array; only public, admin and private count.
	// A token naming none of them gets public. Default "scope".
	ScopesClaim string
	// MethodsClaim holds the method allow-list (array or space-separated
	// string); absent: every method of the scopes. Default "methods".
	MethodsClaim string
	// PlanClaim holds the rate plan's name. Default "plan".
	PlanClaim string
	// Leeway is the clock skew allowed on exp and nbf. Default 10s.
	Leeway time.Duration
	// HTTPClient fetches a JWKS URL; without a CheckRedirect of its own
	// it follows redirects as AllowHTTP says. Default: a client with a
	// 5s timeout.
	HTTPClient *http.Client
}

func (c JWTConfig) withDefaults() JWTConfig {
	if c.ScopesClaim == "" {
		c.ScopesClaim = defaultScopesClaim
	}
	if c.MethodsClaim == "" {
		c.MethodsClaim = defaultMethodsClaim
	}
	if c.PlanClaim == "" {
		c.PlanClaim = defaultPlanClaim
	}
	if c.Leeway <= 0 {
		c.Leeway = defaultLeeway
	}
	return c
}

// jwtVerifier checks JWTs and maps their claims to a Principal.
type jwtVerifier struct {
	cfg    JWTConfig
	parser *jwt.Parser
	logger *slog.Logger
	isURL  bool

	mu   sync.RWMutex // guards jwks, file, fileMod
	jwks keyfunc.Keyfunc
	file fileStamp

	// verified remembers the tokens already checked: a client sends the
	// same token with every call, and an ES256 signature costs about
	// 130 µs to verify (BenchmarkAuthenticate).
	verified tokenCache
}

// tokenCache maps a token to its Principal until the token expires, or
// for tokenCacheFor at most, so that a JWKS rotation is seen within it.
type tokenCache struct {
	mu sync.Mutex // guards m
	m  map[string]cachedToken
}

type cachedToken struct {
	p     *Principal
	until time.Time
}

// Bounds of tokenCache.
const (
	tokenCacheFor = time.Minute
	tokenCacheMax = 10_000
)

func (c *tokenCache) get(token string, now time.Time) (*Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[token]
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	p := *e.p
	return &p, true
}

func (c *tokenCache) put(token string, p *Principal, now time.Time) {
	until := now.Add(tokenCacheFor)
	if !p.Expires.IsZero() && p.Expires.Before(until) {
		until = p.Expires
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedToken{}
	}
	if len(c.m) >= tokenCacheMax {
		// A flood of distinct valid tokens: forget the expired ones,
		// then arbitrary ones (map order), rather than grow.
		for k, e := range c.m {
			if !now.Before(e.until) || len(c.m) >= tokenCacheMax/2 {
				delete(c.m, k)
			}
		}
	}
	q := *p
	c.m[token] = cachedToken{p: &q, until: until}
}

// fileStamp tells whether a file changed since it was read.
type fileStamp struct {
	mod  time.Time
	size int64
}

func newJWTVerifier(cfg JWTConfig, logger *slog.Logger) (*jwtVerifier, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Secret) == 0 && cfg.JWKS == "" {
		return nil, errors.New("auth: JWT needs a secret or a JWKS")
	}
	if len(cfg.Secret) > 0 && len(cfg.Secret) < 32 {
		// RFC 7518 3.2: a key of the same size as the hash output.
		return nil, errors.New("auth: the HS256 secret must be at least 32 bytes")
	}
	var algs []string
	if len(cfg.Secret) > 0 {
		algs = append(algs, "HS256")
	}
	v := &jwtVerifier{cfg: cfg, logger: logger}
	if cfg.JWKS != "" {
		algs = append(algs, jwksAlgorithms...)
		u, err := url.Parse(cfg.JWKS)
		switch {
		case err == nil && u.Scheme == "http" && !cfg.AllowHTTP:
			return nil, fmt.Errorf("%w: %s", ErrJWKSOverHTTP, u.Redacted())
		case err == nil && (u.Scheme == "https" || u.Scheme == "http"):
			v.isURL = true
		default:
			if err := v.loadFile(); err != nil {
				return nil, err
			}
		}
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(algs), jwt.WithExpirationRequired(), jwt.WithLeeway(cfg.Leeway)}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// loadFile reads the JWKS file if it changed.
func (v *jwtVerifier) loadFile() error {
	st, err := os.Stat(v.cfg.JWKS)
	if err != nil {
		return fmt.Errorf("auth: JWKS: %w", err)
	}
	stamp := fileStamp{mod: st.ModTime(), size: st.Size()}
	v.mu.RLock()
	same := v.jwks != nil && v.file == stamp
	v.mu.RUnlock()
	if same {
		return nil
	}
	b, err := os.ReadFile(v.cfg.JWKS)
	if err != nil {
		return fmt.Errorf("auth: JWKS: %w", err)
	}
	k, err := keyfunc.NewJWKSetJSON(b)
	if err != nil {
		return fmt.Errorf("auth: JWKS %s: %w", v.cfg.JWKS, err)
	}
	v.mu.Lock()
	v.jwks, v.file = k, stamp
	v.mu.Unlock()
	return nil
}

// run keeps the JWKS current until ctx ends: it fetches a URL's set (and
// lets keyfunc refresh it), or re-reads a file when it changes.
func (v *jwtVerifier) run(ctx context.Context) {
	if v.cfg.JWKS == "" {
		return
	}
	if !v.isURL {
		t := time.NewTicker(keyFileReload)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := v.loadFile(); err != nil {
					v.logger.Error("JWKS file not reloaded; the last keys read stay in force", slog.Any("err", err))
				}
			}
		}
	}
	client := &http.Client{Timeout: jwksHTTPTimeout}
	if v.cfg.HTTPClient != nil {
		c := *v.cfg.HTTPClient
		client = &c
	}
	if client.CheckRedirect == nil {
		client.CheckRedirect = v.checkRedirect
	}
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{v.cfg.JWKS}, keyfunc.Override{
		Client:            client,
		HTTPTimeout:       jwksHTTPTimeout,
		RefreshInterval:   jwksRefresh,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(jwksUnknownKID), 1),
		// A token with an unknown key ID fails at once rather than
		// wait for the next allowed fetch.
		RateLimitWaitMax: time.Millisecond,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				v.logger.Warn("JWKS not fetched", slog.String("url", u), slog.Any("err", err))
			}
		},
	})
	if err != nil {
		v.logger.Error("JWKS URL unusable; asymmetric JWTs are refused", slog.String("url", v.cfg.JWKS), slog.Any("err", err))
		return
	}
	v.mu.Lock()
	v.jwks = k
	v.mu.Unlock()
	<-ctx.Done()
	// The refresh goroutine ends with ctx; drop the set with it.
	v.mu.Lock()
	v.jwks = nil
	v.mu.Unlock()
}

// ErrJWKSOverHTTP refuses a JWKS URL over plain http without
// JWTConfig.AllowHTTP.
var ErrJWKSOverHTTP = errors.New("auth: the JWKS URL is plain http, whose keys anyone on the path could swap for their own; use https")

// checkRedirect follows at most 10 redirects (as net/http does), and none
// to plain http unless JWTConfig.AllowHTTP: an https URL must not be
// downgraded on the way.
func (v *jwtVerifier) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("auth: JWKS: stopped after 10 redirects")
	}
	if req.URL.Scheme != "https" && !v.cfg.AllowHTTP {
		return fmt.Errorf("%w (a redirect to %s)", ErrJWKSOverHTTP, req.URL.Redacted())
	}
	return nil
}

// errJWKSNotLoaded reports a JWKS URL not fetched yet.
var errJWKSNotLoaded = errors.New("auth: JWKS not loaded")

// keyFor picks the verification key by algorithm: the secret for HS256,
// the JWKS for the others.
func (v *jwtVerifier) keyFor(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if t.Method.Alg() == "HS256" {
			return v.cfg.Secret, nil
		}
		v.mu.RLock()
		k := v.jwks
		v.mu.RUnlock()
		if k == nil {
			return nil, errJWKSNotLoaded
		}
		return k.KeyfuncCtx(ctx)(t)
	}
}

// verify checks a token and returns its Principal.
func (v *jwtVerifier) verify(ctx context.Context, token string) (*Principal, error) {
	now := time.Now()
	if p, ok := v.verified.get(token, now); ok {
		return p, nil
	}
	p, err := v.check(ctx, token)
	if err == nil {
		v.verified.put(token, p, now)
	}
	return p, err
}

// check verifies a token's signature and claims.
func (v *jwtVerifier) check(ctx context.Context, token string) (*Principal, error) {
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.keyFor(ctx)); err != nil {
		if errors.Is(err, errJWKSNotLoaded) {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		reason := ReasonInvalidJWT
		if errors.Is(err, jwt.ErrTokenExpired) {
			reason = ReasonExpired
		}
		return nil, invalidToken(reason, jwtReason(err))
	}
	if aud, _ := claims.GetAudience(); slices.Contains(aud, ticketAudience) {
		// A stream ticket, signed with a secret the operator also gave
		// as --jwt-secret: it opens streams only, never calls.
		return nil, errTicketNotForCalls
	}
	sub, _ := claims.GetSubject()
	if sub == "" {
		return nil, invalidToken(ReasonInvalidJWT, "the token has no sub")
	}
	iss, _ := claims.GetIssuer()
	p := &Principal{ID: "jwt:" + iss + "|" + sub, Kind: KindJWT, Name: sub}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		p.Expires = exp.Time
	}
	for _, s := range claimStrings(claims[v.cfg.ScopesClaim]) {
		if bridge.ValidScope(s) && !slices.Contains(p.Scopes, s) {
			p.Scopes = append(p.Scopes, s)
		}
	}
	if len(p.Scopes) == 0 {
		p.Scopes = []string{bridge.ScopePublic}
	}
	if m, ok := claims[v.cfg.MethodsClaim]; ok {
		p.Methods = claimStrings(m)
		if p.Methods == nil {
			p.Methods = []string{} // present but empty: nothing
		}
	}
	if plan, ok := claims[v.cfg.PlanClaim].(string); ok {
		p.Plan = plan
	}
	return p, nil
}

// jwtReason says why a token was refused, without echoing it.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "the token is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token's issuer is not accepted"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "the token's audience is not accepted"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the token lacks a required claim (exp)"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "the token's signature does not verify"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	}
	return "invalid token"
}

// claimStrings reads a claim that is a space-separated string or an array
// of strings.
func claimStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
