package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLogger logs to the test output when -v and BRIDGE_TEST_LOG are set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("BRIDGE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// testModule is a module with a few methods, served over a real socket.
type testModule struct {
	*Module
	srv    *httptest.Server
	url    string
	height atomic.Int64
	calls  atomic.Int64 // runs of "count"
}

func newTestModule(t *testing.T, cfg ModuleConfig) *testModule {
	t.Helper()
	if cfg.Abbreviation == "" {
		cfg.Abbreviation = "tm"
	}
	m, err := NewModule(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	tm := &testModule{Module: m}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Register(Method{Name: "echo", Handler: func(_ context.Context, c *Call) (any, error) { return c.Params, nil }}))
	must(m.Register(Method{
		Name: "add",
		Parameters: []Parameter{
			{Name: "a", Type: "int", ValidRange: "[0,100]", Required: true},
			{Name: "b", Type: "int", Required: true},
			{Name: "label", Type: "String", ValidRegExp: "[a-z]+"},
		},
		Handler: func(_ context.Context, c *Call) (any, error) {
			var p struct{ A, B int }
			if err := c.Bind(&p); err != nil {
				return nil, err
			}
			return map[string]int{"sum": p.A + p.B}, nil
		},
	}))
	must(m.Register(Method{Name: "count", Handler: func(context.Context, *Call) (any, error) {
		return tm.calls.Add(1), nil
	}}))
	must(m.Register(Method{Name: "fail", Handler: func(context.Context, *Call) (any, error) {
		return nil, Fail("ac_0001", "account not found")
	}}))
	must(m.Register(Method{Name: "boom", Handler: func(context.Context, *Call) (any, error) {
		panic("boom")
	}}))
	must(m.Register(Method{Name: "slow", Handler: func(ctx context.Context, c *Call) (any, error) {
		var p struct{ Ms int }
		_ = c.Bind(&p)
		select {
		case <-time.After(time.Duration(p.Ms) * time.Millisecond):
			return "done", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}}))
	must(m.Register(Method{Name: "height", MinEvent: 1, MinPeriod: 1, Handler: func(context.Context, *Call) (any, error) {
		return map[string]int64{"value": tm.height.Load()}, nil
	}}))
	must(m.Register(Method{Name: "list", MinPeriod: 1, Handler: func(context.Context, *Call) (any, error) {
		return map[string]any{"list": []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "total": 10}, nil
	}}))
	tm.srv = httptest.NewServer(m)
	tm.url = "ws" + strings.TrimPrefix(tm.srv.URL, "http")
	t.Cleanup(func() {
		_ = m.Close()
		tm.srv.Close()
	})
	return tm
}

// bump raises the height and its event.
func (tm *testModule) bump() {
	tm.height.Add(1)
	tm.Trigger("height")
}

// startClient runs a Client against url until the test ends and waits until
// it is connected.
func startClient(t *testing.T, url string, cfg ClientConfig) *Client {
	t.Helper()
	c := runClient(t, url, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("client not ready: %v", err)
	}
	return c
}

// runClient runs a Client without waiting for it to connect.
func runClient(t *testing.T, url string, cfg ClientConfig) *Client {
	t.Helper()
	cfg.URL = url
	if cfg.FirstDialJitter == 0 {
		cfg.FirstDialJitter = -1
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = 20 * time.Millisecond
		cfg.BackoffMax = 200 * time.Millisecond
	}
	c, err := NewClient(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return c
}

// nextPush waits for one push.
func nextPush(t *testing.T, s *Subscription, within time.Duration) Push {
	t.Helper()
	select {
	case p, ok := <-s.C():
		if !ok {
			t.Fatalf("subscription ended: %v", s.Err())
		}
		return p
	case <-time.After(within):
		t.Fatalf("no push within %v", within)
	}
	return Push{}
}

// noPush checks that nothing arrives for a while.
func noPush(t *testing.T, s *Subscription, within time.Duration) {
	t.Helper()
	select {
	case p, ok := <-s.C():
		if ok {
			t.Fatalf("unexpected push %s", resultsText(p.Results))
		}
	case <-time.After(within):
	}
}

func resultsText(rs []MethodResult) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s=%s ", r.Method, r.Result)
	}
	return strings.TrimSpace(b.String())
}

// rawPeer is a scripted WebSocket endpoint: the test reads and writes frames
// itself, to play a Java or Nulstar peer or a broken one.
type rawPeer struct {
	t  *testing.T
	ws *websocket.Conn
	mu sync.Mutex
}

func (r *rawPeer) send(frame string) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawPeer) sendMsg(m *Message) {
	r.t.Helper()
	b, err := Encode(m)
	if err != nil {
		r.t.Fatal(err)
	}
	r.send(string(b))
}

// read returns the next message, or fails the test after within.
func (r *rawPeer) read(within time.Duration) *Message {
	r.t.Helper()
	m, err := r.tryRead(within)
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

func (r *rawPeer) tryRead(within time.Duration) (*Message, error) {
	_ = r.ws.SetReadDeadline(time.Now().Add(within))
	typ, b, err := r.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	if typ == websocket.BinaryMessage {
		if b, err = inflate(b, 1<<20); err != nil {
			return nil, err
		}
	}
	return Decode(b)
}

// rawServer accepts WebSockets and hands each to script.
func rawServer(t *testing.T, script func(r *rawPeer)) string {
	t.Helper()
	var wg sync.WaitGroup
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Counted before the upgrade hijacks the connection: until then
		// httptest's Close waits for this handler, so the Add happens before
		// the cleanup's Wait. Counted after, it could race with the Wait.
		wg.Add(1)
		defer wg.Done()
		ws, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		script(&rawPeer{t: t, ws: ws})
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func jsonEqual(t *testing.T, want string, got json.RawMessage) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal([]byte(want), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatalf("result %s: %v", got, err)
	}
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	if string(aj) != string(bj) {
		t.Errorf("got %s, want %s", got, want)
	}
}
