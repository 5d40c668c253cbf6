package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// envHandlerStreams, set, runs the tests with Config.HandlerStreams: every
// stream served by its handler, the fallback of the detached streams
// (scripts/test.sh runs the stream tests so too).
const envHandlerStreams = "NULSGW_TEST_HANDLER_STREAMS"

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("GATEWAY_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// runCtx runs f in a goroutine until the test ends.
func runCtx(t testing.TB, f func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// startNode runs a simulated node whose blocks the test makes.
func startNode(t testing.TB, cfg devnode.Config) *devnode.Node {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.BlockInterval == 0 {
		cfg.BlockInterval = -1
	}
	n, err := devnode.New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCtx(t, n.Run)
	return n
}

// testGateway is a gateway over a simulated node, served by httptest.
type testGateway struct {
	*Server
	node   *devnode.Node
	client *bridge.Client
	hub    *subscriptions.Hub
	url    string
	up     upstream.Upstream
	// moduleURL is the gateway's module endpoint (manager topology), and
	// module the module served there.
	moduleURL string
	module    *bridge.Module
}

type gatewayOptions struct {
	cfg Config
	// streamPath: cfg.HandlerStreams is the test's, whatever
	// envHandlerStreams says.
	streamPath bool
	hub        subscriptions.Config
	nodeURL    string // an existing node instead of a new one
	manager    bool   // topology T2
	client     bridge.ClientConfig
	noWait     bool
	// feeds builds the hub's upstream; default feeds(up, 0).
	feeds func(upstream.Upstream) subscriptions.Source
}

// startGateway wires a Server as cmd/gateway does, with short timings.
func startGateway(t testing.TB, o gatewayOptions) *testGateway {
	t.Helper()
	tg := &testGateway{}
	url := o.nodeURL
	if url == "" {
		tg.node = startNode(t, devnode.Config{})
		url = tg.node.URL()
	}
	var hub *subscriptions.Hub
	notify := func(_ *bridge.Peer, n *bridge.Notification) { upstream.PublishNotification(hub, n) }
	cc := o.client
	cc.URL, cc.FirstDialJitter, cc.OnNotification = url, -1, notify
	if cc.BackoffMin == 0 {
		cc.BackoffMin, cc.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	}
	if o.manager {
		// As cmd/gateway builds it.
		module, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: "gw", TrustedCompounds: true}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { module.Close() })
		tg.module = module
		// Not the Manager, nor the gateway's own module (its advertised
		// port 1 below), as cmd/gateway excludes them.
		modules := bridge.NewModules(bridge.ModulesConfig{Client: cc, Exclude: []string{strings.TrimPrefix(url, "ws://"), "127.0.0.1:1"}}, testLogger(t))
		link, err := bridge.NewManagerLink(bridge.ManagerLinkConfig{
			URL: url, Module: module, ConnectionInformation: bridge.ConnectionInformation{IP: "127.0.0.1", Port: "1"},
			Client: cc, OnRoles: modules.Update,
		}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		runCtx(t, modules.Run)
		runCtx(t, link.Run)
		tg.client = link.Client()
		tg.up = upstream.NewManaged(link, modules, testLogger(t))
		o.cfg.Module = module
		// The module endpoint has a listener of its own, never the
		// HTTP one.
		tg.moduleURL = newWSServer(t, module)
	} else {
		c, err := bridge.NewClient(cc, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		runCtx(t, c.Run)
		tg.client = c
		tg.up = upstream.NewDirect(c)
	}
	if os.Getenv(envHandlerStreams) != "" && !o.streamPath {
		o.cfg.HandlerStreams = true // the fallback: every stream test on the handler path
	}
	if o.hub.FirstPushWait == 0 {
		o.hub.FirstPushWait = 500 * time.Millisecond
	}
	if o.hub.Chain == nil { // as cmd/gateway
		o.hub.Chain = upstream.Heights{Feeds: feeds(tg.up, 0)}
	}
	if o.hub.Render == nil {
		o.hub.Render = StreamAmounts(o.cfg.Catalog)
	}
	var feeds subscriptions.Source = feeds(tg.up, 0)
	if o.feeds != nil {
		feeds = o.feeds(tg.up)
	}
	hub = subscriptions.NewHub(o.hub, feeds, testLogger(t))
	tg.hub = hub
	o.cfg.Upstream, o.cfg.Hub = tg.up, hub
	srv, err := New(o.cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	tg.Server = srv
	// As cmd/gateway serves a plain listener.
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = edge.StrictFraming(hs.Listener)
	hs.Start()
	tg.url = hs.URL
	// Cleanups run last-in first-out: streams end, then the HTTP server,
	// then the hub, then the upstream.
	runCtx(t, hub.Run)
	t.Cleanup(hs.Close)
	runCtx(t, srv.Run)
	if !o.noWait {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := tg.client.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "method discovery", func() bool { _, source := srv.listing.List(); return source == upstream.SourceUpstream })
	}
	return tg
}

// testAuth is an Authenticator over a key file holding one key per role,
// with the embedded default's anonymous policy (public scope).
type testAuth struct {
	*auth.Authenticator
	keys *auth.FileKeys
	// admin has the public and admin scopes; public has the public scope.
	admin, public string
}

func newTestAuth(t testing.TB, cfg auth.Config) *testAuth {
	t.Helper()
	keys, err := auth.OpenKeyFile(filepath.Join(t.TempDir(), "keys.json"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testAuth{keys: keys}
	ta.admin = ta.addKey(t, auth.KeyRecord{Name: "admin", Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin}})
	ta.public = ta.addKey(t, auth.KeyRecord{Name: "public", Scopes: []string{bridge.ScopePublic}})
	cfg.Keys = append(cfg.Keys, keys)
	if cfg.Anonymous.Scopes == nil {
		cfg.Anonymous.Scopes = []string{bridge.ScopePublic}
	}
	if ta.Authenticator, err = auth.New(cfg, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	return ta
}

// addKey stores a new key and returns it.
func (ta *testAuth) addKey(t testing.TB, rec auth.KeyRecord) string {
	t.Helper()
	key, rec, err := auth.NewKey(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := ta.keys.Add(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return key
}

// bearer is the Authorization header of key.
func bearer(key string) map[string]string { return map[string]string{"Authorization": "Bearer " + key} }

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// post sends a JSON body and returns the status, headers and body.
func post(t *testing.T, url, body string) (int, http.Header, string) {
	t.Helper()
	return postWith(t, url, body, map[string]string{"Content-Type": "application/json"})
}

// postWith sends a POST with extra headers; its Content-Type is JSON
// unless header says otherwise ("" for none).
func postWith(t *testing.T, url, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func problemOf(t *testing.T, body string) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem document: %s", body)
	}
	return p
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	ID, Type, Data string
}

// sseStream reads a text/event-stream response.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	retry  string
}

// openSSE opens a stream; lastID is sent as Last-Event-ID when set.
func openSSE(t *testing.T, url, lastID string) *sseStream {
	t.Helper()
	h := map[string]string{}
	if lastID != "" {
		h["Last-Event-ID"] = lastID
	}
	return openSSEWith(t, url, h)
}

// openSSEWith opens a stream with extra request headers.
func openSSEWith(t *testing.T, url string, header map[string]string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // s.close closes it, at t.Cleanup
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &sseStream{t: t, resp: resp, events: make(chan sseEvent, 1024), cancel: cancel, done: make(chan struct{})}
	if resp.StatusCode == http.StatusOK {
		go s.read()
	} else {
		close(s.done)
		close(s.events)
	}
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) read() {
	defer close(s.done)
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var ev sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != nil || ev.Type != "" {
				ev.Data = strings.Join(data, "\n")
				s.events <- ev
			}
			ev, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Type = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[6:])
		case strings.HasPrefix(line, "retry: "):
			s.mu.Lock()
			s.retry = line[7:]
			s.mu.Unlock()
		}
	}
}

func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
	<-s.done
}

