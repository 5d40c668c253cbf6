package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
)

// The Nulstar Connector's HTTP endpoint (port 8089): a script posts a raw
// protocol Request message and gets the raw Response message back. The
// gateway serves it at POST /nulstar, and at POST / of a listener of its
// own (cmd/gateway --nulstar-listen), so that such scripts work unchanged
// and in parallel (the Connector's endpoint fails under two concurrent
// connections). It calls public methods only, whatever the credential: it
// is a door for scripts, not for administration. The caller's
// authentication, body limits and rate limit are those of /rpc.
//
// Answers follow the Connector's (docs/protocol.md#nulstar): every
// failure is a Response at HTTP 200, with the Connector's statuses: 2
// method not found (for a method the caller may not call, too), 5 timeout
// or unavailable, 7 a body that is not a JSON Request message; a module's
// own failure keeps its status, code and comment.

// Nulstar's ResponseStatus values the endpoint answers with.
const (
	nulstarNoMethod    = 2
	nulstarUnavailable = 5
	nulstarFormatError = 7
)

// nulstarIDs numbers the endpoint's Response messages.
var nulstarIDs atomic.Uint64

// nulstarHTTP answers a raw Request message.
//
//	@Summary		Nulstar's HTTP endpoint: a raw Request message in, the raw Response out
//	@ID				nulstarRequest
//	@Description	The body is a NULS module-protocol Request message (MessageType Request, RequestMethods), as scripts post to the Nulstar Connector's port 8089. The answer is the Response message, at HTTP 200 even for failures (ResponseStatus 2: no such public method; 5: timeout or upstream unavailable; 7: not a JSON Request message). Public methods only.
//	@Tags			rpc
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			message	body		object	true	"A Request message"
//	@Success		200		{object}	object	"The Response message"
//	@Failure		401		{object}	Problem
//	@Failure		413		{object}	Problem
//	@Failure		415		{object}	Problem
//	@Failure		429		{object}	Problem
//	@Router			/nulstar [post]
func (s *Server) nulstarHTTP(w http.ResponseWriter, r *http.Request) error {
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
		s.writeNulstar(w, &bridge.Response{RequestID: requestID, ResponseStatus: nulstarFormatError,
			ResponseErrorCode: "NCN-7", ResponseComment: "Message is not in JSon format!"})
		return nil
	}
	p := publicOnly(principalOf(r))
	cost := 0
	for _, c := range req.RequestMethods {
		cost += s.weight(c.Method)
	}
	if err := s.admit(w, r, p, cost); err != nil {
		return err
	}
	resp := s.nulstarCall(r.Context(), p, msg.MessageID, req.RequestMethods)
	if resp.ResponseStatus == nulstarUnavailable {
		// As /rpc's 503: the Response says it at HTTP 200, as the
		// Connector does; the header tells when to retry.
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	s.writeNulstar(w, resp)
	return nil
}

// nulstarCall runs the methods of a Request for p and describes the
// outcome as a Response to requestID.
func (s *Server) nulstarCall(ctx context.Context, p *auth.Principal, requestID string, calls []bridge.MethodCall) *bridge.Response {
	for i, c := range calls {
		if len(c.Params) == 0 {
			calls[i].Params = []byte(`{}`)
		}
		if err := s.check(ctx, p, target{name: c.Method}, calls[i].Params); err != nil {
			var pce *bridge.ParamCheckError
			if errors.Is(err, errNotListedYet) {
				// Not "not found": the upstream is away, as the
				// Connector says of a module it cannot reach.
				return &bridge.Response{RequestID: requestID, ResponseStatus: nulstarUnavailable, ResponseErrorCode: "NCN-5",
					ResponseComment: fmt.Sprintf("Method '%s' not available yet!", c.Method)}
			}
			if errors.As(err, &pce) {
				return &bridge.Response{RequestID: requestID, ResponseStatus: bridge.StatusFailed,
					ResponseErrorCode: bridge.CodeParameterError, ResponseComment: pce.Detail()}
			}
			// Unknown, not public, or not for this caller: as the
			// Connector says of a method it does not route.
			return &bridge.Response{RequestID: requestID, ResponseStatus: nulstarNoMethod, ResponseErrorCode: "NCN-2",
				ResponseComment: fmt.Sprintf("Method '%s' not found in current channel!", c.Method)}
		}
	}
	start := time.Now()
	reply, err := s.upstreamCall(ctx, p, calls)
	if err != nil {
		var rpcErr *bridge.RPCError
		if errors.As(err, &rpcErr) {
			return &bridge.Response{RequestID: requestID, ResponseStatus: rpcErr.Status, ResponseErrorCode: rpcErr.Code,
				ResponseComment: rpcErr.Comment, ResponseProcessingTime: strconv.FormatInt(time.Since(start).Milliseconds(), 10)}
		}
		if errors.Is(err, errSecretAnswer) {
			return &bridge.Response{RequestID: requestID, ResponseStatus: nulstarNoMethod, ResponseErrorCode: "NCN-2",
				ResponseComment: fmt.Sprintf("Method '%s' answered a secret, which this endpoint does not pass on", calls[0].Method)}
		}
		comment := fmt.Sprintf("Method '%s' not available anymore!", calls[0].Method)
		if errors.Is(err, bridge.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			comment = fmt.Sprintf("Method '%s' timeout!", calls[0].Method)
		}
		return &bridge.Response{RequestID: requestID, ResponseStatus: nulstarUnavailable, ResponseErrorCode: "NCN-5", ResponseComment: comment}
	}
	return &bridge.Response{RequestID: requestID, ResponseStatus: bridge.StatusSuccess, ResponseProcessingTime: reply.ProcessingTime,
		ResponseData: reply.Results}
}

// writeNulstar answers with the Response message.
func (s *Server) writeNulstar(w http.ResponseWriter, resp *bridge.Response) {
	m := bridge.NewMessage("gw-"+strconv.FormatUint(nulstarIDs.Add(1), 10), resp)
	b, err := bridge.Encode(m)
	if err != nil {
		s.logger.Error("Nulstar Response not encoded", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeRaw(w, http.StatusOK, b)
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
