package edge

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
)

// headerRequestIDIn is the request ID a client or a proxy in front may
// send; the gateway then logs the request under it.
const headerRequestIDIn = "X-Request-Id"

// State is what the middleware learns of one request, kept in one
// allocation on the hot path: the request's ID, its caller once
// authenticated, the status written (for the access log and the metrics),
// and how much of its body was read. It wraps the ResponseWriter to see the
// status and the moment the answer's head goes out; Unwrap lets
// http.ResponseController reach the connection (flushes, deadlines,
// hijacking). Its fields are written by the request's handler goroutine
// only, before anything else reads them.
type State struct {
	http.ResponseWriter
	seq       uint64 // the ID's number, formatted only when logged
	given     string // the client's X-Request-Id, if it sent one
	principal *auth.Principal
	status    int
	written   int64 // bytes of the answer's body written

	// body is the request's body as the handlers read it, on an HTTP/1
	// connection; its ReadCloser is nil when there is none.
	body trackedBody
	// bodyDeadline is when the body had to have arrived: the request's
	// start and Config.BodyTimeout.
	bodyDeadline time.Time
	// closeAfter closes the connection after the answer, whatever was
	// read (an HTTP/1 chunked body, see settle).
	closeAfter bool
	// settled: settle ran; hijacked: the connection was taken over.
	settled, hijacked bool
	// streamed: the request opened a stream or a socket (SetStreamed).
	streamed bool
}

type stateKey struct{}

// Principal is the request's caller once authenticated; nil before.
func (st *State) Principal() *auth.Principal { return st.principal }

// SetPrincipal records the request's caller (the authentication
// middleware), with no new context or request: the hot path.
func (st *State) SetPrincipal(p *auth.Principal) { st.principal = p }

// SetStreamed records that the request opened a stream or a socket: its
// duration is a lifetime, not a latency.
func (st *State) SetStreamed() { st.streamed = true }

// Streamed reports whether the request opened a stream or a socket.
func (st *State) Streamed() bool { return st.streamed }

// Status is the status written; 0 before anything was.
func (st *State) Status() int { return st.status }

// WriteHeader implements http.ResponseWriter: it records the status, and
// settles the body first.
func (st *State) WriteHeader(status int) {
	if st.status == 0 {
		st.status = status
		st.settle()
	}
	st.ResponseWriter.WriteHeader(status)
}

// Written is how many bytes of the answer's body were written (through
// the handler's ResponseWriter, not on a connection it took over).
func (st *State) Written() int64 { return st.written }

// Write implements http.ResponseWriter.
func (st *State) Write(b []byte) (int, error) {
	if st.status == 0 {
		st.status = http.StatusOK
		st.settle()
	}
	n, err := st.ResponseWriter.Write(b)
	st.written += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (st *State) Unwrap() http.ResponseWriter { return st.ResponseWriter }

// Hijack is for what asserts http.Hijacker rather than use a
// ResponseController (gorilla/websocket's Upgrader); a ResponseController
// finds it too, before Unwrap.
func (st *State) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(st.ResponseWriter).Hijack()
	if err == nil {
		st.hijacked = true
	}
	return conn, rw, err
}

// settle runs once, before the answer's head is written (or when the
// handler returns having written nothing), and sees that a body the
// handler did not read whole cannot hold the connection.
//
// net/http, before it sends an answer, reads what is left of the body so
// that the connection can serve the next request (up to 256 KiB), and
// closes it after the answer without that drain only when the answer says
// "Connection: close". The gateway's server has no read timeout (streams
// are long-lived), so a refusal written before the body was read (401,
// 403, 415, 429, 404 of a POST with a Content-Length) to a client that
// never sends its body held the connection for ever, the answer unsent.
// So such an answer closes the connection: it goes out at once, and
// net/http's last read of the body, after it, ends at the body's deadline
// (Config.BodyTimeout after the request's start) at the latest. A body
// read whole (the usual call) leaves the connection open.
//
// An HTTP/1 chunked body closes the connection too, even read whole:
// RFC 9112 6.1 requires it after a request that also had a
// Content-Length, and net/http drops that header before the handler
// sees it. StrictFraming refuses such requests on plain connections
// (400); this covers the others (TLS) at the price of a reconnection for
// clients that stream their bodies.
//
// HTTP/2 is left alone: its bodies do not hold the connection, and a
// "Connection: close" there would end every stream of the connection
// (net/http sends GOAWAY).
func (st *State) settle() {
	if st.settled {
		return
	}
	st.settled = true
	if st.hijacked {
		return // the connection is no longer net/http's
	}
	unread := st.body.ReadCloser != nil && !st.body.ended
	if unread || st.closeAfter {
		st.Header().Set("Connection", "close")
	}
	if unread {
		_ = http.NewResponseController(st.ResponseWriter).SetReadDeadline(st.bodyDeadline)
	}
}

// trackedBody is a request body that knows whether it was read to its end.
type trackedBody struct {
	io.ReadCloser
	ended bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.ended = true
	}
	return n, err
}

// requestIDPrefix tells this process's request IDs apart from another
// instance's: the host name and a random word, as chi's RequestID.
var requestIDPrefix = func() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return host + "/" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}()

var requestSeq atomic.Uint64

// Track gives the request its state: its ID, the writer that
// records the status, and, on HTTP/1, the body that records whether it
// was read whole (see State.settle), whose deadline is bodyTimeout
// after now. The first middleware.
func Track(bodyTimeout time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := &State{ResponseWriter: w, seq: requestSeq.Add(1)}
			if id := r.Header.Get(headerRequestIDIn); validRequestID(id) {
				st.given = id
			}
			r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
			if r.ProtoMajor == 1 {
				// net/http sets ContentLength -1 for a chunked body, 0
				// for none.
				st.closeAfter = len(r.TransferEncoding) > 0
				if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
					st.body.ReadCloser = r.Body
					st.bodyDeadline = time.Now().Add(bodyTimeout)
					r.Body = &st.body // r is WithContext's copy
				}
			}
			next.ServeHTTP(st, r)
			st.settle() // the handler wrote nothing: net/http answers 200
		})
	}
}

// validRequestID reports whether a client's request ID may name its
// request in the log: at most 128 printable ASCII characters. Another is
// ignored, as a stranger's text.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// StateOf returns r's state; nil outside Track.
func StateOf(r *http.Request) *State {
	st, _ := r.Context().Value(stateKey{}).(*State)
	return st
}

// RequestID returns the ID the log knows r by: the client's X-Request-Id
// when it sent one, else this process's prefix and the request's number.
func RequestID(r *http.Request) string {
	st := StateOf(r)
	switch {
	case st == nil:
		return ""
	case st.given != "":
		return st.given
	}
	return requestIDPrefix + "-" + strconv.FormatUint(st.seq, 10)
}