// next returns the next event.
func (s *sseStream) next(within time.Duration) sseEvent {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatalf("stream ended")
		}
		return ev
	case <-time.After(within):
		s.t.Fatalf("no event within %v", within)
	}
	return sseEvent{}
}

// height reads latestHeight's {"value": n} from an event.
func height(t *testing.T, ev sseEvent) int64 {
	t.Helper()
	var v struct{ Value int64 }
	if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
		t.Fatalf("event %+v: %v", ev, err)
	}
	return v.Value
}

// context2 shortens handler signatures in tests.
type context2 = context.Context

// newWSServer serves a module over httptest and returns its ws:// URL.
func newWSServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// devWallet is the policy of `make run`: the simulated node's wallet
// (ac_transfer, ac_createAccount) open to anonymous callers.
func devWallet(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.New(policy.Config{Catalog: catalog.NULS2(), DevWallet: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// customMethods is a policy that knows the test modules' methods as a
// custom module's (--methods-file), from methods in the RegisterAPI Methods
// format, with cfg's other settings; and the catalog that describes them.
func customMethods(t testing.TB, methods string, cfg policy.Config) (*policy.Policy, *catalog.Catalog) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "methods.json")
	if err := os.WriteFile(path, []byte(methods), 0o600); err != nil {
		t.Fatal(err)
	}
	custom, err := catalog.ReadMethods(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Catalog, cfg.Custom = catalog.NULS2(), custom
	p, err := policy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, catalog.NULS2().With(custom)
}

// feeds is the hub's upstream over up as cmd/gateway builds it, with
// event subscriptions polled every pollEvents (0: pushed).
func feeds(up upstream.Upstream, pollEvents time.Duration) upstream.Feeds {
	return upstream.Feeds{Upstream: up, PollEvents: pollEvents, RenderError: StreamError}
}
