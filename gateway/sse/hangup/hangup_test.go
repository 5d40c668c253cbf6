package hangup

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair returns both ends of a TCP connection over loopback.
func pair(t *testing.T, ln net.Listener) (server, client net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return server, client
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func newWatcher(t *testing.T) *Watcher {
	t.Helper()
	w := New()
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return w
}

func waitCalled(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: onHangup not called", what)
	}
}

// TestHangup: a client that closes, one that resets, and one that sends
// something are each told once; one whose watch stopped is not, and the
// server's writes meanwhile do not count as anything.
func TestHangup(t *testing.T) {
	ln := listen(t)
	w := newWatcher(t)
	ends := map[string]func(client net.Conn){
		"close": func(c net.Conn) { _ = c.Close() },
		"reset": func(c net.Conn) { _ = c.(*net.TCPConn).SetLinger(0); _ = c.Close() },
		"sends": func(c net.Conn) { _, _ = c.Write([]byte("GET / HTTP/1.1\r\n\r\n")) },
	}
	for name, end := range ends {
		server, client := pair(t, ln)
		var calls atomic.Int32
		called := make(chan struct{}, 2)
		stop, err := w.Watch(server, func() { calls.Add(1); called <- struct{}{} })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := server.Write([]byte("data: 1\n\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if calls.Load() != 0 {
			t.Fatalf("%s: told before the client did anything", name)
		}
		end(client)
		waitCalled(t, called, name)
		stop()
		time.Sleep(20 * time.Millisecond)
		if n := calls.Load(); n != 1 {
			t.Errorf("%s: onHangup called %d times", name, n)
		}
	}
	server, client := pair(t, ln)
	stop, err := w.Watch(server, func() { t.Error("told after stop") })
	if err != nil {
		t.Fatal(err)
	}
	stop()
	_ = client.Close()
	time.Sleep(50 * time.Millisecond)
	if n := w.Watching(); n != 0 {
		t.Errorf("%d watches left", n)
	}
}

// TestManyConnections: one goroutine watches them all, whatever their
// number.
func TestManyConnections(t *testing.T) {
	ln := listen(t)
	w := newWatcher(t)
	const n = 500
	var told atomic.Int32
	all := make(chan struct{})
	clients := make([]net.Conn, n)
	for i := range n {
		server, client := pair(t, ln)
		clients[i] = client
		if _, err := w.Watch(server, func() {
			if told.Add(1) == n {
				close(all)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.Watching(); got != n {
		t.Fatalf("watching %d, want %d", got, n)
	}
	for _, c := range clients {
		_ = c.Close()
	}
	waitCalled(t, all, "500 clients closed")
}

// TestNotASocket: a connection the poller cannot watch (net.Pipe) is
// watched by a goroutine of its own, with the same contract.
func TestNotASocket(t *testing.T) {
	w := newWatcher(t)
	server, client := net.Pipe()
	defer server.Close()
	called := make(chan struct{})
	if _, err := w.Watch(server, func() { close(called) }); err != nil {
		t.Fatal(err)
	}
	_ = client.Close()
	waitCalled(t, called, "pipe closed")
}

func TestWatchAfterClose(t *testing.T) {
	w := New()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	server, _ := pair(t, ln)
	if _, err := w.Watch(server, func() {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Watch after Close: %v", err)
	}
}
