package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/cache"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway/batch"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// The call pipeline. Every front (POST /rpc/{method}, a JSON-RPC request on
// POST or on the socket, a nuls-api method's commands, the Nulstar
// endpoint) does the same four steps, each in one function:
//
//   - resolve: what the name is, a compound method or the upstream's;
//   - admit: what the call costs (admitCost), spent from the caller's plan
//     before anything else is asked (a name is not free to look up:
//     fronts spend the name's weight before resolve, then the rest);
//   - check: may the caller call it with these parameters (access, the
//     policy's bounds and secrets, the declared parameters);
//   - run: the upstream call, with its timeout, metrics, trace and the last
//     line on the way out (release), or the compound method's children,
//     each checked and run the same way.
//
// dispatch is check and run, for the fronts with no HTTP extras of their
// own (idempotency keys and asynchronous answers are POST /rpc's).

// target is a method a front resolved.
type target struct {
	name string
	// isCompound: def is the compound method's definition; otherwise the
	// name is the upstream's.
	isCompound bool
	def        compound.Definition
	// err is why resolving failed (the compound store away): the call's
	// error, told when the call is run, so that a batch's other requests
	// go on.
	err error
	// budget bounds the answers of the request's batch; nil: no bound
	// but the upstream's frame limit (a lone request).
	budget *batch.Budget
}

// resolve finds what name is: a compound method, or the upstream's. A
// method the upstream lists is never a compound one (validateCompound
// refuses its name), so the store is not asked for it: a call of an
// upstream method needs no shared state, and goes on while Redis is away.
func (s *Server) resolve(ctx context.Context, name string) target {
	t := target{name: name}
	if _, known, ok := s.listing.LookupCached(name); known && ok {
		return t
	}
	t.def, t.isCompound, t.err = s.cfg.Compounds.Get(ctx, name)
	return t
}

// cost is what a call of t costs: its weight (Config.Weights), or a
// compound method's own weight when one is set, else its children's.
func (s *Server) cost(t target) int {
	if t.isCompound {
		return s.compoundWeight(t.def)
	}
	return s.weight(t.name)
}

// extraCost is what a call of t costs beyond its name's weight, which a
// front spent before resolving it.
func (s *Server) extraCost(t target) int { return max(s.cost(t)-s.weight(t.name), 0) }

// check checks that p may call t with params (a JSON object).
func (s *Server) check(ctx context.Context, p *auth.Principal, t target, params json.RawMessage) error {
	switch {
	case t.err != nil:
		return t.err
	case t.isCompound:
		return s.checkCompound(p, t.def, params)
	}
	return s.checkCall(ctx, p, t.name, params)
}

// run runs a checked call of t for p. The reply is the upstream's for an
// upstream method (its MessageIDs and processing time), nil for a compound
// method.
func (s *Server) run(ctx context.Context, p *auth.Principal, t target, params json.RawMessage) (json.RawMessage, *bridge.Reply, error) {
	if t.isCompound {
		result, err := s.runCompound(ctx, p, t.def, params)
		return result, nil, err
	}
	reply, err := s.upstreamCall(ctx, p, []bridge.MethodCall{{Method: t.name, Params: params}})
	if err != nil {
		return nil, nil, err
	}
	return reply.Results[0].Result, reply, nil
}

// dispatch checks and runs t for p with params: an object, an array in the
// method's declared order, or nothing. It is POST /rpc/{method} without
// its HTTP extras.
func (s *Server) dispatch(ctx context.Context, p *auth.Principal, t target, params json.RawMessage) (json.RawMessage, error) {
	if strings.HasPrefix(t.name, "rpc.") {
		// Reserved by JSON-RPC for its own extensions.
		return nil, fmt.Errorf("%w: %s", errUnknownMethod, t.name)
	}
	if t.err != nil {
		return nil, t.err
	}
	if len(params) > 0 && params[0] == '[' {
		var declared []bridge.ParameterInfo
		if t.isCompound {
			declared = s.compoundInfo(t.def).Parameters
		} else {
			// Whether the method exists, and may be called, comes
			// before its params (JSON-RPC's -32601 before -32602):
			// the names of an unknown method's params are unknown.
			m, known, _, err := s.access(ctx, p, t.name)
			if err != nil {
				return nil, err
			}
			switch {
			case known:
				declared = m.Parameters
			case s.awaitingListing():
				// Its params cannot be named before the upstream
				// lists them: a retry can.
				return nil, fmt.Errorf("%w (%s)", errNotListedYet, t.name)
			}
		}
		var err error
		if params, err = byPosition(t.name, params, declared); err != nil {
			return nil, err
		}
	}
	if len(params) == 0 {
		params = json.RawMessage(`{}`)
	}
	if err := s.check(ctx, p, t, params); err != nil {
		return nil, err
	}
	result, _, err := s.run(ctx, p, t, params)
	return result, err
}

// changesState reports whether a call of method may change the node's
// state: what the policy does not know to be a read (the classification
// the scopes use).
func (s *Server) changesState(method string) bool { return !s.cfg.Policy.ReadOnly(method) }

// callUpstream sends calls to the upstream, traced and measured.
func (s *Server) callUpstream(ctx context.Context, calls []bridge.MethodCall) (*bridge.Reply, error) {
	ctx, endSpan := s.traceCall(ctx, calls)
	start := time.Now()
	reply, err := s.cfg.Upstream.Call(ctx, calls)
	err = upstream.Outcome(calls, s.changesState, err)
	status := 0
	if err != nil {
		status = httpStatus(err)
	}
	s.metrics.Call(s.metricMethod(calls), status, time.Since(start))
	endSpan(reply, err)
	return reply, err
}

// upstreamCall calls for p with the configured timeout and records the
// metrics and the trace. An answer that carries a secret reaches p only if
// p may read secrets (release).
func (s *Server) upstreamCall(ctx context.Context, p *auth.Principal, calls []bridge.MethodCall) (*bridge.Reply, error) {
	if b, ok := s.cfg.Upstream.(upstream.SelfBounded); !ok || b.CallTimeout() > s.cfg.CallTimeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.CallTimeout)
		defer cancel()
	}
	var (
		reply *bridge.Reply
		err   error
	)
	if s.cfg.Cache != nil && len(calls) == 1 && cache.Cacheable(calls[0].Method) {
		reply, err = s.cachedCall(ctx, calls[0])
	} else {
		reply, err = s.callUpstream(ctx, calls)
	}
	if err != nil {
		return reply, err
	}
	for _, res := range reply.Results {
		if err := s.release(p, res.Method, res.Result); err != nil {
			return nil, err
		}
	}
	return reply, nil
}
