package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

// testPlans are plans whose quotas do not come back during a test: an
// anonymous address may spend 5 units, a credential 10.
var testPlans = map[string]ratelimit.Plan{
	"anonymous": {Name: "anonymous", Rate: 1, Period: time.Hour, Burst: 5},
	"default":   {Name: "default", Rate: 1, Period: time.Hour, Burst: 10},
	"free":      {Name: "free", Rate: 1, Period: time.Hour, Burst: 2},
}

// limitedConfig is a gateway with rate limits and the test's addresses
// behind a trusted proxy (127.0.0.1), so that X-Forwarded-For tells the
// test's clients apart.
func limitedConfig(ta *testAuth, limiter ratelimit.Limiter) Config {
	return Config{Auth: ta, Limiter: limiter, Plans: testPlans, Weights: map[string]int{"getBalance": 2},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
}

func from(addr string, h map[string]string) map[string]string {
	out := map[string]string{"X-Forwarded-For": addr}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// TestRateLimits on one instance: per address for anonymous callers, per
// credential otherwise, weighted, with the IETF headers and 429s.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	reg := prometheus.NewRegistry()
	cfg := limitedConfig(ta, ratelimit.NewLocal())
	cfg.Registry = reg
	tg := startGateway(t, gatewayOptions{cfg: cfg})
	height := `{"chainId":2}`

	for i := range 5 {
		status, h, body := postWith(t, tg.url+"/rpc/latestHeight", height, from("203.0.113.1", nil))
		if status != http.StatusOK {
			t.Fatalf("anonymous call %d: %d %s", i, status, body)
		}
		if p, s := h.Get(headerRateLimitPolicy), h.Get(headerRateLimit); p != `"anonymous";q=5;w=18000` || !strings.HasPrefix(s, `"anonymous";r=`+string(rune('4'-i))+";t=") {
			t.Fatalf("call %d: RateLimit-Policy %q, RateLimit %q", i, p, s)
		}
	}
	status, h, body := postWith(t, tg.url+"/rpc/latestHeight", height, from("203.0.113.1", nil))
	if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" || h.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("beyond the quota: %d %v %s, want a 429 problem with Retry-After", status, h, body)
	}
	if v := metric(t, tg, "nuls_gateway_rate_limited_total"); v != 1 {
		t.Errorf("nuls_gateway_rate_limited_total %v", v)
	}
	// One instance without Redis decides alone by design: no fallback
	// to count, so an alert on fallbacks stays quiet.
	if v := metric(t, tg, "nuls_gateway_rate_limit_local_total"); v != 0 {
		t.Errorf("nuls_gateway_rate_limit_local_total %v without Redis, want 0: no Redis, no fallback", v)
	}
	// Another address has its quota; so has a credential from the first.
	if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", height, from("203.0.113.2", nil)); status != http.StatusOK {
		t.Fatalf("another address: %d", status)
	}
	if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", height, from("203.0.113.1", bearer(ta.public))); status != http.StatusOK {
		t.Fatalf("a credential from the limited address: %d", status)
	}
	// IPv6 addresses count by /64.
	for i, addr := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2::4", "2001:db8:1:2::5"} {
		if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", height, from(addr, nil)); status != http.StatusOK {
			t.Fatalf("IPv6 call %d: %d", i, status)
		}
	}
	if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", height, from("2001:db8:1:2::6", nil)); status != http.StatusTooManyRequests {
		t.Fatalf("a sixth call from the same /64: %d, want 429", status)
	}

	// Weights: getBalance costs 2, a batch the sum, a stream its weight.
	key := bearer(ta.addKey(t, auth.KeyRecord{Scopes: []string{bridge.ScopePublic}}))
	acct := tg.node.GenesisAccounts()[0].Address
	balance := `{"chainId":2,"assetChainId":2,"assetId":1,"address":"` + acct + `"}`
	for i := range 3 { // 6 units
		if status, _, body := postWith(t, tg.url+"/rpc/getBalance", balance, key); status != http.StatusOK {
			t.Fatalf("getBalance %d: %d %s", i, status, body)
		}
	}
	if status, _, body := postWith(t, tg.url+"/rpc", `{"latestHeight":`+height+`,"getBalance":`+balance+`}`, key); status != http.StatusOK { // 9
		t.Fatalf("batch: %d %s", status, body)
	}
	if s := openSSEWith(t, tg.url+"/rpc/latestHeight/stream?chainId=2", key); s.resp.StatusCode != http.StatusOK { // 10
		t.Fatalf("stream: %d", s.resp.StatusCode)
	}
	if status, h, _ := postWith(t, tg.url+"/rpc/latestHeight", height, key); status != http.StatusTooManyRequests || h.Get(headerRateLimitPolicy) != `"default";q=10;w=36000` {
		t.Fatalf("the 11th unit: %d %v, want 429 under the default plan", status, h)
	}
	// A key's own plan.
	free := bearer(ta.addKey(t, auth.KeyRecord{Scopes: []string{bridge.ScopePublic}, Plan: "free"}))
	if status, _, _ := postWith(t, tg.url+"/rpc/getBalance", balance, free); status != http.StatusOK {
		t.Fatalf("free plan: %d", status)
	}
	if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", height, free); status != http.StatusTooManyRequests {
		t.Fatalf("beyond the free plan: %d", status)
	}
	// Failed authentications spend the address's anonymous quota.
	for i := range 5 {
		if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", height, from("198.51.100.7", map[string]string{"X-API-Key": "ngw_0123456789abcdef_" + strings.Repeat("A", 43)})); status != http.StatusUnauthorized {
			t.Fatalf("bad key %d: %d, want 401", i, status)
		}
	}
	if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", height, from("198.51.100.7", map[string]string{"X-API-Key": "ngw_0123456789abcdef_" + strings.Repeat("B", 43)})); status != http.StatusTooManyRequests {
		t.Fatalf("the sixth bad key: %d, want 429", status)
	}
	// Documents are metered per address too (one is built per request),
	// the probes are not.
	for i := range 6 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, tg.url+"/openapi.json", nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.8")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: http.StatusOK, false: http.StatusTooManyRequests}[i < 5]; resp.StatusCode != want {
			t.Fatalf("openapi.json %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	for range 10 {
		if status, _ := get(t, tg.url+"/healthz"); status != http.StatusOK {
			t.Fatalf("healthz metered: %d", status)
		}
	}
	// An untrusted peer's X-Forwarded-For is ignored: the peer is the client.
	if got := tg.Server.guard.ClientIP(httptest.NewRequest(http.MethodGet, "/", nil)); got != "192.0.2.1" {
		t.Fatalf("clientIP of httptest's default peer: %q", got)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set("X-Forwarded-For", "10.9.9.9")
	if got := tg.Server.guard.ClientIP(r); got != "192.0.2.1" {
		t.Fatalf("an untrusted peer named the client: %q", got)
	}
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Set("X-Forwarded-For", "10.9.9.9, 127.0.0.5")
	if got := tg.Server.guard.ClientIP(r); got != "10.9.9.9" {
		t.Fatalf("behind two trusted proxies: %q, want 10.9.9.9", got)
	}
}

