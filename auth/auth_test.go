package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// request is a request carrying the given headers.
func request(header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/rpc/x", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

func wantAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("err %v, want an auth error %s", err, code)
	}
}

func runAuth(t *testing.T, a *Authenticator) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestAPIKeysInAFile adds keys with the admin interface, authenticates with
// them through a second reader of the file (another process), and revokes.
func TestAPIKeysInAFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys.json")
	admin, err := OpenKeyFile(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, rec, err := NewKey(KeyRecord{Name: "explorer", Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin}, Methods: []string{"latestHeight"}, Plan: "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Add(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), key) || strings.Contains(string(b), key[21:]) {
		t.Fatal("the key file holds the key itself")
	}

	reader, err := OpenKeyFile(path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Keys: []KeyStore{reader}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*http.Request{request("Authorization", "Bearer "+key), request("authorization", "bearer "+key), request("X-API-Key", key)} {
		p, err := a.Authenticate(r)
		if err != nil {
			t.Fatal(err)
		}
		want := &Principal{ID: "key:" + rec.ID, Kind: KindKey, Name: "explorer", Scopes: []string{"public", "admin"}, Methods: []string{"latestHeight"}, Plan: "bulk"}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Fatalf("principal (-want +got):\n%s", diff)
		}
	}
	// A key with a known ID and a wrong secret, a malformed one, none.
	forged := key[:len(key)-4] + "AAAA"
	if forged == key {
		forged = key[:len(key)-4] + "BBBB"
	}
	_, err = a.Authenticate(request("Authorization", "Bearer "+forged))
	wantAuthError(t, err, "invalid_token")
	_, err = a.Authenticate(request("X-API-Key", "ngw_nothex"))
	wantAuthError(t, err, "invalid_token")
	if _, err := a.Authenticate(request()); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("no credential, no anonymous policy: %v", err)
	}

	// Revoked through the admin: the reader sees it at its next reload.
	if ok, err := admin.Revoke(t.Context(), rec.ID); !ok || err != nil {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if err := reader.reload(); err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(request("X-API-Key", key))
	wantAuthError(t, err, "invalid_token")
	// A broken file leaves the last keys in force.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := reader.reload(); err == nil {
		t.Fatal("a broken key file loaded")
	}
}

