package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway/batch"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
	"github.com/nuls-gateway/nuls-gateway/gateway/compoundhttp"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/gateway/slots"
	"github.com/nuls-gateway/nuls-gateway/gateway/socket"
	"github.com/nuls-gateway/nuls-gateway/gateway/streamquery"
	"github.com/nuls-gateway/nuls-gateway/gateway/streams"
	"github.com/nuls-gateway/nuls-gateway/nulsapi"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/state"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// statusClientClosed is nginx's 499: the client went away before the answer
// (calls.StatusClientClosed).
const statusClientClosed = calls.StatusClientClosed

// Gateway-side errors. Each maps to one status in httpStatus.
var (
	errUnknownMethod = errors.New("unknown method")
	errBadMethodName = errors.New("invalid method name")
	errNotCallable   = errors.New("method not callable through the gateway")
	// errNotListedYet: the upstream has not listed its methods yet (it is
	// away, or the gateway has just started), so no name can be told
	// unknown: 503 and Retry-After, never 404, so that clients retry.
	errNotListedYet = errors.New("the upstream has not listed its methods yet: retry later")
)

// badRequestError is a malformed body or parameter.
type badRequestError struct{ msg string }

func (e *badRequestError) Error() string { return e.msg }

func badRequest(msg string) error { return &badRequestError{msg: msg} }

// httpStatus is the one mapping from errors to HTTP statuses (docs/api.md, "Errors").
func httpStatus(err error) int {
	var (
		rpcErr   *bridge.RPCError
		bad      *badRequestError
		pce      *bridge.ParamCheckError
		bound    *policy.BoundError
		badDef   *compound.InvalidError
		maxBytes *http.MaxBytesError
		bodyErr  *edge.BodyError
		authErr  *auth.Error
		accErr   *accessError
		limited  *rateLimitedError
		quota    *state.QuotaError
		query    *streamquery.Error
		stream   *streams.Error
	)
	switch {
	case errors.As(err, &maxBytes), errors.Is(err, batch.ErrAnswersTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &bodyErr):
		if bodyErr.Timeout {
			return http.StatusRequestTimeout
		}
		return http.StatusBadRequest
	case errors.Is(err, edge.ErrUnsupportedMediaType):
		return http.StatusUnsupportedMediaType
	case errors.As(err, &authErr), errors.Is(err, auth.ErrNoCredential):
		return http.StatusUnauthorized
	case errors.As(err, &accErr):
		if accErr.anonymous {
			return http.StatusUnauthorized
		}
		return http.StatusForbidden
	case errors.Is(err, edge.ErrCrossSite), errors.Is(err, errSecretAnswer), errors.Is(err, errSecretParam), errors.Is(err, errTicketCalls):
		return http.StatusForbidden
	case errors.As(err, &limited), errors.Is(err, slots.ErrClientStreams), errors.Is(err, slots.ErrClientTopics), errors.Is(err, socket.ErrSubscriptions):
		return http.StatusTooManyRequests
	case errors.As(err, &quota):
		// The caller's share of the kept answers is its own limit; the
		// total is the gateway's.
		if quota.Total {
			return http.StatusServiceUnavailable
		}
		return http.StatusTooManyRequests
	case errors.Is(err, calls.ErrAnswerNotKept):
		// Kept in place of an answer beyond the bounds: the call ran,
		// its answer could not be stored (RFC 4918 11.5).
		return http.StatusInsufficientStorage
	case errors.Is(err, errRouteNotFound):
		return http.StatusNotFound
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, compoundhttp.ErrTooMany):
		return http.StatusConflict
	case errors.Is(err, auth.ErrUnavailable), errors.Is(err, subscriptions.ErrTooManyTopics), errors.Is(err, errNotListedYet):
		return http.StatusServiceUnavailable
	case errors.As(err, &bad), errors.As(err, &query), errors.As(err, &stream), errors.As(err, &pce), errors.As(err, &bound), errors.As(err, &badDef), errors.Is(err, errBadMethodName), errors.Is(err, subscriptions.ErrBadEventID):
		return http.StatusBadRequest
	case errors.Is(err, errUnknownMethod), errors.Is(err, compoundhttp.ErrUnknownMethod), errors.Is(err, errNotCallable), errors.Is(err, calls.ErrUnknownRequest), errors.Is(err, errNoPool):
		return http.StatusNotFound
	case errors.Is(err, upstream.ErrOutcomeUnknown):
		// A write whose node failed after it had the Request: it may or
		// may not have been done (an Idempotency-Key makes the retry
		// safe). Before the transport errors it wraps.
		return http.StatusBadGateway
	case errors.Is(err, calls.ErrKeyReused):
		// The IETF idempotency-key draft's answer to a key reused
		// with another payload.
		return http.StatusUnprocessableEntity
	case errors.Is(err, calls.ErrKeyInFlight), errors.Is(err, calls.ErrKeyFreed):
		return http.StatusConflict
	case errors.Is(err, compound.ErrExists):
		return http.StatusConflict
	case errors.As(err, &rpcErr):
		switch {
		case rpcErr.MethodNotFound():
			return http.StatusNotFound
		case rpcErr.InvalidParams():
			return http.StatusBadRequest
		}
		// The module ran and reported a failure: the request was
		// understood but could not be processed.
		return http.StatusUnprocessableEntity
	case errors.Is(err, bridge.ErrTimeout):
		return http.StatusGatewayTimeout
	case errors.Is(err, nulsapi.ErrBadAnswer):
		// The module answered something the gateway cannot read there.
		return http.StatusBadGateway
	case errors.Is(err, bridge.ErrNotConnected), errors.Is(err, bridge.ErrConnectionLost),
		errors.Is(err, bridge.ErrClosed), errors.Is(err, slots.ErrFull), errors.Is(err, subscriptions.ErrClosed),
		errors.Is(err, subscriptions.ErrUnavailable), errors.Is(err, calls.ErrStateUnavailable), errors.Is(err, upstream.ErrPublicServiceUnavailable), errors.Is(err, compound.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return statusClientClosed
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// Problem is an RFC 9457 problem details object, with the NULS fields of the
// failure when the upstream reported one.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Method is the NULS method concerned.
	Method string `json:"method,omitempty"`
	// ResponseStatus is the upstream ResponseStatus (65536 for Java
	// failures, 1-7 for Nulstar).
	ResponseStatus int `json:"responseStatus,omitempty"`
	// ResponseErrorCode is the upstream code, such as "err_0021".
	ResponseErrorCode string `json:"responseErrorCode,omitempty"`
	// ResponseComment is the upstream comment.
	ResponseComment string `json:"responseComment,omitempty"`
}

// problemFor describes err for the client of r; details of unexpected
// errors stay in the log.
func problemFor(err error, r *http.Request) Problem {
	return problemAt(err, r.URL.Path, edge.RequestID(r))
}

// problemAt describes err for the client of the request at path, with the
// request ID the log knows it by. It serves where the request is gone (a
// stream taken over from net/http, a push).
func problemAt(err error, path, requestID string) Problem {
	status := httpStatus(err)
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Instance: path}
	var rpcErr *bridge.RPCError
	if errors.As(err, &rpcErr) {
		p.Method = rpcErr.Method
		p.ResponseStatus = rpcErr.Status
		p.ResponseErrorCode = rpcErr.Code
		p.ResponseComment = rpcErr.Comment
		p.Detail = "the module reported a failure"
		if rpcErr.Comment != "" {
			p.Detail = rpcErr.Comment
		}
		return p
	}
	var (
		pce   *bridge.ParamCheckError
		bound *policy.BoundError
	)
	switch {
	case status == http.StatusInternalServerError:
		p.Detail = "internal error; see the gateway log with request ID " + requestID
	case status == statusClientClosed:
		p.Title = "Client Closed Request"
	case errors.As(err, &pce):
		p.Detail = pce.Detail()
	case errors.As(err, &bound):
		p.Detail = bound.Detail()
	default:
		p.Detail = err.Error()
	}
	return p
}

