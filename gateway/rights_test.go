package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/rpcerrors"
	"github.com/nuls-gateway/nuls-gateway/gateway/socket"
	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

// These tests are the holes "keep rights after losing them" and "crowd
// others out" of the security review, over real sockets.

// wsConn is a JSON-RPC socket of a test.
type wsConn struct {
	t    *testing.T
	conn *websocket.Conn
}

// dialSocket opens GET /jsonrpc (path and query after the gateway's URL)
// with the given headers.
func dialSocket(t *testing.T, base, pathQuery string, h map[string]string) *wsConn {
	t.Helper()
	hdr := http.Header{}
	for k, v := range h {
		hdr.Set(k, v)
	}
	conn, resp, err := websocket.DefaultDialer.DialContext(t.Context(), "ws"+strings.TrimPrefix(base, "http")+pathQuery, hdr)
	if err != nil {
		t.Fatalf("dial %s: %v %v", pathQuery, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	return &wsConn{t: t, conn: conn}
}

func (c *wsConn) write(msg string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		c.t.Fatal(err)
	}
}

// rpcMsg is a message of a socket, printed as JSON.
type rpcMsg map[string]json.RawMessage

func (m rpcMsg) String() string {
	b, _ := json.Marshal(map[string]json.RawMessage(m))
	return string(b)
}

// read returns the next message, or the error that ended the socket.
func (c *wsConn) read(within time.Duration) (rpcMsg, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(within))
	_, msg, err := c.conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	var m rpcMsg
	if err := json.Unmarshal(msg, &m); err != nil {
		c.t.Fatalf("%s: %v", msg, err)
	}
	return m, nil
}

// answer returns the answer to the request with that ID, skipping
// notifications.
func (c *wsConn) answer(id string) rpcMsg {
	c.t.Helper()
	for {
		m, err := c.read(5 * time.Second)
		if err != nil {
			c.t.Fatalf("waiting for the answer %s: %v", id, err)
		}
		if string(m["id"]) == id {
			return m
		}
	}
}

// closed waits for the socket's close frame, failing on any answer to a
// request meanwhile, and returns it.
func (c *wsConn) closed(within time.Duration) *websocket.CloseError {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := c.read(time.Until(deadline))
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce):
			return ce
		case err != nil:
			c.t.Fatalf("the socket ended without a close frame: %v", err)
		case m["id"] != nil:
			c.t.Fatalf("an answer on a socket whose rights were lost: %v", m)
		}
	}
}

// rpcErrorOf returns the code and data of a JSON-RPC error answer.
func rpcErrorOf(t *testing.T, m rpcMsg) (int, rpcerrors.Data) {
	t.Helper()
	var e struct {
		Code int
		Data rpcerrors.Data
	}
	if m["error"] == nil || json.Unmarshal(m["error"], &e) != nil {
		t.Fatalf("not an error: %v", m)
	}
	return e.Code, e.Data
}

// issueTicket gets a stream ticket for key.
func issueTicket(t *testing.T, base, key string) string {
	t.Helper()
	status, _, body := postWith(t, base+"/stream-tickets", "", bearer(key))
	var tk StreamTicket
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &tk) != nil {
		t.Fatalf("ticket: %d %s", status, body)
	}
	return tk.Ticket
}

