package gateway

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// Refusals of the HTTP edge.
var (
	errCrossSite            = errors.New("cross-site request from an origin the gateway does not allow")
	errUnsupportedMediaType = errors.New("the body must be application/json")
	errRouteNotFound        = errors.New("no such route")
	errMethodNotAllowed     = errors.New("method not allowed on this route")
)

// bodyError is a request body that could not be read: malformed chunking,
// a client gone mid-body, or one too slow to send it. It is the client's
// fault: 400 (408 when too slow), never a 5xx, logged below ERROR.
type bodyError struct {
	err     error
	timeout bool
}

func (e *bodyError) Error() string {
	if e.timeout {
		return "the request body did not arrive in time"
	}
	return "the request body could not be read: " + e.err.Error()
}

func (e *bodyError) Unwrap() error { return e.err }

// secureHeaders marks every answer as what its Content-Type says, so that
// no browser sniffs a JSON error into a page.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// crossOrigin refuses what a page of a foreign origin makes a browser send:
// every unsafe request (POST, DELETE) whose Sec-Fetch-Site or Origin says
// it comes from another origin than one of Config.CORSOrigins (Go's
// CrossOriginProtection), and, on the routes that act on a GET (streams
// subscribe upstream, /requests reads an answer), a GET marked cross-site
// by Sec-Fetch-Site or by a foreign Origin (an <img>, an EventSource). No
// credential is needed for such requests to do harm: the anonymous policy
// lets them in. Non-browser clients send neither header and pass. With
// "*" among the origins every page is allowed, and nothing is refused.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	if slices.Contains(s.cfg.CORSOrigins, "*") {
		return next
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range s.cfg.CORSOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			panic(err) // checkOrigins validated them in New
		}
	}
	trusted := func(origin string) bool { return slices.Contains(s.cfg.CORSOrigins, origin) }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			s.writeError(w, r, fmt.Errorf("%w: %v", errCrossSite, err))
			return
		}
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && actsOnGet(r.URL.Path) && crossSiteGet(r, trusted) {
			s.writeError(w, r, errCrossSite)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// actsOnGet reports whether a GET of path does more than read a document:
// opening a stream subscribes upstream, and GET /jsonrpc opens a socket
// that calls and subscribes.
func actsOnGet(path string) bool {
	return strings.HasPrefix(path, "/rpc/") || path == "/notifications" || strings.HasPrefix(path, "/requests/") || path == "/jsonrpc"
}

// crossSiteGet reports whether a browser sent a GET for a page of an origin
// that is neither the gateway's nor trusted.
func crossSiteGet(r *http.Request, trusted func(string) bool) bool {
	origin := r.Header.Get("Origin")
	if origin != "" && trusted(origin) {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	case "same-origin", "none":
		return false
	}
	if origin == "" {
		return false // not a browser, or an old one on a same-origin GET
	}
	// No Sec-Fetch-Site: compare Origin with the host asked.
	host := origin
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	return host != r.Host
}

// isJSON reports whether a Content-Type is JSON: application/json or a
// +json type, with any parameters.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// limitBody guards the routes that read a body. A declared Content-Length
// beyond Config.MaxBodyBytes is refused at once (413, nothing read); a body
// must be JSON (415), which no HTML form and no cross-origin "simple
// request" can send without a CORS preflight; the body is cut at the limit;
// and it must arrive within Config.BodyTimeout, so that stalled and
// dribbled bodies cannot hold connections. A refusal written before the
// body is read closes the connection (requestState.settle), so that the
// body never sent does not hold it either.
func (s *Server) limitBody(next http.Handler) http.Handler { return s.limitBodyOf(true, next) }

// limitAnyBody is limitBody for a body of any media type: the Nulstar
// endpoint's scripts post theirs as whatever their HTTP library sends.
// Browsers' cross-site posts are refused before it (crossOrigin).
func (s *Server) limitAnyBody(next http.Handler) http.Handler { return s.limitBodyOf(false, next) }

// limitBodyOf bounds a body's size and time, and with requireJSON its
// media type.
func (s *Server) limitBodyOf(requireJSON bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			s.writeError(w, r, &http.MaxBytesError{Limit: s.cfg.MaxBodyBytes})
			return
		}
		if r.ContentLength == 0 {
			// No body (or an empty one): nothing to wait for, and no
			// deadline to leave on the connection.
			next.ServeHTTP(w, r)
			return
		}
		if requireJSON && !isJSON(r.Header.Get("Content-Type")) {
			w.Header().Set("Accept-Post", "application/json")
			s.writeError(w, r, fmt.Errorf("%w, not %q", errUnsupportedMediaType, r.Header.Get("Content-Type")))
			return
		}
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
		r.Body = &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), w: w}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the body's read deadline once the body is read whole:
// the connection's reads that follow (net/http's check that the client is
// still there, while the call runs) must not time out. A body that failed
// keeps it, so that net/http, which would drain what is left before the
// next request, gives up at once and closes the connection.
type deadlineBody struct {
	io.ReadCloser
	w    http.ResponseWriter
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = http.NewResponseController(b.w).SetReadDeadline(time.Time{})
	}
	return n, err
}

// readBody reads a guarded body whole; its errors are the client's
// (bodyError) or a size beyond the limit (*http.MaxBytesError).
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err == nil {
		// Closed once read whole, net/http has nothing left to drain
		// before the answer.
		_ = r.Body.Close()
		return b, nil
	}
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		return nil, err
	}
	return nil, &bodyError{err: err, timeout: errors.Is(err, os.ErrDeadlineExceeded)}
}

// notFound answers an unknown route with a problem document.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, fmt.Errorf("%w: %s", errRouteNotFound, r.URL.Path))
}

// routeMethods are the methods the router is asked about for Allow.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodNotAllowed answers a known route asked with another method: a
// problem document and the Allow header (RFC 9110 15.5.6).
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range routeMethods {
		if s.router.Match(chi.NewRouteContext(), m, r.URL.Path) {
			allow = append(allow, m)
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeError(w, r, fmt.Errorf("%w: %s %s; allowed: %s", errMethodNotAllowed, r.Method, r.URL.Path, strings.Join(allow, ", ")))
}
