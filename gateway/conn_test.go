package gateway

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

// rawAnswer is what a raw connection got for what it sent.
type rawAnswer struct {
	resp     *http.Response // nil: no answer
	body     string
	answered time.Duration // from the write to the answer
	closed   time.Duration // from the write to the server's close; 0: still open
}

// rawExchange writes req on conn (a new connection when nil), reads one
// answer, then waits up to wait for the server to close the connection.
func rawExchange(t *testing.T, addr, req string, wait time.Duration) rawAnswer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	return rawOn(t, c, br, req, wait)
}

func rawOn(t *testing.T, c net.Conn, br *bufio.Reader, req string, wait time.Duration) rawAnswer {
	t.Helper()
	start := time.Now()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	var a rawAnswer
	_ = c.SetReadDeadline(start.Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		a.closed = time.Since(start)
		return a
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.resp, a.body, a.answered = resp, string(b), time.Since(start)
	if wait <= 0 {
		return a
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("%q: more bytes after the answer", req)
	} else if !errors.Is(err, os.ErrDeadlineExceeded) {
		a.closed = time.Since(start) // EOF, or a reset
	}
	return a
}

// TestRefusedBodiesDoNotHoldConnections: a request refused before its body
// was read (wrong media type, a bad credential, a cross-site post, a
// missing scope, a spent quota, an unknown route, a body too large for the
// limit) whose body never comes was never answered: net/http reads what is
// left of a body before it answers, with no deadline. Now the answer comes
// at once and the connection is closed at the body's deadline at the
// latest; a call whose body was read keeps its connection.
func TestRefusedBodiesDoNotHoldConnections(t *testing.T) {
	t.Parallel()
	const bodyTimeout = 500 * time.Millisecond
	ta := newTestAuth(t, auth.Config{})
	cfg := limitedConfig(ta, ratelimit.NewLocal())
	cfg.BodyTimeout, cfg.MaxBodyBytes = bodyTimeout, 1000
	tg := startGateway(t, gatewayOptions{cfg: cfg})
	addr := strings.TrimPrefix(tg.url, "http://")
	// An address whose quota is spent.
	for range 5 {
		if status, _, body := postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, from("203.0.113.9", nil)); status != http.StatusOK {
			t.Fatalf("spending the quota: %d %s", status, body)
		}
	}
	const call = "POST /rpc/latestHeight HTTP/1.1\r\nHost: x\r\n"
	for _, c := range []struct {
		name, head string
		status     int
	}{
		{"no media type", call + "Content-Length: 100\r\n\r\n", http.StatusUnsupportedMediaType},
		{"text/plain", call + "Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n", http.StatusUnsupportedMediaType},
		{"text/plain, chunked", call + "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n", http.StatusUnsupportedMediaType},
		{"text/plain, 100-continue", call + "Content-Type: text/plain\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", http.StatusUnsupportedMediaType},
		{"a bad credential", call + "Content-Type: application/json\r\nAuthorization: Bearer ngw_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nContent-Length: 100\r\n\r\n", http.StatusUnauthorized},
		{"cross-site", call + "Content-Type: application/json\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 100\r\n\r\n", http.StatusForbidden},
		{"no admin scope", "POST /compound-methods HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " + ta.public + "\r\nContent-Length: 100\r\n\r\n", http.StatusForbidden},
		// A failed authentication spends the address's quota, before
		// the body.
		{"quota spent", call + "Content-Type: application/json\r\nX-Forwarded-For: 203.0.113.9\r\nAuthorization: Bearer ngw_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nContent-Length: 100\r\n\r\n", http.StatusTooManyRequests},
		{"unknown route", "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", http.StatusNotFound},
		{"method not allowed", "PUT /methods HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", http.StatusMethodNotAllowed},
		// Below net/http's 256 KiB, beyond which it gives up on a body
		// at once.
		{"beyond the limit", call + "Content-Type: application/json\r\nContent-Length: 2000\r\n\r\n", http.StatusRequestEntityTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := rawExchange(t, addr, c.head, 4*bodyTimeout)
			if a.resp == nil {
				t.Fatalf("no answer within 5s (closed after %v)", a.closed)
			}
			if a.resp.StatusCode != c.status || a.answered > time.Second {
				t.Errorf("%d after %v, want %d at once", a.resp.StatusCode, a.answered, c.status)
			}
			if !a.resp.Close {
				t.Errorf("answer without Connection: close: %v", a.resp.Header)
			}
			if a.closed == 0 || a.closed > bodyTimeout+time.Second {
				t.Errorf("connection closed after %v (0: still open after %v), want by the body timeout %v", a.closed, 4*bodyTimeout, bodyTimeout)
			}
		})
	}

	t.Run("a body read whole keeps the connection", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		req := call + "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"chainId\":2}"
		for i := range 2 {
			a := rawOn(t, c, br, req, 0)
			if a.resp == nil || a.resp.StatusCode != http.StatusOK || a.resp.Close {
				t.Fatalf("call %d on one connection: %+v %s", i, a.resp, a.body)
			}
		}
	})
	t.Run("a chunked body closes the connection", func(t *testing.T) {
		t.Parallel()
		a := rawExchange(t, addr, call+"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n{\"chainId\":2}\r\n0\r\n\r\n", 2*time.Second)
		if a.resp == nil || a.resp.StatusCode != http.StatusOK || !a.resp.Close || a.closed == 0 {
			t.Fatalf("chunked call: %+v %s, closed after %v", a.resp, a.body, a.closed)
		}
	})
}

