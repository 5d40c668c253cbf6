package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/batch"
	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
	"github.com/nuls-gateway/nuls-gateway/nulsapi"
)

// POST /nuls-api/jsonrpc (and POST /jsonrpc of cmd/gateway --nuls-api-listen)
// serves the nuls-api profile (package nulsapi) to the clients written for
// NULS's nuls-api server, with its quirks; ?strict=true answers the same
// methods as JSON-RPC 2.0 says instead (ids as sent, integer codes,
// notifications unanswered), as /jsonrpc does.

// nulsAPI answers a nuls-api JSON-RPC body.
//
//	@Summary		The nuls-api profile: NULS's own JSON-RPC API
//	@ID				nulsAPI
//	@Description	The JSON-RPC methods of NULS's nuls-api server (port 18004) that module commands can serve, with params by position (chainId first) and nuls-api's answers: the id as a string, error.code a string ("1000" parameters, "-32601" unknown method, or the module's code), errors at HTTP 200, a batch of one answered as an object. With strict=true, JSON-RPC 2.0 answers instead.
//	@Tags			rpc
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			strict	query		bool	false	"answer as JSON-RPC 2.0 says rather than as nuls-api does"
//	@Param			request	body		object	true	"A request object or an array of them"
//	@Success		200		{object}	object	"A response object, or an array of them"
//	@Failure		401		{object}	Problem
//	@Failure		413		{object}	Problem
//	@Failure		429		{object}	Problem
//	@Router			/nuls-api/jsonrpc [post]
func (s *Server) nulsAPI(w http.ResponseWriter, r *http.Request) error {
	strict := r.URL.Query().Get("strict") == "true" || r.URL.Query().Get("strict") == "1"
	body, reqs, isBatch, perr, err := batch.Read(r)
	if err != nil {
		return err
	}
	if perr != nil {
		if strict {
			s.writeJSONRPC(w, []jsonrpc.Response{{Error: perr}}, false)
			return nil
		}
		if perr.Code == jsonrpc.CodeInvalidRequest && len(body) > 0 && body[0] == '[' {
			writeRaw(w, http.StatusOK, []byte("[]")) // nuls-api answers an empty batch with one
			return nil
		}
		s.writeCompat(w, []nulsapi.Outcome{{ID: json.RawMessage(`"0"`), Error: &nulsapi.Error{Code: strconv.Itoa(perr.Code), Message: perr.Message}}}, false)
		return nil
	}
	p := principalOf(r)
	// Each request costs what it makes the gateway do: its commands'
	// weights, a forwarded method's weight, 1 for the others.
	cost := 0
	for _, q := range reqs {
		switch m, ok := nulsapi.Lookup(q.Method); {
		case q.Err != nil:
		case ok:
			for _, c := range m.Commands {
				cost += s.weight(c)
			}
		default:
			cost += s.weight(q.Method)
		}
	}
	if err := s.admit(w, r, p, max(cost, 1)); err != nil {
		return err
	}
	var budget *batch.Budget
	if len(reqs) > 1 {
		budget = batch.NewBudget(s.cfg.MaxBatchAnswerBytes)
	}
	type outcome struct {
		result any
		err    error
	}
	outcomes := make([]outcome, len(reqs))
	batch.Run(reqs, func(i int, q *jsonrpc.Request) {
		if q.Err == nil {
			outcomes[i].result, outcomes[i].err = s.nulsAPICall(r.Context(), r, p, q, budget)
		}
	})
	if strict {
		var resps []jsonrpc.Response
		for i, q := range reqs {
			resp := jsonrpc.Response{ID: q.ID, Error: q.Err}
			if q.Err == nil {
				if err := outcomes[i].err; err != nil {
					resp.Error = s.nulsAPIStrictError(r, q.Method, err)
				} else if resp.Result, err = json.Marshal(outcomes[i].result); err != nil {
					resp.Error = jsonrpc.Errorf(jsonrpc.CodeInternalError, "Internal error")
				}
			}
			if !q.Notification() {
				resps = append(resps, resp)
			}
		}
		s.writeJSONRPC(w, resps, isBatch)
		return nil
	}
	answers := make([]nulsapi.Outcome, len(reqs))
	for i, q := range reqs {
		answers[i] = nulsapi.Outcome{ID: q.ID, Result: outcomes[i].result}
		switch {
		case q.Err != nil:
			answers[i].Error = &nulsapi.Error{Code: nulsapi.CodeInvalidRequest, Message: q.Err.Message}
		case outcomes[i].err != nil:
			answers[i].Error = s.nulsAPICompatError(r, q.Method, outcomes[i].err)
		}
	}
	s.writeCompat(w, answers, isBatch)
	return nil
}

