package nulstarhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/policy"
)

// Backend is what the endpoint asks of the gateway. Implementations are
// safe for concurrent use.
type Backend interface {
	// Caller is the authenticated caller of r.
	Caller(r *http.Request) *auth.Principal
	// Weight is what one call of method costs.
	Weight(method string) int
	// Admit spends cost units of p's rate plan and sets the rate limit
	// headers on w; beyond the plan, the error to answer.
	Admit(w http.ResponseWriter, r *http.Request, p *auth.Principal, cost int) error
	// Check checks that p may call method with params (a JSON object).
	Check(ctx context.Context, p *auth.Principal, method string, params json.RawMessage) error
	// NotListedYet reports whether err, from Check, refuses a method
	// only because the upstream has not listed its methods yet.
	NotListedYet(err error) bool
	// Call calls methods, each checked, upstream for p.
	Call(ctx context.Context, p *auth.Principal, calls []bridge.MethodCall) (*bridge.Reply, error)
}

// Config is what the endpoint needs of the gateway.
type Config struct {
	// Backend is the gateway's side of each request. Required.
	Backend Backend
	// RetryAfter is the Retry-After, in seconds, of an answer saying the
	// upstream is unavailable: that of /rpc's 503.
	RetryAfter int
}

// Endpoint serves the Nulstar Connector's HTTP endpoint.
type Endpoint struct {
	b          Backend
	retryAfter string
	logger     *slog.Logger
}

// New returns an Endpoint as cfg says; logger nil logs nothing.
func New(cfg Config, logger *slog.Logger) *Endpoint {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Endpoint{b: cfg.Backend, retryAfter: strconv.Itoa(cfg.RetryAfter), logger: logger}
}

// Nulstar's ResponseStatus values the endpoint answers with.
const (
	statusNoMethod    = 2
	statusUnavailable = 5
	statusFormatError = 7
)

// responseIDs numbers the endpoint's Response messages, in the process.
var responseIDs atomic.Uint64

// Serve answers a raw Request message: POST /nulstar. It returns an error
// only when it has written nothing (the body could not be read, the rate
// limit), for the gateway to answer.
func (e *Endpoint) Serve(w http.ResponseWriter, r *http.Request) error {
	body, err := edge.ReadBody(r)
	if err != nil {
		return err
	}
	msg, err := bridge.Decode(body)
	var req *bridge.Request
	if err == nil {
		req, _ = msg.MessageData.(*bridge.Request)
	}
	if req == nil || len(req.RequestMethods) == 0 {
		requestID := ""
		if msg != nil {
			requestID = msg.MessageID
		}
		e.write(w, &bridge.Response{RequestID: requestID, ResponseStatus: statusFormatError,
			ResponseErrorCode: "NCN-7", ResponseComment: "Message is not in JSon format!"})
		return nil
	}
	p := publicOnly(e.b.Caller(r))
	cost := 0
	for _, c := range req.RequestMethods {
		cost += e.b.Weight(c.Method)
	}
	if err := e.b.Admit(w, r, p, cost); err != nil {
		return err
	}
	resp := e.call(r.Context(), p, msg.MessageID, req.RequestMethods)
	if resp.ResponseStatus == statusUnavailable {
		// As /rpc's 503: the Response says it at HTTP 200, as the
		// Connector does; the header tells when to retry.
		w.Header().Set("Retry-After", e.retryAfter)
	}
	e.write(w, resp)
	return nil
}

// call runs the methods of a Request for p and describes the
// outcome as a Response to requestID.
func (e *Endpoint) call(ctx context.Context, p *auth.Principal, requestID string, calls []bridge.MethodCall) *bridge.Response {
	for i, c := range calls {
		if len(c.Params) == 0 {
			calls[i].Params = []byte(`{}`)
		}
		if err := e.b.Check(ctx, p, c.Method, calls[i].Params); err != nil {
			var pce *bridge.ParamCheckError
			if e.b.NotListedYet(err) {
				// Not "not found": the upstream is away, as the
				// Connector says of a module it cannot reach.
				return &bridge.Response{RequestID: requestID, ResponseStatus: statusUnavailable, ResponseErrorCode: "NCN-5",
					ResponseComment: fmt.Sprintf("Method '%s' not available yet!", c.Method)}
			}
			if errors.As(err, &pce) {
				return &bridge.Response{RequestID: requestID, ResponseStatus: bridge.StatusFailed,
					ResponseErrorCode: bridge.CodeParameterError, ResponseComment: pce.Detail()}
			}
			// Unknown, not public, or not for this caller: as the
			// Connector says of a method it does not route.
			return &bridge.Response{RequestID: requestID, ResponseStatus: statusNoMethod, ResponseErrorCode: "NCN-2",
				ResponseComment: fmt.Sprintf("Method '%s' not found in current channel!", c.Method)}
		}
	}
	start := time.Now()
	reply, err := e.b.Call(ctx, p, calls)
	if err != nil {
		var rpcErr *bridge.RPCError
		if errors.As(err, &rpcErr) {
			return &bridge.Response{RequestID: requestID, ResponseStatus: rpcErr.Status, ResponseErrorCode: rpcErr.Code,
				ResponseComment: rpcErr.Comment, ResponseProcessingTime: strconv.FormatInt(time.Since(start).Milliseconds(), 10)}
		}
		if errors.Is(err, policy.ErrSecretAnswer) {
			return &bridge.Response{RequestID: requestID, ResponseStatus: statusNoMethod, ResponseErrorCode: "NCN-2",
				ResponseComment: fmt.Sprintf("Method '%s' answered a secret, which this endpoint does not pass on", calls[0].Method)}
		}
		comment := fmt.Sprintf("Method '%s' not available anymore!", calls[0].Method)
		if errors.Is(err, bridge.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			comment = fmt.Sprintf("Method '%s' timeout!", calls[0].Method)
		}
		return &bridge.Response{RequestID: requestID, ResponseStatus: statusUnavailable, ResponseErrorCode: "NCN-5", ResponseComment: comment}
	}
	return &bridge.Response{RequestID: requestID, ResponseStatus: bridge.StatusSuccess, ResponseProcessingTime: reply.ProcessingTime,
		ResponseData: reply.Results}
}

// write answers with the Response message.
func (e *Endpoint) write(w http.ResponseWriter, resp *bridge.Response) {
	m := bridge.NewMessage("gw-"+strconv.FormatUint(responseIDs.Add(1), 10), resp)
	b, err := bridge.Encode(m)
	if err != nil {
		e.logger.Error("Nulstar Response not encoded", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) //nolint:gosec // G705: JSON, served as application/json, never as HTML
}

// publicOnly is p limited to the public scope: what the Nulstar endpoint
// may call for anyone.
func publicOnly(p *auth.Principal) *auth.Principal {
	q := *p
	q.Scopes = nil
	if slices.Contains(p.Scopes, bridge.ScopePublic) {
		q.Scopes = []string{bridge.ScopePublic}
	}
	return &q
}
