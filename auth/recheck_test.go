package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
)

// addTestKey stores a new key with rec's grants in store and returns it and
// its record.
func addTestKey(t *testing.T, store KeyAdmin, rec KeyRecord) (string, KeyRecord) {
	t.Helper()
	key, rec, err := NewKey(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Add(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	return key, rec
}

// TestRecheck: a credential checked again holds until it expires, its key
// is revoked, or its key loses a grant the caller had; anonymous callers
// always hold; a JWT is checked for its expiry only.
func TestRecheck(t *testing.T) {
	t.Parallel()
	keys, err := OpenKeyFile(filepath.Join(t.TempDir(), "keys.json"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Keys: []KeyStore{keys}, JWT: &JWTConfig{Secret: testSecret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	authenticate := func(cred string) *Principal {
		t.Helper()
		p, err := a.Authenticate(request("Authorization", "Bearer "+cred))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	revoked, _ := addTestKey(t, keys, KeyRecord{Scopes: []string{bridge.ScopePublic}})
	kept, _ := addTestKey(t, keys, KeyRecord{Scopes: []string{bridge.ScopePublic}})
	soon := time.Now().Add(time.Hour)
	expiring, _ := addTestKey(t, keys, KeyRecord{Scopes: []string{bridge.ScopePublic}, Expires: &soon})
	admin, adminRec := addTestKey(t, keys, KeyRecord{Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin}, Methods: []string{"a", "b"}})
	ps := []*Principal{
		authenticate(revoked), authenticate(kept), authenticate(expiring), authenticate(admin),
		authenticate(sign(t, jwt.SigningMethodHS256, testSecret, "", claims(nil))),
		{Kind: KindAnonymous},
	}
	for i, err := range a.Recheck(t.Context(), ps, time.Now()) {
		if err != nil {
			t.Fatalf("principal %d before any change: %v", i, err)
		}
	}
	if _, err := keys.Revoke(t.Context(), ps[0].ID[len("key:"):]); err != nil {
		t.Fatal(err)
	}
	// The admin key loses a method.
	if _, err := keys.Revoke(t.Context(), adminRec.ID); err != nil {
		t.Fatal(err)
	}
	adminRec.Methods = []string{"a"}
	if err := keys.Add(t.Context(), adminRec); err != nil {
		t.Fatal(err)
	}
	later := soon.Add(time.Second) // the key and the JWT have expired
	errs := a.Recheck(t.Context(), ps, later)
	for i, want := range []string{"revoked", "", "expired", "grants changed", "expired", ""} {
		err := errs[i]
		switch {
		case want == "" && err != nil:
			t.Errorf("principal %d: %v, want it to hold", i, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("principal %d: %v, want %q", i, err, want)
		case err != nil:
			wantAuthError(t, err, "invalid_token")
		}
	}
	// A grant added since does not matter.
	adminRec.Methods = nil
	adminRec.Scopes = []string{bridge.ScopePublic, bridge.ScopeAdmin, bridge.ScopePrivate}
	if _, err := keys.Revoke(t.Context(), adminRec.ID); err != nil {
		t.Fatal(err)
	}
	if err := keys.Add(t.Context(), adminRec); err != nil {
		t.Fatal(err)
	}
	if err := a.Recheck(t.Context(), ps[3:4], time.Now())[0]; err != nil {
		t.Errorf("a key granted more: %v", err)
	}
}

// TestTicketOfARevokedKey: a ticket carries the ID of the key it was issued
// for; once the key is revoked, the ticket opens nothing.
func TestTicketOfARevokedKey(t *testing.T) {
	t.Parallel()
	keys, err := OpenKeyFile(filepath.Join(t.TempDir(), "keys.json"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Keys: []KeyStore{keys}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, rec := addTestKey(t, keys, KeyRecord{Scopes: []string{bridge.ScopePublic}})
	p, err := a.Authenticate(request(HeaderAPIKey, key))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := a.IssueTicket(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	open := func() error {
		_, err := a.AuthenticateStream(httptest.NewRequest(http.MethodGet, "/rpc/latestHeight/stream?ticket="+tk.Token, nil))
		return err
	}
	if err := open(); err != nil {
		t.Fatalf("before the revocation: %v", err)
	}
	if _, err := keys.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	err = open()
	wantAuthError(t, err, "invalid_token")
	if !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("after the revocation: %v", err)
	}
}

// TestTicketIsNoCredentialForCalls: a ticket is refused on the routes that
// call, in the ticket query parameter, and as a bearer token even when the
// operator gave the JWT secret as the ticket secret.
func TestTicketIsNoCredentialForCalls(t *testing.T) {
	t.Parallel()
	a, err := New(Config{JWT: &JWTConfig{Secret: testSecret}, Tickets: TicketConfig{Secret: testSecret},
		Anonymous: AnonymousPolicy{Scopes: []string{bridge.ScopePublic}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(request("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testSecret, "", claims(nil))))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := a.IssueTicket(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateStream(httptest.NewRequest(http.MethodGet, "/s?ticket="+tk.Token, nil)); err != nil {
		t.Fatalf("the ticket on a stream: %v", err)
	}
	if _, err := a.Authenticate(request("Authorization", "Bearer "+tk.Token)); !errors.Is(err, errTicketNotForCalls) {
		t.Fatalf("the ticket as a bearer token, signed with the JWT secret: %v", err)
	}
	if _, err := a.Authenticate(httptest.NewRequest(http.MethodPost, "/rpc/latestHeight?ticket="+tk.Token, nil)); !errors.Is(err, errTicketNotForCalls) {
		t.Fatalf("the ticket query on a call: %v, want it refused, not taken for anonymous", err)
	}
}

// TestRecheckRedisKeys: keys in Redis are checked again in one round trip
// (LookupMany), a revocation by another instance is seen once the cache is
// stale, and an unreachable Redis with nothing cached fails closed.
func TestRecheckRedisKeys(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	mine, other := NewRedisKeys(rdb, prefix), NewRedisKeys(rdb, prefix)
	a, err := New(Config{Keys: []KeyStore{mine}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ps []*Principal
	var recs []KeyRecord
	for range 3 {
		_, rec := addTestKey(t, other, KeyRecord{Scopes: []string{bridge.ScopePublic}})
		ps, recs = append(ps, rec.principal()), append(recs, rec)
	}
	for i, err := range a.Recheck(t.Context(), ps, time.Now()) {
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	if _, err := other.Revoke(t.Context(), recs[1].ID); err != nil {
		t.Fatal(err)
	}
	// Another instance revoked it: this one sees it once its cache is
	// stale (redisKeyFresh).
	mine.mu.Lock()
	for id, c := range mine.cache {
		c.at = c.at.Add(-redisKeyFresh)
		mine.cache[id] = c
	}
	mine.mu.Unlock()
	errs := a.Recheck(t.Context(), ps, time.Now())
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], errRevoked) {
		t.Fatalf("after a revocation elsewhere: %v", errs)
	}
	down, err := New(Config{Keys: []KeyStore{NewRedisKeys(redistest.Unreachable(t), prefix)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := down.Recheck(ctx, ps[:1], time.Now())[0]; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Redis down, nothing cached: %v, want ErrUnavailable", err)
	}
}