// errNotInProfile is a method the nuls-api profile does not serve.
var errNotInProfile = errors.New("Can't find the method") //nolint:staticcheck // ST1005: nuls-api's message, word for word

// nulsAPICall runs one request of the profile for p.
func (s *Server) nulsAPICall(ctx context.Context, r *http.Request, p *auth.Principal, q *jsonrpc.Request, budget *batch.Budget) (any, error) {
	if err := budget.Check(); err != nil {
		return nil, err
	}
	m, ok := nulsapi.Lookup(q.Method)
	if !ok {
		if nulsapi.ForwardsToPublicService(q.Method) {
			// public-service's methods are public reads (and a client's
			// signed cross-chain transfer), under the caller's own
			// rules: its method allow-list, --anonymous-methods.
			if err := s.grant(p, q.Method, bridge.ScopePublic); err != nil {
				return nil, err
			}
			return s.forwardPublicService(ctx, p, q.Method, q.Params, budget)
		}
		return nil, errNotInProfile
	}
	args := map[string]json.RawMessage{}
	if len(q.Params) > 0 {
		var err error
		if q.ByName() {
			err = json.Unmarshal(q.Params, &args)
		} else {
			var values []json.RawMessage
			if err = json.Unmarshal(q.Params, &values); err == nil {
				args, err = m.ByPosition(values)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	calls := 0
	return m.Run(ctx, nulsAPICaller{s: s, r: r, p: p, m: m, budget: budget, calls: &calls}, args)
}

// nulsAPICaller is the profile's way to the module commands: the caller's
// own access and quota, the gateway's upstream. The request's cost paid
// its first call; each further one (getBalanceList calls once per asset)
// spends the command's weight.
type nulsAPICaller struct {
	s      *Server
	r      *http.Request
	p      *auth.Principal
	m      *nulsapi.Method
	budget *batch.Budget
	calls  *int
}

func (c nulsAPICaller) ChainID() int { return c.s.cfg.ChainID }

func (c nulsAPICaller) Call(ctx context.Context, command string, params map[string]any) (json.RawMessage, error) {
	if *c.calls++; *c.calls > 1 {
		if err := c.s.spend(c.r, c.p, c.s.weight(command)); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	var result json.RawMessage
	if c.m.Filtered {
		result, err = c.s.readFiltered(ctx, c.p, command, raw)
	} else {
		result, err = c.s.dispatch(ctx, c.p, target{name: command}, raw)
	}
	if err == nil {
		err = c.budget.Spend(len(result))
	}
	return result, err
}

// filteringPrincipal reads, for a profile method that passes on only an
// allow-list of the answer (nulsapi.Method.Filtered), a command whose whole
// answer its caller may not read.
var filteringPrincipal = &auth.Principal{ID: "nuls-api profile", Kind: "gateway",
	Scopes: []string{bridge.ScopePublic, bridge.ScopeAdmin}}

// readFiltered calls command for a profile method that passes on only an
// allow-list of its answer: p needs the public scope and, if it has a
// method allow-list, the command in it; the command is read by the
// gateway, in whatever scope the policy puts it, provided it is callable.
func (s *Server) readFiltered(ctx context.Context, p *auth.Principal, command string, params json.RawMessage) (json.RawMessage, error) {
	if err := s.grant(p, command, bridge.ScopePublic); err != nil {
		return nil, err
	}
	m, known, d, err := s.access(ctx, filteringPrincipal, command)
	if err != nil && !(d.Callable() && errors.Is(err, errNotCallable)) {
		// Unknown, or nobody may call it. A scope the gateway does not
		// expose is no refusal here: the gateway reads for itself.
		return nil, err
	}
	if err := d.CheckParams(params); err != nil {
		return nil, err
	}
	if known {
		if err := m.CheckDeclaredParams(params); err != nil {
			return nil, err
		}
	}
	reply, err := s.upstreamCall(ctx, filteringPrincipal, []bridge.MethodCall{{Method: command, Params: params}})
	if err != nil {
		return nil, err
	}
	return reply.Results[0].Result, nil
}

// nulsAPICompatError describes err as nuls-api does.
func (s *Server) nulsAPICompatError(r *http.Request, method string, err error) *nulsapi.Error {
	var (
		pe     *nulsapi.ParamError
		rpcErr *bridge.RPCError
	)
	if e, ok := publicServiceCompat(err); ok {
		return e
	}
	switch {
	case errors.Is(err, errNotInProfile):
		return &nulsapi.Error{Code: nulsapi.CodeMethodNotFound, Message: errNotInProfile.Error()}
	case errors.Is(err, errNoPublicService):
		return &nulsapi.Error{Code: nulsapi.CodeMethodNotFound, Message: errNoPublicService.Error()}
	case errors.Is(err, nulsapi.ErrDataNotFound):
		return &nulsapi.Error{Code: nulsapi.CodeDataNotFound, Message: nulsapi.ErrDataNotFound.Error()}
	case errors.Is(err, nulsapi.ErrTxParse):
		return &nulsapi.Error{Code: nulsapi.CodeTxParse, Message: nulsapi.ErrTxParse.Error()}
	case errors.As(err, &pe):
		return &nulsapi.Error{Code: nulsapi.CodeParams, Message: "Parameters is wrong!", Data: pe.Detail}
	case errors.As(err, &rpcErr):
		code := rpcErr.Code
		if code == "" {
			code = strconv.Itoa(rpcErr.Status)
		}
		return &nulsapi.Error{Code: code, Message: rpcErr.Comment}
	}
	// The gateway's own refusals and failures: the JSON-RPC code, as a
	// string, with what /rpc would say.
	e := s.jsonRPCError(r, method, err)
	if e.Code == jsonrpc.CodeInvalidParams {
		return &nulsapi.Error{Code: nulsapi.CodeParams, Message: "Parameters is wrong!", Data: e.Data.(jsonRPCErrorData).Detail}
	}
	return &nulsapi.Error{Code: strconv.Itoa(e.Code), Message: e.Message, Data: e.Data}
}

// nulsAPIStrictError describes err as /jsonrpc does.
func (s *Server) nulsAPIStrictError(r *http.Request, method string, err error) *jsonrpc.Error {
	var pe *nulsapi.ParamError
	if code, msg, data, ok := publicServiceCode(err); ok {
		return &jsonrpc.Error{Code: code, Message: msg, Data: data}
	}
	switch {
	case errors.Is(err, errNotInProfile):
		return jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "Method not found")
	case errors.Is(err, errNoPublicService):
		return &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "Method not found", Data: jsonRPCErrorData{Status: http.StatusNotFound, Detail: errNoPublicService.Error()}}
	case errors.Is(err, nulsapi.ErrDataNotFound):
		return &jsonrpc.Error{Code: codeDataNotFound, Message: "Data not found", Data: jsonRPCErrorData{Status: http.StatusNotFound}}
	case errors.Is(err, nulsapi.ErrTxParse):
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Invalid params", Data: jsonRPCErrorData{Status: http.StatusBadRequest, Detail: "the transaction does not parse"}}
	case errors.As(err, &pe):
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Invalid params", Data: jsonRPCErrorData{Status: http.StatusBadRequest, Detail: pe.Detail}}
	}
	return s.jsonRPCError(r, method, err)
}

// writeCompat writes nuls-api's answers, at HTTP 200.
func (s *Server) writeCompat(w http.ResponseWriter, answers []nulsapi.Outcome, batch bool) {
	b, err := nulsapi.EncodeCompat(answers, batch)
	if err != nil {
		s.logger.Error("nuls-api answer not encoded", "err", err)
		b = []byte(`{"jsonrpc":"2.0","id":"0","error":{"code":"10002","message":"System unknown error!"}}`)
	}
	for _, a := range answers {
		if a.Error != nil && a.Error.Code == strconv.Itoa(codeUpstreamUnavailable) {
			// As /rpc's 503: the client may retry, and when.
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
			break
		}
	}
	writeRaw(w, http.StatusOK, b)
}
