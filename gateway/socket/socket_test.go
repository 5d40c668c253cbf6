package socket

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// fakeBackend answers every call with its method's name, and lets the test
// take the quota and the credential away.
type fakeBackend struct {
	quota   atomic.Int64
	revoked atomic.Pointer[error]
	calls   atomic.Int64
}

func (f *fakeBackend) Spend(cost int) error {
	if f.quota.Add(-int64(cost)) < 0 {
		return errors.New("rate limited")
	}
	return nil
}
func (f *fakeBackend) Cost(string) int { return 1 }
func (f *fakeBackend) Holds(context.Context) error {
	if err := f.revoked.Load(); err != nil {
		return *err
	}
	return nil
}
func (f *fakeBackend) Call(_ context.Context, q *jsonrpc.Request) (json.RawMessage, *jsonrpc.Error) {
	f.calls.Add(1)
	b, _ := json.Marshal(q.Method)
	return b, nil
}
func (f *fakeBackend) Join(context.Context, string, url.Values, string) (*subscriptions.Member, func(), error) {
	return nil, nil, errors.New("no streams here")
}
func (f *fakeBackend) Error(_ string, err error) *jsonrpc.Error {
	return jsonrpc.Errorf(-32000, "%v", err)
}
func (f *fakeBackend) Lost(err error) (int, string) { return CloseUnauthorized, err.Error() }
func (f *fakeBackend) End(error) json.RawMessage    { return json.RawMessage(`{}`) }

// serve starts a server whose /ws runs a Socket on b, and dials it.
func serve(t *testing.T, b *fakeBackend, done <-chan struct{}) (*websocket.Conn, func(error)) {
	t.Helper()
	lose := make(chan func(error), 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		sock := New(r.Context(), conn, Config{ReadLimit: 1 << 16, Heartbeat: time.Second, WriteTimeout: time.Second, MaxBatch: 3, Done: done}, b, false)
		lose <- sock.Lose
		sock.Run()
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, <-lose
}

func roundTrip(t *testing.T, c *websocket.Conn, msg string) string {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCallsAndBounds: calls are answered; a batch past MaxBatch is refused
// whole, none of it run; a client sending garbage past its quota is
// disconnected.
func TestCallsAndBounds(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{}
	b.quota.Store(10)
	c, _ := serve(t, b, nil)
	if got := roundTrip(t, c, `{"jsonrpc":"2.0","id":1,"method":"hello"}`); !strings.Contains(got, `"result":"hello"`) {
		t.Fatalf("a call: %s", got)
	}
	batch := `[` + strings.Repeat(`{"jsonrpc":"2.0","id":2,"method":"x"},`, 3) + `{"jsonrpc":"2.0","id":3,"method":"x"}]`
	if got := roundTrip(t, c, batch); !strings.Contains(got, "at most 3") {
		t.Fatalf("a batch of 4: %s", got)
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("%d calls run, want 1 (the refused batch runs none)", n)
	}
	if got := roundTrip(t, c, `{"jsonrpc":"2.0","id":4,"method":"unsubscribe","params":["9"]}`); !strings.Contains(got, `"result":false`) {
		t.Fatalf("unsubscribing from nothing: %s", got)
	}
	for range 20 {
		if err := c.WriteMessage(websocket.TextMessage, []byte(`not json`)); err != nil {
			break
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("a client sending garbage past its quota is still connected")
			}
			return
		}
	}
}

// TestLost: a socket whose credential no longer holds, found by Lose or
// at its next message, ends with a close frame of code 4401 and a reason
// of at most 123 bytes, and runs nothing more.
func TestLost(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"Lose", "next message"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			b := &fakeBackend{}
			b.quota.Store(100)
			c, lose := serve(t, b, nil)
			reason := errors.New("the API key was revoked " + strings.Repeat("x", 200))
			if how == "Lose" {
				lose(reason)
			} else {
				b.revoked.Store(&reason)
				_ = c.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"hello"}`))
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _, err := c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != CloseUnauthorized || !strings.HasPrefix(ce.Text, "the API key was revoked") || len(ce.Text) > 123 {
				t.Fatalf("%v, want a close frame 4401 with the reason cut at 123 bytes", err)
			}
			if n := b.calls.Load(); n != 0 {
				t.Fatalf("%d calls run after the credential was lost", n)
			}
		})
	}
}

// TestDone: closing Config.Done (the server shutting down) ends the socket.
func TestDone(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	c, _ := serve(t, &fakeBackend{}, done)
	close(done)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("after Done: %v, want the connection closed", err)
	}
}
