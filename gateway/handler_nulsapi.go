package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/nulsapihttp"
	"github.com/nuls-gateway/nuls-gateway/gateway/rpcerrors"
	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
)

// POST /nuls-api/jsonrpc (and POST /jsonrpc of cmd/gateway --nuls-api-listen)
// serves the nuls-api profile (package nulsapi) to the clients written for
// NULS's nuls-api server, with its quirks; ?strict=true answers the same
// methods as JSON-RPC 2.0 says instead (ids as sent, integer codes,
// notifications unanswered), as /jsonrpc does. The profile's front is
// package nulsapihttp's; its routes, their documentation and what it asks
// of the gateway (nulsAPIBackend, nulsAPICaller) are here.

// nulsAPI answers a nuls-api JSON-RPC body (package nulsapihttp).
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
func (s *Server) nulsAPI() handlerFunc { return s.profile.Serve }

// nulsAPIBackend is what the nuls-api profile asks of the gateway: the
// caller of each body, and the answers of POST /jsonrpc.
type nulsAPIBackend struct{ s *Server }

var _ nulsapihttp.Backend = nulsAPIBackend{}

func (b nulsAPIBackend) Open(w http.ResponseWriter, r *http.Request) nulsapihttp.Caller {
	return &nulsAPICaller{s: b.s, w: w, r: r, p: principalOf(r)}
}

func (b nulsAPIBackend) WriteJSONRPC(w http.ResponseWriter, resps []jsonrpc.Response, isBatch bool) {
	b.s.writeJSONRPC(w, resps, isBatch)
}

// nulsAPICaller is the profile's way to the module commands, for the
// caller of one body: its own access and quota, the gateway's upstream.
type nulsAPICaller struct {
	s *Server
	w http.ResponseWriter
	r *http.Request
	p *auth.Principal
}

var _ nulsapihttp.Caller = (*nulsAPICaller)(nil)

func (c *nulsAPICaller) Cost(method string) int { return c.s.weight(method) }

func (c *nulsAPICaller) Admit(cost int) error { return c.s.admit(c.w, c.r, c.p, cost) }

func (c *nulsAPICaller) Spend(cost int) error { return c.s.spend(c.r, c.p, cost) }

func (c *nulsAPICaller) Grant(method string) error { return c.s.grant(c.p, method, bridge.ScopePublic) }

func (c *nulsAPICaller) Call(ctx context.Context, command string, params json.RawMessage, filtered bool) (json.RawMessage, error) {
	if filtered {
		return c.s.readFiltered(ctx, c.p, command, params)
	}
	return c.s.dispatch(ctx, c.p, target{name: command}, params)
}

func (c *nulsAPICaller) Release(method string, answer []byte) error {
	return c.s.release(c.p, method, answer)
}

func (c *nulsAPICaller) Error(method string, err error) (*jsonrpc.Error, string) {
	e := c.s.jsonRPCError(c.r, method, err)
	data, _ := e.Data.(rpcerrors.Data)
	return e, data.Detail
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
