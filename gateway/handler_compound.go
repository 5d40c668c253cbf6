package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway/compoundhttp"
	"github.com/nuls-gateway/nuls-gateway/policy"
)

// The compound methods' routes, and their announcement on the gateway's
// module, are package compoundhttp's; the routes' documentation, what it
// asks of the gateway (compoundGate), and the compound methods' part of
// the call pipeline (their check, cost and run) are here.

// createCompound registers a compound method (package compoundhttp).
//
//	@Summary		Create a compound method
//	@ID				createCompoundMethod
//	@Description	A virtual method (NULS RegisterCompoundMethod, D14) that POST /rpc/{name} then calls: its child methods run in order, each with the caller's parameters renamed through its aliases; any child failure fails the whole. The result maps each child to its result. When the gateway is registered with a Manager, it re-sends RegisterAPI with the new method.
//	@Tags			methods
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			compound	body		compound.Definition	true	"The compound method"
//	@Success		201			{object}	compound.Definition
//	@Failure		400			{object}	Problem	"Invalid definition, alias collision, or a definition beyond the bounds"
//	@Failure		401			{object}	Problem	"A credential is needed"
//	@Failure		403			{object}	Problem	"The credential lacks the admin scope"
//	@Failure		404			{object}	Problem	"A child method is unknown"
//	@Failure		409			{object}	Problem	"The name is taken, or the gateway holds as many compound methods as it allows"
//	@Failure		413			{object}	Problem	"Definition larger than 16 KiB"
//	@Failure		415			{object}	Problem	"The body is not application/json"
//	@Router			/compound-methods [post]
func (s *Server) createCompound() handlerFunc { return s.compounds.Create }

// listCompounds lists the compound methods.
//
//	@Summary	List the compound methods
//	@ID			listCompoundMethods
//	@Tags		methods
//	@Produce	json
//	@Success	200	{array}		compound.Definition
//	@Failure	429	{object}	Problem	"Rate limited (the address's anonymous quota)"
//	@Router		/compound-methods [get]
func (s *Server) listCompounds() handlerFunc { return s.compounds.List }

// deleteCompound removes a compound method.
//
//	@Summary	Delete a compound method
//	@ID			deleteCompoundMethod
//	@Tags		methods
//	@Security	BearerAuth
//	@Security	APIKeyAuth
//	@Param		name	path	string	true	"Compound method name"
//	@Success	204
//	@Failure	401	{object}	Problem
//	@Failure	403	{object}	Problem
//	@Failure	404	{object}	Problem
//	@Router		/compound-methods/{name} [delete]
func (s *Server) deleteCompound() handlerFunc { return s.compounds.Delete }

// compoundGate is what the compound methods' routes ask of the gateway:
// the caller, its rate plan, the validation of a definition, the
// documents, and the run of a compound method a module calls.
type compoundGate struct{ s *Server }

var _ compoundhttp.Backend = compoundGate{}

func (g compoundGate) Caller(r *http.Request) *auth.Principal { return principalOf(r) }

func (g compoundGate) Admit(w http.ResponseWriter, r *http.Request, p *auth.Principal, cost int) error {
	return g.s.admit(w, r, p, cost)
}

func (g compoundGate) Validate(ctx context.Context, p *auth.Principal, c compound.Definition) error {
	return g.s.validateCompound(ctx, p, c)
}

func (g compoundGate) Changed() { g.s.described.CompoundsChanged() }

func (g compoundGate) Info(c compound.Definition) bridge.MethodInfo { return g.s.compoundInfo(c) }

// Run runs the compound method name for the module network
// (modulePrincipal).
func (g compoundGate) Run(ctx context.Context, name string, params json.RawMessage) (json.RawMessage, bool, error) {
	cur := g.s.resolve(ctx, name)
	if cur.err != nil || !cur.isCompound {
		return nil, false, cur.err
	}
	res, err := g.s.runCompound(ctx, modulePrincipal, cur.def, params)
	return res, true, err
}

func (g compoundGate) StateWarning(what string, err error) { g.s.stateWarning(what, err) }

// validateCompound checks a definition: a free valid name, children the
// creator may call, and the model's bounds (compound.Definition.Validate).
func (s *Server) validateCompound(ctx context.Context, p *auth.Principal, c compound.Definition) error {
	if !methodName.MatchString(c.Name) {
		return fmt.Errorf("%w %q", errBadMethodName, c.Name)
	}
	if protocol, kernel := policy.CommandKind(c.Name); protocol || kernel {
		return badRequest(c.Name + " is a command of the module protocol")
	}
	if _, known, ok := s.listing.Lookup(ctx, c.Name); known && ok {
		return fmt.Errorf("%w: %s is an upstream method", compound.ErrExists, c.Name)
	}
	// The creator's grants, whatever its method allow-list: the children
	// must be methods it could call.
	creator := *p
	creator.Methods = nil
	return c.Validate(func(method string) (bridge.MethodInfo, error) {
		if _, kernel := policy.CommandKind(method); kernel {
			return bridge.MethodInfo{}, badRequest(method + " is a kernel command")
		}
		info, _, _, err := s.access(ctx, &creator, method)
		return info, err
	})
}

// checkCompound checks that p may call the compound method c with params:
// it needs the highest scope of c's children, and its allow-list, if any,
// must name c.
func (s *Server) checkCompound(p *auth.Principal, c compound.Definition, params json.RawMessage) error {
	scope := s.compoundScope(c)
	if !s.exposed(scope) {
		return fmt.Errorf("%w: %s is %s", errNotCallable, c.Name, scope)
	}
	if err := s.grant(p, c.Name, scope); err != nil {
		return err
	}
	return s.compoundInfo(c).CheckDeclaredParams(params)
}

// compoundWeight is what a call of c costs: its own weight when one is
// configured, else the sum of its children's.
func (s *Server) compoundWeight(c compound.Definition) int {
	if w, ok := s.cfg.Weights[c.Name]; ok {
		return w
	}
	sum := 0
	for _, child := range c.Methods {
		sum += s.weight(child.Method)
	}
	return max(sum, 1)
}

// runCompound runs the children in order for p; the first failure fails
// the whole. The result is {"<child>": <result>, ...} in child order. The
// children are checked with p's grants: the allow-list that let p call the
// compound method lets it call what the method is made of.
func (s *Server) runCompound(ctx context.Context, p *auth.Principal, c compound.Definition, params json.RawMessage) (json.RawMessage, error) {
	grants := *p
	grants.Methods = nil
	var caller map[string]json.RawMessage
	if err := json.Unmarshal(params, &caller); err != nil {
		return nil, badRequest("parameters must be a JSON object")
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, child := range c.Methods {
		raw, _ := json.Marshal(child.Arguments(caller, s.childInfo(child.Method)))
		// A child is an upstream method (a compound method cannot be
		// one's child: it is no name the listing knows).
		t := target{name: child.Method}
		if err := s.check(ctx, &grants, t, raw); err != nil {
			return nil, fmt.Errorf("%s: %w", child.Method, err)
		}
		result, _, err := s.run(ctx, p, t, raw)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(child.Method)
		b.Write(name)
		b.WriteByte(':')
		b.Write(result)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// compoundInfo describes a compound method like an upstream one.
func (s *Server) compoundInfo(c compound.Definition) bridge.MethodInfo {
	return c.Info(s.compoundScope(c), s.childInfo)
}

// childInfo is what a child method declares, as the listing knows it.
func (s *Server) childInfo(method string) bridge.MethodInfo {
	info, _, _ := s.listing.LookupCached(method)
	return info
}
