package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

// BenchmarkRPCCallSecured is BenchmarkRPCCall with what a public gateway
// adds to a call: authenticating the caller and metering it. Compare its
// sub-benchmarks in one run (go test -run='^$' -bench=RPCCall ./gateway):
// open is the embedded default (anonymous, no rate limits), the others add
// a credential and a limiter. The plans never refuse: the cost measured is
// the checks'.
func BenchmarkRPCCallSecured(b *testing.B) {
	huge := ratelimit.Plan{Rate: 1_000_000, Period: time.Second, Burst: 1 << 30}
	plans := map[string]ratelimit.Plan{"anonymous": {Name: "anonymous", Rate: huge.Rate, Period: huge.Period, Burst: huge.Burst},
		"default": {Name: "default", Rate: huge.Rate, Period: huge.Period, Burst: huge.Burst}}
	secret := []byte("0123456789abcdef0123456789abcdef")
	jwtToken, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "bench", "exp": time.Now().Add(time.Hour).Unix(), "scope": "public"}).SignedString(secret)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name    string
		limiter func(b *testing.B) ratelimit.Limiter
		cred    func(ta *testAuth) map[string]string
	}{
		{name: "open"},
		{name: "anonymous+local-limit", limiter: func(*testing.B) ratelimit.Limiter { return ratelimit.NewLocal() }},
		{name: "api-key+local-limit", limiter: func(*testing.B) ratelimit.Limiter { return ratelimit.NewLocal() },
			cred: func(ta *testAuth) map[string]string { return bearer(ta.public) }},
		{name: "jwt-hs256+local-limit", limiter: func(*testing.B) ratelimit.Limiter { return ratelimit.NewLocal() },
			cred: func(*testAuth) map[string]string { return bearer(jwtToken) }},
		{name: "api-key+redis-limit", limiter: func(b *testing.B) ratelimit.Limiter {
			rdb, prefix := redistest.Client(b)
			return &ratelimit.Fallback{Primary: ratelimit.NewRedis(rdb, prefix), Local: ratelimit.NewLocal()}
		}, cred: func(ta *testAuth) map[string]string { return bearer(ta.public) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ta := newTestAuth(b, auth.Config{JWT: &auth.JWTConfig{Secret: secret}})
			cfg := Config{Auth: ta}
			if c.limiter != nil {
				cfg.Limiter, cfg.Plans = c.limiter(b), plans
			}
			var header map[string]string
			if c.cred != nil {
				header = c.cred(ta)
			}
			tg := startGateway(b, gatewayOptions{cfg: cfg})
			benchCalls(b, tg.url+"/rpc/latestHeight", header)
		})
	}
}

// benchCalls runs POST url in parallel until b.N.
func benchCalls(b *testing.B, url string, header map[string]string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	call := func() error {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"chainId":2}`))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return &statusError{resp.StatusCode}
		}
		return nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
