package gateway

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/nuls-gateway/nuls-gateway/auth"
)

// headerRequestIDIn is the request ID a client or a proxy in front may
// send; the gateway then logs the request under it.
const headerRequestIDIn = "X-Request-Id"

// requestState is what the middleware learns of one request, kept in one
// allocation on the hot path: the request's ID, its caller once
// authenticated, and the status written (for the access log and the
// metrics). It wraps the ResponseWriter to see the status; Unwrap lets
// http.ResponseController reach the connection (flushes, deadlines,
// hijacking). Its fields are written by the request's handler goroutine
// only, before anything else reads them.
type requestState struct {
	http.ResponseWriter
	seq       uint64 // the ID's number, formatted only when logged
	given     string // the client's X-Request-Id, if it sent one
	principal *auth.Principal
	status    int
}

type requestStateKey struct{}

func (st *requestState) WriteHeader(status int) {
	if st.status == 0 {
		st.status = status
	}
	st.ResponseWriter.WriteHeader(status)
}

func (st *requestState) Write(b []byte) (int, error) {
	if st.status == 0 {
		st.status = http.StatusOK
	}
	return st.ResponseWriter.Write(b)
}

func (st *requestState) Unwrap() http.ResponseWriter { return st.ResponseWriter }

// Hijack is for what asserts http.Hijacker rather than use a
// ResponseController (gorilla/websocket's Upgrader).
func (st *requestState) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(st.ResponseWriter).Hijack()
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

// trackRequest gives the request its state: its ID, and the writer that
// records the status. The first middleware.
func trackRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &requestState{ResponseWriter: w, seq: requestSeq.Add(1)}
		if id := r.Header.Get(headerRequestIDIn); validRequestID(id) {
			st.given = id
		}
		next.ServeHTTP(st, r.WithContext(context.WithValue(r.Context(), requestStateKey{}, st)))
	})
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

// stateOf returns r's state; nil outside trackRequest.
func stateOf(r *http.Request) *requestState {
	st, _ := r.Context().Value(requestStateKey{}).(*requestState)
	return st
}

// requestID returns the ID the log knows r by: the client's X-Request-Id
// when it sent one, else this process's prefix and the request's number.
func requestID(r *http.Request) string {
	st := stateOf(r)
	switch {
	case st == nil:
		return ""
	case st.given != "":
		return st.given
	}
	return requestIDPrefix + "-" + strconv.FormatUint(st.seq, 10)
}