// TestTicketOnlyFollowsStreams: a stream ticket opened GET /jsonrpc and
// made calls through it, ac_transfer included. On a socket opened with a
// ticket (query or cookie), a call gets a 403-class JSON-RPC error saying
// why, and never reaches the module; subscribe and unsubscribe work.
func TestTicketOnlyFollowsStreams(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{Anonymous: auth.AnonymousPolicy{Scopes: []string{}}})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	accts := tg.node.GenesisAccounts()
	balanceOf := func(addr string) string {
		t.Helper()
		raw, err := tg.client.Call(t.Context(), "getBalance", map[string]any{"chainId": 2, "assetChainId": 2, "assetId": 1, "address": addr})
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	before := balanceOf(accts[1].Address)
	// The admin key may call ac_transfer: only the ticket stands in the way.
	tk := issueTicket(t, tg.url, ta.admin)
	transfer := `{"jsonrpc":"2.0","method":"ac_transfer","params":` + transferBody(accts[0].Address, accts[1].Address, 100000000) + `,"id":"t"}`
	for name, c := range map[string]*wsConn{
		"query":  dialSocket(t, tg.url, "/jsonrpc?ticket="+tk, nil),
		"cookie": dialSocket(t, tg.url, "/jsonrpc", map[string]string{"Cookie": auth.TicketCookie + "=" + tk}),
	} {
		for _, call := range []string{transfer,
			`{"jsonrpc":"2.0","method":"latestHeight","params":{"chainId":2},"id":"t"}`,
			`[{"jsonrpc":"2.0","method":"latestHeight","params":{"chainId":2},"id":"t"}]`} {
			c.write(call)
			m := c.answer(`"t"`)
			if code, data := rpcErrorOf(t, m); code != rpcerrors.Forbidden || data.Status != http.StatusForbidden || !strings.Contains(data.Detail, "stream ticket") {
				t.Fatalf("%s: a call on a ticket's socket: %v, want a 403-class error saying why", name, m)
			}
		}
		c.write(`{"jsonrpc":"2.0","method":"subscribe","params":["latestHeight",{"chainId":2}],"id":"s"}`)
		var sub string
		if m := c.answer(`"s"`); json.Unmarshal(m["result"], &sub) != nil || sub == "" {
			t.Fatalf("%s: subscribe on a ticket's socket: %v", name, m)
		}
		for {
			m, err := c.read(3 * time.Second)
			if err != nil {
				t.Fatalf("%s: no notification: %v", name, err)
			}
			if string(m["method"]) == `"subscription"` {
				break
			}
		}
		c.write(`{"jsonrpc":"2.0","method":"unsubscribe","params":["` + sub + `"],"id":"u"}`)
		if m := c.answer(`"u"`); string(m["result"]) != "true" {
			t.Fatalf("%s: unsubscribe: %v", name, m)
		}
	}
	if after := balanceOf(accts[1].Address); after != before {
		t.Fatalf("a ticket's socket moved funds: %s then %s", before, after)
	}
	// The key itself still calls on its socket.
	c := dialSocket(t, tg.url, "/jsonrpc", bearer(ta.admin))
	c.write(`{"jsonrpc":"2.0","method":"latestHeight","params":{"chainId":2},"id":1}`)
	if m := c.answer("1"); m["result"] == nil {
		t.Fatalf("a call with the key: %v", m)
	}
}