// TestLimitsAcrossInstances: three gateways sharing Redis share one quota
// per client, one set of API keys and one stream ticket secret.
func TestLimitsAcrossInstances(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	node := startNode(t, devnode.Config{})
	keys := auth.NewRedisKeys(rdb, prefix)
	key, rec, _ := auth.NewKey(auth.KeyRecord{Scopes: []string{bridge.ScopePublic}})
	if err := keys.Add(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	streamer, rec2, _ := auth.NewKey(auth.KeyRecord{Scopes: []string{bridge.ScopePublic}})
	if err := keys.Add(t.Context(), rec2); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for range 3 {
		a, err := auth.New(auth.Config{Keys: []auth.KeyStore{auth.NewRedisKeys(rdb, prefix)},
			Anonymous: auth.AnonymousPolicy{Scopes: []string{bridge.ScopePublic}},
			Tickets:   auth.TicketConfig{SharedSecret: auth.RedisTicketSecret(rdb, prefix)}}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		cfg := limitedConfig(&testAuth{Authenticator: a}, &ratelimit.Fallback{Primary: ratelimit.NewRedis(rdb, prefix), Local: ratelimit.NewLocal()})
		urls = append(urls, startGateway(t, gatewayOptions{nodeURL: node.URL(), cfg: cfg}).url)
	}
	allowed := map[string]int{}
	for i := range 30 {
		for who, h := range map[string]map[string]string{"anonymous": from("203.0.113.9", nil), "key": from("203.0.113.9", bearer(key))} {
			if status, _, _ := postWith(t, urls[i%3]+"/rpc/latestHeight", `{"chainId":2}`, h); status == http.StatusOK {
				allowed[who]++
			} else if status != http.StatusTooManyRequests {
				t.Fatalf("%s call %d: %d", who, i, status)
			}
		}
	}
	if allowed["anonymous"] != 5 || allowed["key"] != 10 {
		t.Fatalf("three instances allowed %v of 30 calls each, want the plans' bursts (anonymous 5, key 10)", allowed)
	}
	// A ticket issued by one instance opens a stream on another.
	status, _, body := postWith(t, urls[0]+"/stream-tickets", "", bearer(streamer))
	var tk StreamTicket
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &tk) != nil || tk.Ticket == "" {
		t.Fatalf("ticket: %d %s", status, body)
	}
	s := openSSE(t, urls[2]+"/rpc/latestHeight/stream?chainId=2&ticket="+tk.Ticket, "")
	if got := height(t, s.next(3*time.Second)); got != 0 {
		t.Fatalf("a ticket of another instance: height %d", got)
	}
}

// TestLimitsWithRedisDown: with Redis unreachable, calls go on, metered by
// each instance alone, quickly.
func TestLimitsWithRedisDown(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: limitedConfig(ta, &ratelimit.Fallback{
		Primary: ratelimit.NewRedis(redistest.Unreachable(t), "down"), Local: ratelimit.NewLocal(), Timeout: 50 * time.Millisecond})})
	start := time.Now()
	for i := range 5 {
		if status, _, body := postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, from("203.0.113.3", nil)); status != http.StatusOK {
			t.Fatalf("call %d with Redis down: %d %s", i, status, body)
		}
	}
	if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, from("203.0.113.3", nil)); status != http.StatusTooManyRequests {
		t.Fatalf("beyond the quota with Redis down: %d, want 429 (local limits)", status)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("six calls took %v with Redis down", d)
	}
	if v := metric(t, tg, "nuls_gateway_rate_limit_local_total"); v != 6 {
		t.Errorf("nuls_gateway_rate_limit_local_total %v, want the 6 local checks", v)
	}
}

