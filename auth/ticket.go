package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
)

// Stream tickets.
const (
	// TicketCookie is the HttpOnly cookie a ticket can be set in.
	TicketCookie = "nulsgw_ticket"
	// TicketQuery is the query parameter a ticket can be given in.
	TicketQuery = "ticket"
	// ticketAudience keeps tickets apart from any other token signed with
	// the same secret.
	ticketAudience   = "nulsgw-stream"
	defaultTicketTTL = 2 * time.Minute
	ticketSecretSize = 32
)

// TicketConfig configures stream tickets.
type TicketConfig struct {
	// Secret signs tickets (HS256), at least 32 bytes. Every instance of a
	// cluster must have the same one. Nil: SharedSecret's, else a random
	// secret of this process.
	Secret []byte
	// SharedSecret returns the secret every instance shares (see
	// RedisTicketSecret); it is asked until it answers once.
	SharedSecret func(context.Context) ([]byte, error)
	// TTL is how long a ticket can open streams. A stream opened with it
	// lasts until the credential it was issued for expires. Default 2m.
	TTL time.Duration
}

// Ticket is a signed stream ticket.
type Ticket struct {
	Token   string
	Expires time.Time
}

// ticketClaims are a ticket's claims: the grants of the credential it was
// issued for.
type ticketClaims struct {
	jwt.RegisteredClaims
	Kind    string   `json:"kind"`
	Name    string   `json:"name,omitempty"`
	Scopes  []string `json:"scopes"`
	Methods []string `json:"methods,omitempty"`
	// AllMethods tells an absent allow-list (every method) from an empty
	// one (none).
	AllMethods bool   `json:"all,omitempty"`
	Plan       string `json:"plan,omitempty"`
	// CredentialExpires is when the credential the ticket was issued for
	// expires (unix seconds), 0 for never.
	CredentialExpires int64 `json:"cexp,omitempty"`
}

// Tickets issues and checks stream tickets.
type Tickets struct {
	cfg    TicketConfig
	parser *jwt.Parser

	mu     sync.Mutex // guards secret
	secret []byte
}

func newTickets(cfg TicketConfig) (*Tickets, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = defaultTicketTTL
	}
	t := &Tickets{cfg: cfg, parser: jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithAudience(ticketAudience), jwt.WithExpirationRequired())}
	switch {
	case cfg.Secret != nil:
		if len(cfg.Secret) < ticketSecretSize {
			return nil, fmt.Errorf("auth: the ticket secret must be at least %d bytes", ticketSecretSize)
		}
		t.secret = cfg.Secret
	case cfg.SharedSecret == nil:
		t.secret = make([]byte, ticketSecretSize)
		if _, err := rand.Read(t.secret); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// key returns the signing secret, asking the shared one the first time.
func (t *Tickets) key(ctx context.Context) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.secret != nil {
		return t.secret, nil
	}
	s, err := t.cfg.SharedSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: ticket secret: %v", ErrUnavailable, err)
	}
	if len(s) < ticketSecretSize {
		return nil, fmt.Errorf("auth: the shared ticket secret is shorter than %d bytes", ticketSecretSize)
	}
	t.secret = s
	return s, nil
}

// Issue signs a ticket for p, valid for the TTL or until p's credential
// expires, whichever comes first.
func (t *Tickets) Issue(ctx context.Context, p *Principal) (Ticket, error) {
	if p.Anonymous() {
		return Ticket{}, errors.New("auth: anonymous callers need no ticket")
	}
	key, err := t.key(ctx)
	if err != nil {
		return Ticket{}, err
	}
	now := time.Now()
	exp := now.Add(t.cfg.TTL)
	if !p.Expires.IsZero() && p.Expires.Before(exp) {
		exp = p.Expires
	}
	c := ticketClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: p.ID, Audience: jwt.ClaimStrings{ticketAudience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
		Kind: p.Kind, Name: p.Name, Scopes: p.Scopes, Methods: p.Methods, AllMethods: p.Methods == nil, Plan: p.Plan,
	}
	if !p.Expires.IsZero() {
		c.CredentialExpires = p.Expires.Unix()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		return Ticket{}, err
	}
	return Ticket{Token: s, Expires: exp.Truncate(time.Second)}, nil
}

// verify checks a ticket and returns the Principal it carries.
func (t *Tickets) verify(ctx context.Context, token string) (*Principal, error) {
	key, err := t.key(ctx)
	if err != nil {
		return nil, err
	}
	var c ticketClaims
	if _, err := t.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return key, nil }); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, invalidToken(ReasonExpired, "the stream ticket expired; ask for a new one")
		}
		return nil, invalidToken(ReasonInvalidTicket, "invalid stream ticket")
	}
	p := &Principal{ID: c.Subject, Kind: c.Kind, Name: c.Name, Scopes: c.Scopes, Methods: c.Methods, Plan: c.Plan, Ticket: true}
	if p.Methods == nil && !c.AllMethods {
		p.Methods = []string{}
	}
	if c.CredentialExpires != 0 {
		p.Expires = time.Unix(c.CredentialExpires, 0)
	}
	if p.ID == "" || (p.Kind != KindKey && p.Kind != KindJWT) {
		return nil, invalidToken(ReasonInvalidTicket, "invalid stream ticket")
	}
	return p, nil
}

// RedisTicketSecret returns a TicketConfig.SharedSecret kept in Redis at
// <prefix>:ticket-secret: the first instance to ask creates it.
func RedisTicketSecret(rdb redis.UniversalClient, prefix string) func(context.Context) ([]byte, error) {
	key := prefix + ":ticket-secret"
	return func(ctx context.Context) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, redisKeyTimeout)
		defer cancel()
		var fresh [ticketSecretSize]byte
		if _, err := rand.Read(fresh[:]); err != nil {
			return nil, err
		}
		// SET NX then GET: whoever came first, everyone reads the same.
		if err := rdb.SetNX(ctx, key, base64.StdEncoding.EncodeToString(fresh[:]), 0).Err(); err != nil {
			return nil, err
		}
		v, err := rdb.Get(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(v)
	}
}