// TestTicketDoors: the only doors a ticket opens are the stream routes,
// each of which only streams; every other route refuses it, in the query,
// the cookie or the Authorization header. A new route that takes tickets
// fails this test until it is looked at and added here.
func TestTicketDoors(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{Anonymous: auth.AnonymousPolicy{Scopes: []string{}}})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	tk := issueTicket(t, tg.url, ta.admin)
	do := func(method, path string, h map[string]string) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, method, tg.url+path, strings.NewReader(`{"chainId":2}`))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close() // a stream ends here
		return resp.StatusCode
	}
	var opened []string
	err := chi.Walk(tg.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		path := strings.NewReplacer("{method}", "latestHeight", "{id}", "x", "{name}", "x", "/*", "/x").Replace(route)
		if do(method, path, nil) != http.StatusUnauthorized {
			return nil // open to all: no credential needed, none taken
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		query := do(method, path+sep+"ticket="+tk, nil)
		cookie := do(method, path, map[string]string{"Cookie": auth.TicketCookie + "=" + tk})
		header := do(method, path, bearer(tk))
		if header != http.StatusUnauthorized {
			t.Errorf("%s %s took a ticket as a bearer token: %d", method, route, header)
		}
		if query != http.StatusUnauthorized || cookie != http.StatusUnauthorized {
			opened = append(opened, method+" "+route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(opened)
	want := []string{"GET /jsonrpc", "GET /notifications", "GET /rpc/{method}/stream"}
	if !slices.Equal(opened, want) {
		t.Fatalf("routes a ticket opens: %v, want the stream routes %v", opened, want)
	}
}

// TestRevokedKeyEndsStreamsAndSockets: a stream (detached by the pump, and
// served by its handler over HTTP/2), a stream opened with a ticket, and a
// socket opened with a key outlived the key's revocation. They end within
// seconds of it, the streams with an end event (a 401 problem), the socket
// with a close frame saying why; the ticket opens nothing more.
func TestRevokedKeyEndsStreamsAndSockets(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	key := ta.addKey(t, auth.KeyRecord{Scopes: []string{bridge.ScopePublic}})
	id := strings.Split(key, "_")[1]
	streamPath := "/rpc/latestHeight/stream?chainId=2"
	tk := issueTicket(t, tg.url, key)

	pumped := openSSEWith(t, tg.url+streamPath, bearer(key))
	ticketed := openSSE(t, tg.url+streamPath+"&ticket="+tk, "")
	h2 := openSSEH2(t, tg.Server, streamPath, bearer(key))
	ticketSocket := dialSocket(t, tg.url, "/jsonrpc?ticket="+tk, nil)
	sock := dialSocket(t, tg.url, "/jsonrpc", bearer(key))
	sock.write(`{"jsonrpc":"2.0","method":"subscribe","params":["latestHeight",{"chainId":2}],"id":"s"}`)
	sock.answer(`"s"`)
	for _, s := range []*sseStream{pumped, ticketed, h2} {
		if got := height(t, s.next(2*time.Second)); got != 0 {
			t.Fatalf("first event: height %d", got)
		}
	}
	if found, err := ta.keys.Revoke(t.Context(), id); err != nil || !found {
		t.Fatalf("revoke: %v %v", found, err)
	}
	revoked := time.Now()
	// A call right after the revocation, before any re-check of the open
	// sockets, is not run: the socket checks its credential as a new
	// request would, and closes.
	sock.write(`{"jsonrpc":"2.0","method":"latestHeight","params":{"chainId":2},"id":"late"}`)
	for name, s := range map[string]*sseStream{"pumped": pumped, "ticket's": ticketed, "HTTP/2": h2} {
		wantLostEnd(t, name, s, "revoked", 4*time.Second)
	}
	for name, c := range map[string]*wsConn{"key's": sock, "ticket's": ticketSocket} {
		ce := c.closed(4 * time.Second)
		if ce.Code != socket.CloseUnauthorized || !strings.Contains(ce.Text, "revoked") {
			t.Errorf("%s socket closed with %d %q, want %d and the reason", name, ce.Code, ce.Text, socket.CloseUnauthorized)
		}
	}
	if d := time.Since(revoked); d > 4*time.Second {
		t.Errorf("ended %v after the revocation", d)
	}
	s := openSSE(t, tg.url+streamPath+"&ticket="+tk, "")
	if s.resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a ticket of a revoked key opened a stream: %d", s.resp.StatusCode)
	}
	waitFor(t, "every stream slot freed", func() bool { return tg.slots.Count() == 0 })
}

// wantLostEnd reads a stream's events until its end event, a 401 problem
// whose detail says why, and then its close.
func wantLostEnd(t *testing.T, name string, s *sseStream, why string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("%s stream closed without an end event", name)
			}
			if ev.Type != "end" {
				continue
			}
			if p := problemOf(t, ev.Data); p.Status != http.StatusUnauthorized || !strings.Contains(p.Detail, why) {
				t.Fatalf("%s stream ended with %s, want a 401 saying %q", name, ev.Data, why)
			}
			select {
			case _, ok := <-s.events:
				if ok {
					t.Fatalf("%s stream: an event after the end", name)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("%s stream stayed open after its end", name)
			}
			return
		case <-deadline:
			t.Fatalf("%s stream did not end within %v", name, within)
		}
	}
}

// openSSEH2 opens a stream over HTTP/2, which the handler serves (the pump
// takes over HTTP/1.1 connections only).
func openSSEH2(t *testing.T, srv *Server, path string, h map[string]string) *sseStream {
	t.Helper()
	hs := httptest.NewUnstartedServer(srv)
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+path, nil)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
		cancel()
		resp.Body.Close()
		t.Fatalf("%s %d", resp.Proto, resp.StatusCode)
	}
	s := &sseStream{t: t, resp: resp, events: make(chan sseEvent, 64), cancel: cancel, done: make(chan struct{})}
	go s.read()
	t.Cleanup(s.close)
	return s
}

