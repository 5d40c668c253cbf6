package gateway

import (
	"errors"
	"net/http"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/gateway/metrics"
)

// countInFlight counts the request in nuls_gateway_http_requests_in_flight
// while it is served, or until it opens a stream or a socket (streaming).
func (s *Server) countInFlight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metrics.RequestStarted()
		defer s.requestDone(r) // a panic too: Recoverer is further in
		next.ServeHTTP(w, r)
	})
}

func (s *Server) requestDone(r *http.Request) {
	if !streamed(r) {
		s.metrics.RequestDone()
	}
}

// streaming records that r opened a stream or a socket: it leaves the
// requests in flight, and its duration is a lifetime
// (nuls_gateway_stream_duration_seconds), not a latency.
func (s *Server) streaming(r *http.Request) {
	if st := edge.StateOf(r); st != nil && !st.Streamed() {
		st.SetStreamed()
		s.metrics.StreamOpened()
	}
}

// streamed reports whether r opened a stream or a socket.
func streamed(r *http.Request) bool {
	st := edge.StateOf(r)
	return st != nil && st.Streamed()
}

// socketClosed counts the end of a JSON-RPC WebSocket opened at start.
func (s *Server) socketClosed(start time.Time) {
	s.metrics.StreamEnded(metrics.StreamSocket, time.Since(start))
}

// denied counts a refusal for lack of grants in
// nuls_gateway_auth_failures_total and returns it: forbidden for a
// credential, missing for an anonymous caller (a credential may help).
func (s *Server) denied(e *accessError) error {
	reason := metrics.AuthForbidden
	if e.anonymous {
		reason = metrics.AuthMissing
	}
	s.metrics.AuthFailed(reason)
	return e
}

// authFailure is the reason label of a credential refused by the
// authenticator.
func authFailure(err error) string {
	var ae *auth.Error
	switch {
	case errors.Is(err, auth.ErrNoCredential):
		return metrics.AuthMissing
	case errors.Is(err, auth.ErrUnavailable):
		return metrics.AuthUnavailable
	case errors.As(err, &ae):
		switch ae.Reason {
		case auth.ReasonMalformed:
			return metrics.AuthMalformed
		case auth.ReasonInvalidKey:
			return metrics.AuthInvalidKey
		case auth.ReasonInvalidJWT:
			return metrics.AuthInvalidJWT
		case auth.ReasonInvalidTicket:
			return metrics.AuthInvalidTicket
		case auth.ReasonExpired:
			return metrics.AuthExpired
		}
	}
	return metrics.Other
}

// healthOf reads, per role, whether each upstream connection is
// negotiated, when the upstream tells.
func healthOf(up any) func() map[string]bool {
	if h, ok := up.(interface{ Health() map[string]bool }); ok {
		return h.Health
	}
	return nil
}