// TestStreamTicketsOverHTTP: a key gets a ticket; the ticket opens streams
// as a query parameter or an HttpOnly cookie, is no credential for calls,
// and an anonymous caller gets none.
func TestStreamTicketsOverHTTP(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{Anonymous: auth.AnonymousPolicy{Scopes: []string{}}})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	if s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2", ""); s.resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no anonymous access: %d", s.resp.StatusCode)
	}
	if status, _, _ := postWith(t, tg.url+"/stream-tickets", "", nil); status != http.StatusUnauthorized {
		t.Fatalf("anonymous ticket: %d", status)
	}
	status, h, body := postWith(t, tg.url+"/stream-tickets?cookie=1", "", bearer(ta.public))
	var tk StreamTicket
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &tk) != nil || tk.ExpiresIn <= 0 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("ticket: %d %v %s", status, h, body)
	}
	cookie := h.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, auth.TicketCookie+"="+tk.Ticket) || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("Set-Cookie %q", cookie)
	}
	s := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2&ticket="+tk.Ticket, "")
	if got := height(t, s.next(2*time.Second)); got != 0 {
		t.Fatalf("stream with a ticket: height %d", got)
	}
	s = openSSEWith(t, tg.url+"/rpc/latestHeight/stream?chainId=2", map[string]string{"Cookie": auth.TicketCookie + "=" + tk.Ticket})
	if got := height(t, s.next(2*time.Second)); got != 0 {
		t.Fatalf("stream with the ticket cookie: height %d", got)
	}
	if status, _, _ := postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, map[string]string{"Cookie": auth.TicketCookie + "=" + tk.Ticket}); status != http.StatusUnauthorized {
		t.Fatalf("a call with the ticket cookie: %d, want 401", status)
	}
	if status, _, _ := postWith(t, tg.url+"/stream-tickets", "", bearer(tk.Ticket)); status != http.StatusUnauthorized {
		t.Fatalf("a ticket for a ticket: %d, want 401", status)
	}
}

// TestStreamEndsWhenTheCredentialExpires: a stream opened with a JWT ends
// with an end event (a 401 problem) when the JWT expires, on HTTP/1.1 (the
// pump) and on HTTP/2 (the handler).
func TestStreamEndsWhenTheCredentialExpires(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	ta := newTestAuth(t, auth.Config{JWT: &auth.JWTConfig{Secret: secret, Leeway: time.Millisecond}})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	token := func(ttl time.Duration) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(ttl).Unix()}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	check := func(s *sseStream, opened time.Time) {
		t.Helper()
		if got := height(t, s.next(2*time.Second)); got != 0 {
			t.Fatalf("first event: height %d", got)
		}
		ev := s.next(5 * time.Second)
		if ev.Type != "end" || !strings.Contains(ev.Data, `"status":401`) || !strings.Contains(ev.Data, "expired") {
			t.Fatalf("event %+v, want an end event with a 401 problem", ev)
		}
		if d := time.Since(opened); d < time.Second {
			t.Fatalf("ended after %v, before the credential expired", d)
		}
		select {
		case _, ok := <-s.events:
			if ok {
				t.Fatal("an event after the end")
			}
		case <-time.After(2 * time.Second):
			t.Fatal("the stream stayed open after its end")
		}
	}
	opened := time.Now()
	check(openSSEWith(t, tg.url+"/rpc/latestHeight/stream?chainId=2", bearer(token(2*time.Second))), opened)

	srv := httptest.NewUnstartedServer(tg.Server)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/rpc/latestHeight/stream?chainId=2", nil)
	req.Header.Set("Authorization", "Bearer "+token(2*time.Second))
	opened = time.Now()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("%s", resp.Proto)
	}
	s := &sseStream{t: t, resp: resp, events: make(chan sseEvent, 16), cancel: cancel, done: make(chan struct{})}
	go s.read()
	check(s, opened)
}

// TestUnlimitedPlans: a plan may be unlimited (the load tests run so): no
// limit, no RateLimit headers.
func TestUnlimitedPlans(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{Limiter: ratelimit.NewLocal(),
		Plans: map[string]ratelimit.Plan{"anonymous": {Name: "anonymous"}, "default": {Name: "default"}}}})
	for range 100 {
		status, h, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`)
		if status != http.StatusOK || h.Get(headerRateLimitPolicy) != "" || h.Get(headerRateLimit) != "" {
			t.Fatalf("%d %v %s", status, h, body)
		}
	}
}
