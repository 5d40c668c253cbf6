package gateway

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/batch"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/gateway/rpcerrors"
	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
)

// POST /jsonrpc serves JSON-RPC 2.0: a method is a module command (or a
// compound method), its params an object by name or an array in the
// method's declared parameter order. A batch's requests run concurrently,
// each answered on its own, in the batch's order. Authentication, the body
// limits and the rate limit (a batch costs the sum of its methods'
// weights) are those of /rpc and answer at the HTTP level; everything a
// request itself gets wrong is a JSON-RPC error at HTTP 200.

// jsonRPC serves JSON-RPC 2.0 requests.
//
//	@Summary		JSON-RPC 2.0
//	@ID				jsonRPC
//	@Description	A JSON-RPC 2.0 request object, or a batch (an array of them, at most 100). The method is a NULS module command or a compound method; params are an object by name or an array in the method's declared order. Request errors are JSON-RPC errors at HTTP 200 (data.status is the HTTP status /rpc would answer); a body of notifications only gets 204.
//	@Tags			rpc
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			request	body		object	true	"A request object or an array of them"
//	@Success		200		{object}	object	"A response object, or an array of them for a batch"
//	@Success		204		"Only notifications"
//	@Failure		401		{object}	Problem
//	@Failure		413		{object}	Problem
//	@Failure		415		{object}	Problem
//	@Failure		429		{object}	Problem
//	@Router			/jsonrpc [post]
func (s *Server) jsonRPC(w http.ResponseWriter, r *http.Request) error {
	_, reqs, isBatch, perr, err := batch.Read(r)
	if err != nil {
		return err
	}
	if perr != nil {
		s.writeJSONRPC(w, []jsonrpc.Response{{Error: perr}}, false)
		return nil //nolint:nilerr // answered: perr is the JSON-RPC response's error
	}
	p := principalOf(r)
	cost := 0
	for _, q := range reqs {
		if q.Err == nil {
			cost += s.weight(q.Method)
		}
	}
	// Metered before the compound store is asked, as /rpc/{method}: a
	// name is not free to look up. A compound method then costs what its
	// children cost.
	if err := s.admit(w, r, p, max(cost, 1)); err != nil {
		return err
	}
	targets := make([]target, len(reqs))
	extra := 0
	for i, q := range reqs {
		targets[i].name = q.Method
		if q.Err != nil || strings.HasPrefix(q.Method, "rpc.") {
			continue
		}
		targets[i] = s.resolve(r.Context(), q.Method)
		extra += s.extraCost(targets[i])
	}
	if extra > 0 {
		if err := s.admit(w, r, p, extra); err != nil {
			return err
		}
	}
	if len(reqs) > 1 {
		budget := batch.NewBudget(s.cfg.MaxBatchAnswerBytes)
		for i := range targets {
			targets[i].budget = budget
		}
	}
	resps := make([]jsonrpc.Response, len(reqs))
	batch.Run(reqs, func(i int, q *jsonrpc.Request) {
		resps[i].ID, resps[i].Error = q.ID, q.Err
		if q.Err == nil {
			resps[i].Result, resps[i].Error = s.jsonRPCCall(r, p, q, targets[i])
		}
	})
	// Notifications get no answer, unless they were invalid.
	out := resps[:0]
	for i, resp := range resps {
		if !reqs[i].Notification() {
			out = append(out, resp)
		}
	}
	s.writeJSONRPC(w, out, isBatch)
	return nil
}

// writeJSONRPC writes the answers of a body; 204 when there are none.
func (s *Server) writeJSONRPC(w http.ResponseWriter, resps []jsonrpc.Response, batch bool) {
	b, err := jsonrpc.Encode(resps, batch)
	if err != nil {
		s.logger.Error("JSON-RPC answer not encoded", slog.Any("err", err))
		b, _ = jsonrpc.Encode([]jsonrpc.Response{{Error: jsonrpc.Errorf(jsonrpc.CodeInternalError, "Internal error")}}, false)
	}
	if b == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for _, resp := range resps {
		if resp.Error != nil && resp.Error.Code == rpcerrors.UpstreamUnavailable {
			// As /rpc's 503: the client may retry, and when.
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
			break
		}
	}
	writeRaw(w, http.StatusOK, b)
}

