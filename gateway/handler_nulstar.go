package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/nulstarhttp"
)

// The Nulstar Connector's HTTP endpoint is package nulstarhttp's; its
// routes (POST /nulstar, and POST / of NulstarHandler), their
// documentation and what it asks of the gateway (nulstarGate) are here.

// nulstarHTTP answers a raw Request message (package nulstarhttp).
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
func (s *Server) nulstarHTTP() handlerFunc { return s.nulstar.Serve }

// nulstarGate is what the Nulstar endpoint asks of the gateway: the
// caller, its rate plan, and the checks and calls of /rpc.
type nulstarGate struct{ s *Server }

var _ nulstarhttp.Backend = nulstarGate{}

func (g nulstarGate) Caller(r *http.Request) *auth.Principal { return principalOf(r) }

func (g nulstarGate) Weight(method string) int { return g.s.weight(method) }

func (g nulstarGate) Admit(w http.ResponseWriter, r *http.Request, p *auth.Principal, cost int) error {
	return g.s.admit(w, r, p, cost)
}

func (g nulstarGate) Check(ctx context.Context, p *auth.Principal, method string, params json.RawMessage) error {
	return g.s.check(ctx, p, target{name: method}, params)
}

func (g nulstarGate) NotListedYet(err error) bool { return errors.Is(err, errNotListedYet) }

func (g nulstarGate) Call(ctx context.Context, p *auth.Principal, calls []bridge.MethodCall) (*bridge.Reply, error) {
	return g.s.upstreamCall(ctx, p, calls)
}