// TestExpiredCredentialsEndSockets: a socket opened with a JWT, and one
// with a ticket of an API key that expires, close when the credential
// expires; so does a stream of that ticket.
func TestExpiredCredentialsEndSockets(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	ta := newTestAuth(t, auth.Config{JWT: &auth.JWTConfig{Secret: secret, Leeway: time.Millisecond}})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	exp := time.Now().Add(3 * time.Second).Truncate(time.Second) // a JWT's exp is in seconds
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": exp.Unix()}).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	key := ta.addKey(t, auth.KeyRecord{Scopes: []string{bridge.ScopePublic}, Expires: &exp})
	tk := issueTicket(t, tg.url, key)
	jwtSocket := dialSocket(t, tg.url, "/jsonrpc", bearer(token))
	ticketSocket := dialSocket(t, tg.url, "/jsonrpc?ticket="+tk, nil)
	stream := openSSE(t, tg.url+"/rpc/latestHeight/stream?chainId=2&ticket="+tk, "")
	height(t, stream.next(2*time.Second))
	jwtSocket.write(`{"jsonrpc":"2.0","method":"latestHeight","params":{"chainId":2},"id":1}`)
	if m := jwtSocket.answer("1"); m["result"] == nil {
		t.Fatalf("a call before the JWT expired: %v", m)
	}
	wantLostEnd(t, "ticket's", stream, "expired", 6*time.Second)
	for name, c := range map[string]*wsConn{"JWT's": jwtSocket, "ticket's": ticketSocket} {
		ce := c.closed(6 * time.Second)
		if ce.Code != socket.CloseUnauthorized || !strings.Contains(ce.Text, "expired") {
			t.Errorf("%s socket closed with %d %q", name, ce.Code, ce.Text)
		}
	}
	if time.Now().Before(exp) {
		t.Fatal("ended before the credential expired")
	}
}

// TestRevocationInRedisEndsStreams: a key revoked in Redis by another
// instance ends this instance's streams of it within its cache's freshness
// and a re-check.
func TestRevocationInRedisEndsStreams(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	keys := auth.NewRedisKeys(rdb, prefix)
	a, err := auth.New(auth.Config{Keys: []auth.KeyStore{keys}, Anonymous: auth.AnonymousPolicy{Scopes: []string{bridge.ScopePublic}}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: a}})
	key, rec, err := auth.NewKey(auth.KeyRecord{Scopes: []string{bridge.ScopePublic}})
	if err != nil {
		t.Fatal(err)
	}
	other := auth.NewRedisKeys(rdb, prefix) // the keys subcommand, or another instance
	if err := other.Add(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	s := openSSEWith(t, tg.url+"/rpc/latestHeight/stream?chainId=2", bearer(key))
	height(t, s.next(2*time.Second))
	if _, err := other.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	// Within the cache's 5 s and a re-check's second, with a margin.
	wantLostEnd(t, "Redis key's", s, "revoked", 8*time.Second)
}

// TestSocketSubscriptionsPayTheirWeight: subscribing on a socket cost
// nothing while opening the same stream over SSE costs the method's
// weight. Now both do, and a socket call its method's weight.
func TestSocketSubscriptionsPayTheirWeight(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	cfg := limitedConfig(ta, ratelimit.NewLocal())
	cfg.Weights = map[string]int{"latestHeight": 4}
	tg := startGateway(t, gatewayOptions{cfg: cfg})
	// The default plan's burst is 10: two subscriptions of weight 4 fit, a
	// third does not.
	sub := dialSocket(t, tg.url, "/jsonrpc", bearer(ta.public))
	for i := range 3 {
		sub.write(fmt.Sprintf(`{"jsonrpc":"2.0","method":"subscribe","params":["latestHeight",{"chainId":2},{"eventCounter":%d}],"id":%d}`, i+1, i))
		m := sub.answer(fmt.Sprint(i))
		if i < 2 && m["result"] == nil {
			t.Fatalf("subscription %d: %v", i, m)
		}
		if i == 2 {
			if code, _ := rpcErrorOf(t, m); code != rpcerrors.RateLimited {
				t.Fatalf("a third subscription of weight 4 within a burst of 10: %v, want rate limited", m)
			}
		}
	}
	call := dialSocket(t, tg.url, "/jsonrpc", bearer(ta.admin))
	for i := range 3 {
		call.write(fmt.Sprintf(`{"jsonrpc":"2.0","method":"latestHeight","params":{"chainId":2},"id":%d}`, i))
		m := call.answer(fmt.Sprint(i))
		if i < 2 && m["result"] == nil {
			t.Fatalf("call %d: %v", i, m)
		}
		if i == 2 {
			if code, _ := rpcErrorOf(t, m); code != rpcerrors.RateLimited {
				t.Fatalf("a third call of weight 4 within a burst of 10: %v, want rate limited", m)
			}
		}
	}
}
