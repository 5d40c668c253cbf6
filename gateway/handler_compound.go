package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/policy"
)

// errTooManyCompounds reports a compound method beyond Config.MaxCompounds.
var errTooManyCompounds = errors.New("the gateway holds as many compound methods as it allows")

// createCompound registers a compound method.
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
func (s *Server) createCompound(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := s.admit(w, r, p, 1); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, compound.MaxBytes)
	body, err := edge.ReadBody(r)
	if err != nil {
		return err
	}
	c, err := compound.Decode(body)
	if err != nil {
		return err
	}
	if err := s.validateCompound(r.Context(), p, c); err != nil {
		return err
	}
	if list, err := s.cfg.Compounds.List(r.Context()); err != nil {
		return err
	} else if len(list) >= s.cfg.MaxCompounds {
		// Another instance may add one at the same time: the bound is
		// exceeded by at most the instances that raced.
		return fmt.Errorf("%w (%d)", errTooManyCompounds, s.cfg.MaxCompounds)
	}
	if err := s.cfg.Compounds.Add(r.Context(), c); err != nil {
		return err
	}
	s.described.CompoundsChanged()
	s.announceCompound(c)
	w.Header().Set("Location", "/compound-methods/"+c.Name)
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// listCompounds lists the compound methods.
//
//	@Summary	List the compound methods
//	@ID			listCompoundMethods
//	@Tags		methods
//	@Produce	json
//	@Success	200	{array}		compound.Definition
//	@Failure	429	{object}	Problem	"Rate limited (the address's anonymous quota)"
//	@Router		/compound-methods [get]
func (s *Server) listCompounds(w http.ResponseWriter, r *http.Request) error {
	list, err := s.cfg.Compounds.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

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
func (s *Server) deleteCompound(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "name")
	ok, err := s.cfg.Compounds.Delete(r.Context(), name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: compound method %s", errUnknownMethod, name)
	}
	s.described.CompoundsChanged()
	if s.cfg.Module != nil {
		s.announceMu.Lock()
		delete(s.announced, name)
		s.announceMu.Unlock()
		s.cfg.Module.Unregister(name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

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

// announceCompound registers the compound method on the gateway's own module,
// so that RegisterAPI tells the Manager (D14), and other modules can call it.
func (s *Server) announceCompound(c compound.Definition) {
	if s.cfg.Module == nil {
		return
	}
	info := s.compoundInfo(c)
	m := bridge.Method{Name: c.Name, Description: c.Description, Scope: bridge.Scope(info.MethodScope),
		Handler: func(ctx context.Context, call *bridge.Call) (any, error) {
			cur := s.resolve(ctx, c.Name)
			if cur.err != nil || !cur.isCompound {
				return nil, bridge.Fail(bridge.CodeMethodNotFound, "Cmd not found:"+c.Name+",")
			}
			res, err := s.runCompound(ctx, modulePrincipal, cur.def, call.Params)
			if err != nil {
				var rpcErr *bridge.RPCError
				if errors.As(err, &rpcErr) {
					return nil, rpcErr
				}
				return nil, bridge.Fail(bridge.CodeServerError, err.Error())
			}
			return res, nil
		}}
	for _, p := range info.Parameters {
		m.Parameters = append(m.Parameters, bridge.Parameter{Name: p.ParameterName, Type: p.ParameterType, ValidRange: p.ParameterValidRange, ValidRegExp: p.ParameterValidRegExp})
	}
	s.announceMu.Lock()
	defer s.announceMu.Unlock()
	if s.announced[c.Name] {
		return
	}
	if err := s.cfg.Module.Register(m); err != nil {
		s.logger.Warn("compound method not announced", "name", c.Name, "err", err)
		return
	}
	s.announced[c.Name] = true
}

// restoreCompounds announces the stored compound methods at start (they may
// come from a shared store).
func (s *Server) restoreCompounds(ctx context.Context) error {
	list, err := s.cfg.Compounds.List(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		s.announceCompound(c)
	}
	return nil
}

// compoundSync is how often the compound methods another instance added or
// removed are announced on this instance's module.
const compoundSync = 5 * time.Second

// syncCompounds announces the stored compound methods, then keeps the
// module's compound methods in step with the store until ctx ends.
func (s *Server) syncCompounds(ctx context.Context) {
	if s.cfg.Module == nil {
		return
	}
	if err := s.restoreCompounds(ctx); err != nil && ctx.Err() == nil {
		// The store may be Redis, not up yet: serve anyway, as calls
		// need no shared state; the loop below announces the methods
		// once the store answers.
		s.stateWarning("restoring the compound methods", err)
	}
	t := time.NewTicker(compoundSync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		list, err := s.cfg.Compounds.List(ctx)
		if err != nil {
			continue
		}
		want := map[string]bool{}
		for _, c := range list {
			want[c.Name] = true
			s.announceMu.Lock()
			known := s.announced[c.Name]
			s.announceMu.Unlock()
			if !known {
				s.announceCompound(c)
			}
		}
		s.announceMu.Lock()
		for name := range s.announced {
			if !want[name] {
				delete(s.announced, name)
				s.cfg.Module.Unregister(name)
			}
		}
		s.announceMu.Unlock()
	}
}
