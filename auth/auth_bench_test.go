package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
)

// BenchmarkAuthenticate is what checking one request's credential costs:
// go test -run='^$' -bench=Authenticate -benchmem ./auth
func BenchmarkAuthenticate(b *testing.B) {
	dir := b.TempDir()
	file, _ := OpenKeyFile(filepath.Join(dir, "keys.json"), true, nil)
	fileKey, rec, _ := NewKey(KeyRecord{Scopes: []string{bridge.ScopePublic}})
	if err := file.Add(b.Context(), rec); err != nil {
		b.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jwkset.NewJWKFromKey(ecKey.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "ec", ALG: jwkset.AlgES256}})
	store := jwkset.NewMemoryStorage()
	_ = store.KeyWrite(b.Context(), jwk)
	raw, _ := store.JSONPublic(b.Context())
	jwksFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksFile, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	claims := jwt.MapClaims{"sub": "bench", "exp": time.Now().Add(time.Hour).Unix(), "scope": "public"}
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	esTok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	esTok.Header["kid"] = "ec"
	es, _ := esTok.SignedString(ecKey)
	a, err := New(Config{Keys: []KeyStore{file}, JWT: &JWTConfig{Secret: secret, JWKS: jwksFile},
		Anonymous: AnonymousPolicy{Scopes: []string{bridge.ScopePublic}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := a.Authenticate(withHeader("X-API-Key", fileKey))
	ticket, _ := a.IssueTicket(b.Context(), p)

	cases := []struct {
		name  string
		r     *http.Request
		check func(*http.Request) (*Principal, error)
	}{
		{"anonymous", httptest.NewRequest(http.MethodPost, "/rpc/x", nil), a.Authenticate},
		{"api-key-file", withHeader("Authorization", "Bearer "+fileKey), a.Authenticate},
		{"jwt-hs256", withHeader("Authorization", "Bearer "+hs), a.Authenticate},
		{"jwt-es256", withHeader("Authorization", "Bearer "+es), a.Authenticate},
		{"stream-ticket", httptest.NewRequest(http.MethodGet, "/rpc/x/stream?ticket="+ticket.Token, nil), a.AuthenticateStream},
	}
	if os.Getenv(redistest.Env) != "" {
		rdb, prefix := redistest.Client(b)
		rk := NewRedisKeys(rdb, prefix)
		redisKey, rrec, _ := NewKey(KeyRecord{Scopes: []string{bridge.ScopePublic}})
		_ = rk.Add(b.Context(), rrec)
		ra, _ := New(Config{Keys: []KeyStore{rk}}, nil)
		cases = append(cases, struct {
			name  string
			r     *http.Request
			check func(*http.Request) (*Principal, error)
		}{"api-key-redis-cached", withHeader("X-API-Key", redisKey), ra.Authenticate})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.check(c.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func withHeader(k, v string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/rpc/x", nil)
	r.Header.Set(k, v)
	return r
}