// TestKeyFileReloadedByRun: Run picks up a key added by another process.
func TestKeyFileReloadedByRun(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, []byte(`{"keys":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	reader, err := OpenKeyFile(path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Keys: []KeyStore{reader}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runAuth(t, a)
	other, _ := OpenKeyFile(path, false, nil)
	key, rec, _ := NewKey(KeyRecord{Scopes: []string{bridge.ScopePublic}})
	if err := other.Add(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * keyFileReload)
	for {
		if _, err := a.Authenticate(request("X-API-Key", key)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a key added to the file was not picked up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExpiredKey(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Minute)
	key, rec, _ := NewKey(KeyRecord{Scopes: []string{bridge.ScopePublic}, Expires: &past})
	f, _ := OpenKeyFile(filepath.Join(t.TempDir(), "k.json"), true, nil)
	if err := f.Add(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	a, _ := New(Config{Keys: []KeyStore{f}}, nil)
	_, err := a.Authenticate(request("X-API-Key", key))
	wantAuthError(t, err, "invalid_token")
}

// TestAPIKeysInRedis: keys shared in Redis, cached, revoked, and a Redis
// outage failing closed for keys never seen.
func TestAPIKeysInRedis(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	store := NewRedisKeys(rdb, prefix)
	key, rec, _ := NewKey(KeyRecord{Name: "wallet", Scopes: []string{bridge.ScopePublic}})
	if err := store.Add(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if err := store.Add(t.Context(), rec); err == nil {
		t.Fatal("the same key ID added twice")
	}
	other := NewRedisKeys(rdb, prefix) // another instance
	a, _ := New(Config{Keys: []KeyStore{other}}, nil)
	p, err := a.Authenticate(request("Authorization", "Bearer "+key))
	if err != nil || p.ID != "key:"+rec.ID {
		t.Fatalf("%+v %v", p, err)
	}
	list, err := store.List(t.Context())
	if err != nil || len(list) != 1 || list[0].ID != rec.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	if ok, err := store.Revoke(t.Context(), rec.ID); !ok || err != nil {
		t.Fatalf("revoke %v %v", ok, err)
	}
	// The other instance's cache lets the key live at most redisKeyFresh.
	other.mu.Lock()
	c := other.cache[rec.ID]
	c.at = c.at.Add(-redisKeyFresh)
	other.cache[rec.ID] = c
	other.mu.Unlock()
	_, err = a.Authenticate(request("X-API-Key", key))
	wantAuthError(t, err, "invalid_token")

	down, _ := New(Config{Keys: []KeyStore{NewRedisKeys(redistest.Unreachable(t), prefix)}}, nil)
	if _, err := down.Authenticate(request("X-API-Key", key)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Redis down: %v, want ErrUnavailable", err)
	}
}

func TestHeaderCredentials(t *testing.T) {
	t.Parallel()
	a, _ := New(Config{Anonymous: AnonymousPolicy{Scopes: []string{bridge.ScopePublic}, Plan: "anon"}}, nil)
	p, err := a.Authenticate(request())
	if err != nil || !p.Anonymous() || p.Plan != "anon" || !p.HasScope(bridge.ScopePublic) || p.HasScope(bridge.ScopeAdmin) {
		t.Fatalf("anonymous: %+v %v", p, err)
	}
	for name, r := range map[string]*http.Request{
		"basic":        request("Authorization", "Basic dXNlcjpwYXNz"),
		"two headers":  request("Authorization", "Bearer a.b.c", "X-API-Key", "ngw_x"),
		"two bearers":  request("Authorization", "Bearer a.b.c", "Authorization", "Bearer d.e.f"),
		"empty bearer": request("Authorization", "Bearer "),
		"huge":         request("X-API-Key", strings.Repeat("x", maxCredential+1)),
	} {
		_, err := a.Authenticate(r)
		wantAuthError(t, err, "invalid_request")
		_ = name
	}
	// A wrong credential is never taken for anonymous.
	_, err = a.Authenticate(request("Authorization", "Bearer garbage"))
	wantAuthError(t, err, "invalid_token")
	_, err = a.Authenticate(request("X-API-Key", "ngw_0123456789abcdef_"+strings.Repeat("A", 43)))
	wantAuthError(t, err, "invalid_token") // no key store at all
}

// sign makes a JWT.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "alice", "iss": "https://idp.example", "aud": "nuls-gateway",
		"exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// TestJWTHS256 checks the claims: exp, nbf, iss, aud, sub, and their
// mapping to scopes, methods and the plan.
func TestJWTHS256(t *testing.T) {
	t.Parallel()
	a, err := New(Config{JWT: &JWTConfig{Secret: testSecret, Issuer: "https://idp.example", Audience: "nuls-gateway"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tok := sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{
		"exp": exp.Unix(), "scope": "openid public admin", "methods": []string{"getBalance"}, "plan": "gold"}))
	p, err := a.Authenticate(request("Authorization", "Bearer "+tok))
	if err != nil {
		t.Fatal(err)
	}
	want := &Principal{ID: "jwt:https://idp.example|alice", Kind: KindJWT, Name: "alice", Scopes: []string{"public", "admin"},
		Methods: []string{"getBalance"}, Plan: "gold", Expires: exp}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Fatalf("principal (-want +got):\n%s", diff)
	}
	// Scopes as an array; none known: public.
	p, err = a.Authenticate(request("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{"scope": []string{"private"}}))))
	if err != nil || !cmp.Equal(p.Scopes, []string{"private"}) || p.Methods != nil {
		t.Fatalf("array scopes: %+v %v", p, err)
	}
	p, err = a.Authenticate(request("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testSecret, "", claims(nil))))
	if err != nil || !cmp.Equal(p.Scopes, []string{"public"}) {
		t.Fatalf("no scopes: %+v %v", p, err)
	}

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, tok := range map[string]string{
		"expired":      sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{"exp": time.Now().Add(-time.Minute).Unix()})),
		"no exp":       sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{"exp": nil})),
		"not yet":      sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{"nbf": time.Now().Add(time.Minute).Unix()})),
		"issuer":       sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{"iss": "https://evil.example"})),
		"audience":     sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{"aud": "someone-else"})),
		"no sub":       sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{"sub": nil})),
		"other secret": sign(t, jwt.SigningMethodHS256, []byte("another secret of thirty-two bytes"), "", claims(nil)),
		"HS384":        sign(t, jwt.SigningMethodHS384, testSecret, "", claims(nil)),
		"RS256 no set": sign(t, jwt.SigningMethodRS256, rsaKey, "", claims(nil)),
		"none":         sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(nil)),
	} {
		if _, err := a.Authenticate(request("Authorization", "Bearer "+tok)); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			wantAuthError(t, err, "invalid_token")
		}
	}
	if _, err := New(Config{JWT: &JWTConfig{Secret: []byte("short")}}, nil); err == nil {
		t.Error("a 5-byte HS256 secret was accepted")
	}
}

// testKeys are one key of each asymmetric kind, and their JWKS.
type testKeys struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	jwks []byte
}

func newTestKeys(t *testing.T) testKeys {
	t.Helper()
	k := testKeys{}
	k.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	k.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	store := jwkset.NewMemoryStorage()
	for kid, pub := range map[string]struct {
		key crypto.PublicKey
		alg jwkset.ALG
	}{"rsa-1": {k.rsa.Public(), jwkset.AlgRS256}, "ec-1": {k.ec.Public(), jwkset.AlgES256}, "ed-1": {k.ed.Public(), jwkset.AlgEdDSA}} {
		jwk, err := jwkset.NewJWKFromKey(pub.key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: pub.alg, USE: jwkset.UseSig}})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.KeyWrite(t.Context(), jwk); err != nil {
			t.Fatal(err)
		}
	}
	b, err := store.JSONPublic(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	k.jwks = b
	return k
}

// checkAsymmetric authenticates a token of each kind, and refuses a token
// signed with HMAC using a public key as the secret (algorithm confusion).
func checkAsymmetric(t *testing.T, a *Authenticator, k testKeys) {
	t.Helper()
	for name, tok := range map[string]string{
		"RS256":  sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", claims(nil)),
		"ES256":  sign(t, jwt.SigningMethodES256, k.ec, "ec-1", claims(nil)),
		"EdDSA":  sign(t, jwt.SigningMethodEdDSA, k.ed, "ed-1", claims(nil)),
		"no kid": sign(t, jwt.SigningMethodES256, k.ec, "", claims(nil)),
	} {
		if p, err := a.Authenticate(request("Authorization", "Bearer "+tok)); err != nil || p.ID != "jwt:https://idp.example|alice" {
			t.Errorf("%s: %+v %v", name, p, err)
		}
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(k.rsa.Public())
	for name, tok := range map[string]string{
		"HS256 with the public key": sign(t, jwt.SigningMethodHS256, pubDER, "rsa-1", claims(nil)),
		"wrong key for the kid":     sign(t, jwt.SigningMethodES256, k.ec, "rsa-1", claims(nil)),
		"unknown kid":               sign(t, jwt.SigningMethodRS256, k.rsa, "rotated-away", claims(nil)),
	} {
		if _, err := a.Authenticate(request("Authorization", "Bearer "+tok)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestJWTWithJWKSFile(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, k.jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{JWT: &JWTConfig{JWKS: path, Issuer: "https://idp.example"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAsymmetric(t, a, k)
}

// TestJWTWithJWKSURL fetches the set from an identity provider, once, and
// does not fetch it for every token naming an unknown key.
func TestJWTWithJWKSURL(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	var fetches atomic.Int64
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(k.jwks)
	}))
	t.Cleanup(idp.Close)
	a, err := New(Config{JWT: &JWTConfig{JWKS: idp.URL + "/jwks.json", Audience: "nuls-gateway", HTTPClient: idp.Client()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Before Run has fetched the set, asymmetric tokens cannot be
	// checked: unavailable, not invalid.
	if _, err := a.Authenticate(request("Authorization", "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", claims(nil)))); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("before the fetch: %v", err)
	}
	runAuth(t, a)
	deadline := time.Now().Add(5 * time.Second)
	for fetches.Load() == 0 || !a.jwtLoaded() {
		if time.Now().After(deadline) {
			t.Fatal("JWKS not fetched")
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkAsymmetric(t, a, k)
	for range 20 {
		_, _ = a.Authenticate(request("Authorization", "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "made-up", claims(nil))))
	}
	if n := fetches.Load(); n > 2 {
		t.Errorf("the JWKS was fetched %d times for made-up key IDs, want at most one refresh", n)
	}
}

// TestJWKSOverHTTP: an http JWKS URL was fetched without a word, and
// whoever sits on its path could then swap the keys and mint tokens. It is
// refused unless AllowHTTP says so, and an https URL redirecting to http is
// not followed.
func TestJWKSOverHTTP(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t)
	// Fetches of the redirect's target only: the allowed authenticator
	// below may fetch its own path again meanwhile.
	var plainFetches atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirected.json" {
			plainFetches.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(k.jwks)
	}))
	t.Cleanup(plain.Close)
	if _, err := New(Config{JWT: &JWTConfig{JWKS: plain.URL + "/jwks.json"}}, nil); !errors.Is(err, ErrJWKSOverHTTP) {
		t.Fatalf("an http JWKS URL: %v, want ErrJWKSOverHTTP", err)
	}
	if _, err := New(Config{JWT: &JWTConfig{JWKS: strings.ToUpper(plain.URL[:4]) + plain.URL[4:] + "/jwks.json"}}, nil); !errors.Is(err, ErrJWKSOverHTTP) {
		t.Fatalf("an HTTP JWKS URL: %v, want ErrJWKSOverHTTP", err)
	}
	allowed, err := New(Config{JWT: &JWTConfig{JWKS: plain.URL + "/jwks.json", AllowHTTP: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runAuth(t, allowed)
	waitUntil(t, "the JWKS fetched over http, allowed", allowed.jwtLoaded)
	checkAsymmetric(t, allowed, k)

	// An https URL that redirects to http: the fetch fails (and says so)
	// without following it.
	redirect := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/redirected.json", http.StatusFound))
	t.Cleanup(redirect.Close)
	before := plainFetches.Load()
	var logs lockedBuffer
	downgraded, err := New(Config{JWT: &JWTConfig{JWKS: redirect.URL, HTTPClient: redirect.Client()}}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	runAuth(t, downgraded)
	waitUntil(t, "the failed fetch logged", func() bool { return strings.Contains(logs.String(), "JWKS") })
	if plainFetches.Load() != before || !strings.Contains(logs.String(), "plain http") {
		t.Fatalf("a redirect from https to http: %d fetches over http, log:\n%s", plainFetches.Load()-before, logs.String())
	}
	if _, err := downgraded.Authenticate(request("Authorization", "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", claims(nil)))); err == nil {
		t.Fatal("a token accepted with keys from nowhere")
	}
}

// waitUntil polls cond for up to 5 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedBuffer is a log destination that several goroutines write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (a *Authenticator) jwtLoaded() bool {
	a.jwt.mu.RLock()
	defer a.jwt.mu.RUnlock()
	return a.jwt.jwks != nil
}

// TestStreamTickets: a ticket carries its credential's grants, is accepted
// on stream routes only, as a query parameter or a cookie, and expires.
func TestStreamTickets(t *testing.T) {
	t.Parallel()
	a, err := New(Config{JWT: &JWTConfig{Secret: testSecret}, Tickets: TicketConfig{TTL: time.Minute}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(30 * time.Second).Truncate(time.Second)
	p, err := a.Authenticate(request("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{
		"exp": exp.Unix(), "scope": "public", "methods": []string{"latestHeight"}}))))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := a.IssueTicket(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !tk.Expires.Equal(exp) {
		t.Errorf("ticket expires %v, want the JWT's exp %v (sooner than the TTL)", tk.Expires, exp)
	}
	q := httptest.NewRequest(http.MethodGet, "/rpc/latestHeight/stream?ticket="+tk.Token, nil)
	got, err := a.AuthenticateStream(q)
	if err != nil {
		t.Fatal(err)
	}
	want := *p
	want.Ticket = true
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Fatalf("ticket principal (-want +got):\n%s", diff)
	}
	c := httptest.NewRequest(http.MethodGet, "/rpc/latestHeight/stream", nil)
	c.AddCookie(&http.Cookie{Name: TicketCookie, Value: tk.Token})
	if _, err := a.AuthenticateStream(c); err != nil {
		t.Fatalf("cookie: %v", err)
	}
	// Not a credential for calls.
	if _, err := a.Authenticate(c); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("a ticket cookie on a call: %v", err)
	}
	if _, err := a.Authenticate(request("Authorization", "Bearer "+tk.Token)); err == nil {
		t.Fatal("a ticket accepted as a bearer token")
	}
	// Signed by another gateway, tampered, anonymous.
	other, _ := New(Config{}, nil)
	tk2, _ := other.IssueTicket(t.Context(), p)
	if _, err := a.AuthenticateStream(httptest.NewRequest(http.MethodGet, "/s?ticket="+tk2.Token, nil)); err == nil {
		t.Fatal("a ticket of another secret accepted")
	}
	if _, err := a.IssueTicket(t.Context(), &Principal{Kind: KindAnonymous}); err == nil {
		t.Fatal("a ticket issued to an anonymous caller")
	}
}

// TestTicketExpires: a ticket is accepted within its TTL and refused after
// it (in a bubble: the clock is fake, the test does not wait).
func TestTicketExpires(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		short, _ := New(Config{JWT: &JWTConfig{Secret: testSecret}, Tickets: TicketConfig{TTL: 2 * time.Second, Secret: testSecret}}, nil)
		p, err := short.Authenticate(request("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testSecret, "",
			claims(jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix(), "scope": "public"}))))
		if err != nil {
			t.Fatal(err)
		}
		tk, err := short.IssueTicket(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		stream := func() error {
			_, err := short.AuthenticateStream(httptest.NewRequest(http.MethodGet, "/s?ticket="+tk.Token, nil))
			return err
		}
		time.Sleep(time.Second)
		if err := stream(); err != nil {
			t.Fatalf("within its TTL: %v", err)
		}
		time.Sleep(2 * time.Second)
		wantAuthError(t, stream(), "invalid_token")
	})
}

// TestSharedTicketSecret: two instances sharing Redis accept each other's
// tickets.
func TestSharedTicketSecret(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	keys := NewRedisKeys(rdb, prefix)
	_, rec, err := NewKey(KeyRecord{Scopes: []string{bridge.ScopePublic}})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Add(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	a, _ := New(Config{Keys: []KeyStore{keys}, Tickets: TicketConfig{SharedSecret: RedisTicketSecret(rdb, prefix)}}, nil)
	b, _ := New(Config{Keys: []KeyStore{NewRedisKeys(rdb, prefix)}, Tickets: TicketConfig{SharedSecret: RedisTicketSecret(rdb, prefix)}}, nil)
	tk, err := a.IssueTicket(t.Context(), rec.principal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AuthenticateStream(httptest.NewRequest(http.MethodGet, "/s?ticket="+tk.Token, nil)); err != nil {
		t.Fatalf("another instance refused the ticket: %v", err)
	}
	down, _ := New(Config{Tickets: TicketConfig{SharedSecret: RedisTicketSecret(redistest.Unreachable(t), prefix)}}, nil)
	if _, err := down.IssueTicket(t.Context(), &Principal{ID: "key:x", Kind: KindKey}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Redis down: %v", err)
	}
}

// TestVerifiedTokensCache: a token checked once is not checked again, but
// never outlives its exp, and the cache stays bounded.
func TestVerifiedTokensCache(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, _ := New(Config{JWT: &JWTConfig{Secret: testSecret, Leeway: time.Millisecond}}, nil)
		tok := sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{"exp": time.Now().Add(2 * time.Second).Unix()}))
		for range 3 {
			if _, err := a.Authenticate(request("Authorization", "Bearer "+tok)); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok := a.jwt.verified.get(tok, time.Now()); !ok {
			t.Fatal("a verified token is not cached")
		}
		time.Sleep(2100 * time.Millisecond)
		_, err := a.Authenticate(request("Authorization", "Bearer "+tok))
		wantAuthError(t, err, "invalid_token")
	})

	var c tokenCache
	now := time.Now()
	for i := range 3 * tokenCacheMax {
		c.put(fmt.Sprint(i), &Principal{ID: "x"}, now)
	}
	if n := len(c.m); n > tokenCacheMax {
		t.Fatalf("%d tokens cached, want at most %d", n, tokenCacheMax)
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	key, rec, _ := NewKey(KeyRecord{Scopes: []string{bridge.ScopePublic}})
	if id, ok := keyID(key); !ok || id != rec.ID {
		t.Fatalf("keyID(%q) = %q, %v", key, id, ok)
	}
	for _, bad := range []string{"", "ngw_", key[:len(key)-1], key + "A", "xgw_" + key[4:], key[:20] + "-" + key[21:],
		"ngw_0123456789ABCDEF_" + strings.Repeat("A", 43), "ngw_0123456789abcdef_" + strings.Repeat("=", 43)} {
		if _, ok := keyID(bad); ok {
			t.Errorf("keyID(%q) accepted", bad)
		}
	}
}

// runningStore is a key store with a Run of its own: it fails with err, or
// runs until its context ends when err is nil.
type runningStore struct {
	err     error
	stopped chan struct{}
}

func (s *runningStore) Lookup(context.Context, string) (KeyRecord, bool, error) {
	return KeyRecord{}, false, nil
}

func (s *runningStore) Run(ctx context.Context) error {
	defer close(s.stopped)
	if s.err != nil {
		return s.err
	}
	<-ctx.Done()
	return nil
}

// TestRunStoreFails: a key store whose Run fails stops the others and
// ends the Authenticator's Run with its error, for the process to stop
// rather than serve with keys no longer kept current.
func TestRunStoreFails(t *testing.T) {
	boom := errors.New("the store broke")
	ok, broken := &runningStore{stopped: make(chan struct{})}, &runningStore{err: boom, stopped: make(chan struct{})}
	a, err := New(Config{Keys: []KeyStore{ok, broken}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(t.Context()) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("Run: %v, want the store's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run goes on after a key store failed")
	}
	<-ok.stopped
}

// TestErrorReasons: each refused credential says why in Error.Reason, the
// label of the gateway's authentication failures metric.
func TestErrorReasons(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys.json")
	keys, err := OpenKeyFile(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	expired, rec, err := NewKey(KeyRecord{Name: "old", Scopes: []string{bridge.ScopePublic}, Expires: &past})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Add(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	unknown, _, err := NewKey(KeyRecord{Scopes: []string{bridge.ScopePublic}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Keys: []KeyStore{keys}, JWT: &JWTConfig{Secret: testSecret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := a.IssueTicket(t.Context(), &Principal{ID: "key:x", Kind: KindKey, Scopes: []string{bridge.ScopePublic}})
	if err != nil {
		t.Fatal(err)
	}
	streamReq := func(ticket string) *http.Request {
		return httptest.NewRequest(http.MethodGet, "/rpc/x/stream?"+TicketQuery+"="+ticket, nil)
	}
	tests := []struct {
		name string
		r    *http.Request
		call func(*http.Request) (*Principal, error)
		want string
	}{
		{"two credentials", request("Authorization", "Bearer a", "X-API-Key", "b"), a.Authenticate, ReasonMalformed},
		{"basic", request("Authorization", "Basic eDp5"), a.Authenticate, ReasonMalformed},
		{"neither key nor jwt", request("Authorization", "Bearer nonsense"), a.Authenticate, ReasonMalformed},
		{"unknown key", request("X-API-Key", unknown), a.Authenticate, ReasonInvalidKey},
		{"expired key", request("X-API-Key", expired), a.Authenticate, ReasonExpired},
		{"jwt bad signature", request("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, []byte("another secret, 32 bytes or more!"), "", claims(nil))), a.Authenticate, ReasonInvalidJWT},
		{"jwt expired", request("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testSecret, "", claims(jwt.MapClaims{"exp": past.Unix()}))), a.Authenticate, ReasonExpired},
		{"ticket for a call", streamReq(tk.Token), a.Authenticate, ReasonInvalidTicket},
		{"forged ticket", streamReq(tk.Token + "x"), a.AuthenticateStream, ReasonInvalidTicket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.call(tt.r)
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("err %v, want an *Error", err)
			}
			if ae.Reason != tt.want {
				t.Errorf("reason %q, want %q (%v)", ae.Reason, tt.want, err)
			}
		})
	}
}