// jsonRPCCall runs one valid request for p.
func (s *Server) jsonRPCCall(r *http.Request, p *auth.Principal, q *jsonrpc.Request, t target) (json.RawMessage, *jsonrpc.Error) {
	if q.Method == "rpc.discover" {
		// OpenRPC's service discovery: the document of GET /openrpc.json.
		doc, err := s.openRPCDocument(r)
		if err != nil {
			return nil, s.jsonRPCError(r, q.Method, err)
		}
		return doc, nil
	}
	if err := t.budget.Check(); err != nil {
		return nil, s.jsonRPCError(r, q.Method, err)
	}
	result, err := s.dispatch(r.Context(), p, t, q.Params)
	if err == nil && !t.isCompound {
		result = s.exactAmounts(r, t.name, result)
	}
	if err == nil {
		err = t.budget.Spend(len(result))
	}
	if err != nil {
		return nil, s.jsonRPCError(r, q.Method, err)
	}
	return result, nil
}

// byPosition names positional params by the method's declared parameters,
// in order.
func byPosition(method string, params json.RawMessage, declared []bridge.ParameterInfo) (json.RawMessage, error) {
	var values []json.RawMessage
	if err := json.Unmarshal(params, &values); err != nil {
		return nil, badRequest("params: " + err.Error())
	}
	if len(values) > 0 && len(declared) == 0 {
		return nil, badRequest("the parameters of " + method + " are not listed, so they cannot be given by position: pass an object")
	}
	if len(values) > len(declared) {
		return nil, badRequest(fmt.Sprintf("%d parameters given by position; %s declares %d", len(values), method, len(declared)))
	}
	named := make(map[string]json.RawMessage, len(values))
	for i, v := range values {
		named[declared[i].ParameterName] = v
	}
	return json.Marshal(named)
}

// jsonRPCError describes err, which a call of method failed with, for a
// JSON-RPC client: the code by what went wrong, the data as /rpc's problem
// document says it.
func (s *Server) jsonRPCError(r *http.Request, method string, err error) *jsonrpc.Error {
	p := problemFor(err, r)
	if p.Status >= 500 && p.Status != http.StatusServiceUnavailable && p.Status != http.StatusGatewayTimeout {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "JSON-RPC call failed",
			slog.String("request_id", edge.RequestID(r)), slog.String("method", method), slog.Any("err", err))
	}
	code, message := jsonrpc.CodeInternalError, "Internal error"
	switch p.Status {
	case http.StatusNotFound:
		code, message = jsonrpc.CodeMethodNotFound, "Method not found"
	case http.StatusBadRequest:
		code, message = jsonrpc.CodeInvalidParams, "Invalid params"
	case http.StatusUnauthorized:
		code, message = rpcerrors.Unauthorized, "Unauthorized"
	case http.StatusForbidden:
		code, message = rpcerrors.Forbidden, "Forbidden"
	case http.StatusTooManyRequests:
		code, message = rpcerrors.RateLimited, "Too many requests"
	case http.StatusUnprocessableEntity:
		code, message = rpcerrors.ModuleError, "NULS module error"
	case http.StatusServiceUnavailable:
		code, message = rpcerrors.UpstreamUnavailable, "Upstream unavailable"
	case http.StatusGatewayTimeout:
		code, message = rpcerrors.UpstreamTimeout, "Upstream timeout"
	case http.StatusBadGateway:
		code, message = rpcerrors.BadUpstreamAnswer, "Upstream answer not understood"
	case http.StatusRequestEntityTooLarge:
		code, message = rpcerrors.BatchTooLarge, "Batch answer too large"
	}
	return &jsonrpc.Error{Code: code, Message: message, Data: rpcerrors.Data{
		Status: p.Status, Detail: p.Detail, Method: p.Method,
		ResponseStatus: p.ResponseStatus, ResponseErrorCode: p.ResponseErrorCode, ResponseComment: p.ResponseComment,
	}}
}
