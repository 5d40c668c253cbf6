package edge

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
)

// Refusals of the HTTP edge.
var (
	// ErrCrossSite refuses what a page of a foreign origin made a
	// browser send.
	ErrCrossSite = errors.New("cross-site request from an origin the gateway does not allow")
	// ErrUnsupportedMediaType refuses a body that is not JSON.
	ErrUnsupportedMediaType = errors.New("the body must be application/json")
)

// GuardConfig configures a Guard.
type GuardConfig struct {
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// BodyTimeout bounds the time a client takes to send a body.
	BodyTimeout time.Duration
	// Origins are the origins (scheme://host[:port]) whose pages may call
	// the gateway and open its streams; "*" allows every origin.
	Origins []string
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (ClientIP).
	TrustedProxies []netip.Prefix
	// AllowHeaders are the request headers a CORS preflight allows;
	// ExposeHeaders the response headers pages of allowed origins may
	// read.
	AllowHeaders, ExposeHeaders string
	// Refuse answers a request the guards refuse: the gateway's problem
	// document (its one error writer).
	Refuse func(w http.ResponseWriter, r *http.Request, err error)
}

// Guard is the HTTP edge's protections: the cross-origin guard, CORS, the
// body's size, media type and deadline, and the client's address. Its
// middleware is safe for concurrent use.
type Guard struct {
	cfg GuardConfig
	// cop is Go's CrossOriginProtection for the trusted origins; nil when
	// every origin is allowed.
	cop *http.CrossOriginProtection
}

// NewGuard returns a Guard; it fails on an origin that is not one.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	if err := CheckOrigins(cfg.Origins); err != nil {
		return nil, err
	}
	g := &Guard{cfg: cfg}
	if !slices.Contains(cfg.Origins, "*") {
		g.cop = http.NewCrossOriginProtection()
		for _, o := range cfg.Origins {
			if err := g.cop.AddTrustedOrigin(o); err != nil {
				return nil, fmt.Errorf("edge: origin %q: %w", o, err)
			}
		}
	}
	return g, nil
}

// BodyError is a request body that could not be read: malformed chunking,
// a client gone mid-body, or one too slow to send it. It is the client's
// fault: 400 (408 when too slow), never a 5xx, logged below ERROR.
type BodyError struct {
	err error
	// Timeout is set when the body did not arrive in time (408).
	Timeout bool
}

func (e *BodyError) Error() string {
	if e.Timeout {
		return "the request body did not arrive in time"
	}
	return "the request body could not be read: " + e.err.Error()
}

func (e *BodyError) Unwrap() error { return e.err }

// SecureHeaders marks every answer as what its Content-Type says, so that
// no browser sniffs a JSON error into a page.
func SecureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// CrossOrigin refuses what a page of a foreign origin makes a browser send:
// every unsafe request (POST, DELETE) whose Sec-Fetch-Site or Origin says
// it comes from another origin than one of the trusted ones (Go's
// CrossOriginProtection), and, on the routes that act on a GET (streams
// subscribe upstream, /requests reads an answer), a GET marked cross-site
// by Sec-Fetch-Site or by a foreign Origin (an <img>, an EventSource). No
// credential is needed for such requests to do harm: the anonymous policy
// lets them in. Non-browser clients send neither header and pass. With
// "*" among the origins every page is allowed, and nothing is refused.
func (g *Guard) CrossOrigin(next http.Handler) http.Handler {
	if g.cop == nil {
		return next
	}
	trusted := func(origin string) bool { return slices.Contains(g.cfg.Origins, origin) }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := g.cop.Check(r); err != nil {
			g.cfg.Refuse(w, r, fmt.Errorf("%w: %v", ErrCrossSite, err))
			return
		}
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && actsOnGet(r.URL.Path) && crossSiteGet(r, trusted) {
			g.cfg.Refuse(w, r, ErrCrossSite)
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

// LimitBody guards the routes that read a body. A declared Content-Length
// beyond GuardConfig.MaxBodyBytes is refused at once (413, nothing read); a body
// must be JSON (415), which no HTML form and no cross-origin "simple
// request" can send without a CORS preflight; the body is cut at the limit;
// and it must arrive within GuardConfig.BodyTimeout, so that stalled and
// dribbled bodies cannot hold connections. A refusal written before the
// body is read closes the connection (State.settle), so that the
// body never sent does not hold it either.
func (g *Guard) LimitBody(next http.Handler) http.Handler { return g.limitBodyOf(true, next) }

// LimitAnyBody is LimitBody for a body of any media type: the Nulstar
// endpoint's scripts post theirs as whatever their HTTP library sends.
// Browsers' cross-site posts are refused before it (crossOrigin).
func (g *Guard) LimitAnyBody(next http.Handler) http.Handler { return g.limitBodyOf(false, next) }

// limitBodyOf bounds a body's size and time, and with requireJSON its
// media type.
func (g *Guard) limitBodyOf(requireJSON bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > g.cfg.MaxBodyBytes {
			g.cfg.Refuse(w, r, &http.MaxBytesError{Limit: g.cfg.MaxBodyBytes})
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
			g.cfg.Refuse(w, r, fmt.Errorf("%w, not %q", ErrUnsupportedMediaType, r.Header.Get("Content-Type")))
			return
		}
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(g.cfg.BodyTimeout))
		r.Body = &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes), w: w}
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

// ReadBody reads a guarded body whole; its errors are the client's
// (BodyError) or a size beyond the limit (*http.MaxBytesError).
func ReadBody(r *http.Request) ([]byte, error) {
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
	return nil, &BodyError{err: err, Timeout: errors.Is(err, os.ErrDeadlineExceeded)}
}
