package devnode

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// readHeaderTimeout bounds the HTTP upgrade request of a connection.
const readHeaderTimeout = 10 * time.Second

// endpoint is one listener of the node and the module that serves it.
type endpoint struct {
	role   string // "kernel" for the main endpoint
	module *bridge.Module
	ln     net.Listener
	srv    *http.Server
}

// newEndpoint serves m on ln. A Java module's server answers only paths
// starting with /ws (StartServerProcessor.PATH); javaPath does the same,
// answering 404 where Java would never answer. The main endpoint answers
// every path, as Nulstar and the Java kernel (path /) do.
func newEndpoint(role string, m *bridge.Module, ln net.Listener, javaPath bool, logger *slog.Logger) *endpoint {
	var h http.Handler = m
	if javaPath {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/ws") {
				http.NotFound(w, r)
				return
			}
			m.ServeHTTP(w, r)
		})
	}
	return &endpoint{
		role:   role,
		module: m,
		ln:     ln,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: readHeaderTimeout,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
	}
}

// port returns the port the endpoint listens on.
func (e *endpoint) port() string {
	_, port, _ := net.SplitHostPort(e.ln.Addr().String())
	return port
}