// TestAmbiguousFraming: a request with both Transfer-Encoding and
// Content-Length (RFC 9112 6.1, request smuggling) was processed by its
// chunks and the connection kept for the next request, which could be
// what a proxy in front took for part of the body. Now it gets 400 and a
// closed connection, and nothing after it on the connection is served.
func TestAmbiguousFraming(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	addr := strings.TrimPrefix(tg.url, "http://")
	const head = "POST /rpc/latestHeight HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	const chunks = "d\r\n{\"chainId\":2}\r\n0\r\n\r\n"
	smuggled := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, c := range []struct{ name, req string }{
		{"content-length first", head + "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks},
		{"transfer-encoding first", head + "Transfer-Encoding: chunked\r\nContent-Length: 13\r\n\r\n" + chunks},
		{"lower case, bare line feeds", strings.ReplaceAll(head, "\r\n", "\n") + "transfer-encoding: chunked\ncontent-length: 13\n\n" + chunks},
		{"a header ending like a request line between them", head + "Content-Length: 13\r\nX-Note: a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks},
		{"a long method", "ABCDEFGHIJKLMNOPQRSTUVWXYZ /rpc/latestHeight HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks},
		{"HTTP/1.0 with a transfer coding", "POST /rpc/latestHeight HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n" + chunks},
		{"a smuggled request after the chunks", head + "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + smuggled},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := rawExchange(t, addr, c.req, 2*time.Second)
			if a.resp == nil || a.resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("%+v %s, want 400", a.resp, a.body)
			}
			if a.closed == 0 || a.closed > time.Second {
				t.Errorf("connection closed after %v (0: still open), want at once", a.closed)
			}
		})
	}

	// After a good request on the connection, as first.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if a := rawOn(t, c, br, head+"Content-Length: 13\r\n\r\n{\"chainId\":2}", 0); a.resp == nil || a.resp.StatusCode != http.StatusOK {
		t.Fatalf("first call: %+v %s", a.resp, a.body)
	}
	if a := rawOn(t, c, br, head+"Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n"+chunks, 2*time.Second); a.resp == nil || a.resp.StatusCode != http.StatusBadRequest || a.closed == 0 {
		t.Fatalf("second call framed two ways: %+v %s, closed after %v", a.resp, a.body, a.closed)
	}
}