// StreamError describes a failure as the event a stream sends for it (the
// upstream-error and end events): the problem document /rpc answers the
// same failure with, naming the method. It is upstream.Feeds.RenderError.
func StreamError(method string, err error) json.RawMessage {
	prob := problemAt(err, "", "")
	prob.Method = method
	var rpcErr *bridge.RPCError
	if errors.As(err, &rpcErr) {
		prob.Detail = rpcErr.Comment
	}
	b, _ := json.Marshal(prob)
	return b
}

// endData describes why a stream ended.
func endData(err error, path string) []byte {
	if errors.Is(err, subscriptions.ErrClosed) {
		return []byte(`{"detail":"the subscription ended"}`)
	}
	b, _ := json.Marshal(problemAt(err, path, ""))
	return b
}

// handlerFunc is a handler that returns its failure rather than write it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to net/http: a failure it returns is answered here, in
// one place, as a problem document (writeError). h returns an error only
// when it has written nothing.
func (s *Server) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// writeError answers with a problem document and logs what the client does
// not see.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err, r)
	level := slog.LevelDebug
	if p.Status >= 500 && p.Status != http.StatusServiceUnavailable && p.Status != http.StatusGatewayTimeout {
		level = slog.LevelError
	}
	s.logger.LogAttrs(r.Context(), level, "request failed",
		slog.String("request_id", edge.RequestID(r)),
		slog.String("path", r.URL.Path), slog.Int("status", p.Status), slog.Any("err", err))
	if p.Status == statusClientClosed {
		return
	}
	h := w.Header()
	var bodyErr *edge.BodyError
	if errors.As(err, &bodyErr) {
		// What is left of the body cannot be trusted to end: net/http
		// would otherwise keep the connection and wait on it for the
		// next request.
		h.Set("Connection", "close")
	}
	if (p.Status == http.StatusServiceUnavailable || p.Status == http.StatusTooManyRequests) && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	if p.Status == http.StatusUnauthorized || p.Status == http.StatusForbidden && !errors.Is(err, edge.ErrCrossSite) && !errors.Is(err, errSecretAnswer) && !errors.Is(err, errSecretParam) {
		h.Set("WWW-Authenticate", challenge(err))
	}
	b, merr := json.Marshal(p)
	if merr != nil {
		b = []byte(edge.FallbackProblem)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(b)
}

// retryAfterSeconds is the Retry-After of a 503: about one reconnect backoff.
const retryAfterSeconds = 2

// writeJSON answers with a JSON body (edge.WriteJSON).
func writeJSON(w http.ResponseWriter, status int, v any) { edge.WriteJSON(w, status, v) }

// writeRaw answers with JSON text as it is (edge.WriteRaw).
func writeRaw(w http.ResponseWriter, status int, b []byte) { edge.WriteRaw(w, status, b) }
