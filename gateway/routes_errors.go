package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
	"github.com/nuls-gateway/nuls-gateway/gateway/streams"
)

// Refusals of the router.
var (
	errRouteNotFound    = errors.New("no such route")
	errMethodNotAllowed = errors.New("method not allowed on this route")
)

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

// What pages of the allowed origins may send and read (CORS, edge.Guard).
const (
	// Every request header the API reads: Content-Type: application/json
	// is not a CORS-safelisted value; Last-Event-ID is what an
	// EventSource resends when it reconnects.
	corsAllowHeaders = "Authorization, " + auth.HeaderAPIKey + ", Content-Type, " + calls.HeaderIdempotencyKey + ", Prefer, Last-Event-ID, " + headerMinHeight
	// Every response header the API sets for its clients.
	corsExposeHeaders = headerMessageID + ", " + headerRequestID + ", " + headerProcessingTime + ", Server-Timing, Retry-After, Location, " +
		calls.HeaderReplayed + ", " + calls.HeaderPreferenceApplied + ", " + headerRateLimitPolicy + ", " + headerRateLimit + ", WWW-Authenticate, " + streams.HeaderSubscription
)
