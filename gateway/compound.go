package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// Compound is a virtual method (D14): its child methods run in order, each
// with the caller's parameters renamed through its aliases.
type Compound struct {
	// Name of the virtual method, called with POST /rpc/{name}.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Methods are the children, in execution order.
	Methods []CompoundChild `json:"methods"`
}

// CompoundChild is one child method and its parameter aliases.
type CompoundChild struct {
	Method string `json:"method"`
	// Params maps each child parameter to the name the caller uses for it
	// (the NULS CompoundMethods form {"param": "alias"}).
	Params map[string]string `json:"params,omitempty"`
}

// CompoundStore keeps the compound methods. Implementations are safe for
// concurrent use.
type CompoundStore interface {
	// Add stores c; it fails with ErrCompoundExists when the name is taken.
	Add(ctx context.Context, c Compound) error
	// Get returns the compound method called name, and whether it exists.
	Get(ctx context.Context, name string) (Compound, bool, error)
	// List returns every compound method, sorted by name.
	List(ctx context.Context) ([]Compound, error)
	// Delete removes one; it reports whether it existed.
	Delete(ctx context.Context, name string) (bool, error)
}

// ErrCompoundExists reports a compound method name already taken.
var ErrCompoundExists = errors.New("gateway: compound method exists")

// errTooManyCompounds reports a compound method beyond Config.MaxCompounds.
var errTooManyCompounds = errors.New("the gateway holds as many compound methods as it allows")

// Bounds of one compound method: they are kept by every instance,
// described in every OpenAPI document and announced to the Manager.
const (
	maxCompoundBytes       = 16 << 10
	maxCompoundChildren    = 16
	maxCompoundParams      = 32 // per child
	maxCompoundDescription = 1024
)

// paramName is what a compound method accepts as a parameter or an alias.
var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// MemoryCompounds is a CompoundStore in memory, for one instance.
type MemoryCompounds struct {
	mu sync.RWMutex // guards m
	m  map[string]Compound
}

var _ CompoundStore = (*MemoryCompounds)(nil)

// NewMemoryCompounds returns an empty store.
func NewMemoryCompounds() *MemoryCompounds { return &MemoryCompounds{m: map[string]Compound{}} }

// Add implements CompoundStore.
func (s *MemoryCompounds) Add(_ context.Context, c Compound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[c.Name]; ok {
		return ErrCompoundExists
	}
	s.m[c.Name] = c
	return nil
}

// Get implements CompoundStore.
func (s *MemoryCompounds) Get(_ context.Context, name string) (Compound, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.m[name]
	return c, ok, nil
}

// List implements CompoundStore.
func (s *MemoryCompounds) List(context.Context) ([]Compound, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Compound, 0, len(s.m))
	for _, c := range s.m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements CompoundStore.
func (s *MemoryCompounds) Delete(_ context.Context, name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[name]
	delete(s.m, name)
	return ok, nil
}

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
//	@Param			compound	body		Compound	true	"The compound method"
//	@Success		201			{object}	Compound
//	@Failure		400			{object}	Problem	"Invalid definition, alias collision, or a definition beyond the bounds"
//	@Failure		401			{object}	Problem	"A credential is needed"
//	@Failure		403			{object}	Problem	"The credential lacks the admin scope"
//	@Failure		404			{object}	Problem	"A child method is unknown"
//	@Failure		409			{object}	Problem	"The name is taken, or the gateway holds as many compound methods as it allows"
//	@Failure		413			{object}	Problem	"Definition larger than 16 KiB"
//	@Failure		415			{object}	Problem	"The body is not application/json"
//	@Router			/compound-methods [post]
func (s *Server) createCompound(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	if !s.admit(w, r, p, 1) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCompoundBytes)
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := decodeCompound(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.validateCompound(r.Context(), p, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	if list, err := s.cfg.Compounds.List(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	} else if len(list) >= s.cfg.MaxCompounds {
		// Another instance may add one at the same time: the bound is
		// exceeded by at most the instances that raced.
		s.writeError(w, r, fmt.Errorf("%w (%d)", errTooManyCompounds, s.cfg.MaxCompounds))
		return
	}
	if err := s.cfg.Compounds.Add(r.Context(), c); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.described.compoundsChanged()
	s.announceCompound(c)
	w.Header().Set("Location", "/compound-methods/"+c.Name)
	writeJSON(w, http.StatusCreated, c)
}

// listCompounds lists the compound methods.
//
//	@Summary	List the compound methods
//	@ID			listCompoundMethods
//	@Tags		methods
//	@Produce	json
//	@Success	200	{array}		Compound
//	@Failure	429	{object}	Problem	"Rate limited (the address's anonymous quota)"
//	@Router		/compound-methods [get]
func (s *Server) listCompounds(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Compounds.List(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
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
func (s *Server) deleteCompound(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	ok, err := s.cfg.Compounds.Delete(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !ok {
		s.writeError(w, r, fmt.Errorf("%w: compound method %s", errUnknownMethod, name))
		return
	}
	s.described.compoundsChanged()
	if s.cfg.Module != nil {
		s.announceMu.Lock()
		delete(s.announced, name)
		s.announceMu.Unlock()
		s.cfg.Module.Unregister(name)
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeCompound reads a definition strictly: known fields only, one JSON
// value and nothing after it.
func decodeCompound(body []byte) (Compound, error) {
	var c Compound
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, badRequest("malformed compound method: " + err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return c, badRequest("malformed compound method: data after the JSON object")
	}
	return c, nil
}

// validateCompound checks a definition: a free valid name, children the
// creator may call, bounded sizes and no colliding aliases. An alias may feed
// several parameters (chainId and assetChainId, say) but only of one type:
// an alias feeding an integer and a string collides.
func (s *Server) validateCompound(ctx context.Context, p *auth.Principal, c Compound) error {
	if !methodName.MatchString(c.Name) {
		return fmt.Errorf("%w %q", errBadMethodName, c.Name)
	}
	if protocol, kernel := policy.CommandKind(c.Name); protocol || kernel {
		return badRequest(c.Name + " is a command of the module protocol")
	}
	switch {
	case len(c.Methods) == 0:
		return badRequest("a compound method needs child methods")
	case len(c.Methods) > maxCompoundChildren:
		return badRequest(fmt.Sprintf("a compound method has at most %d children", maxCompoundChildren))
	case utf8.RuneCountInString(c.Description) > maxCompoundDescription:
		return badRequest(fmt.Sprintf("the description is longer than %d characters", maxCompoundDescription))
	}
	// The creator's grants, whatever its method allow-list: the children
	// must be methods it could call.
	creator := *p
	creator.Methods = nil
	if _, known, ok := s.listing.lookup(ctx, c.Name); known && ok {
		return fmt.Errorf("%w: %s is an upstream method", ErrCompoundExists, c.Name)
	}
	aliasKind := map[string]bridge.JSONKind{}
	seen := map[string]bool{}
	for _, child := range c.Methods {
		if seen[child.Method] {
			return badRequest("child method " + child.Method + " appears twice")
		}
		seen[child.Method] = true
		if _, kernel := policy.CommandKind(child.Method); kernel {
			return badRequest("child method " + child.Method + " is a kernel command")
		}
		info, _, _, err := s.access(ctx, &creator, child.Method)
		if err != nil {
			return fmt.Errorf("child method %s: %w", child.Method, err)
		}
		if len(child.Params) > maxCompoundParams {
			return badRequest(fmt.Sprintf("child method %s: at most %d parameters", child.Method, maxCompoundParams))
		}
		for param, alias := range child.Params {
			if !paramName.MatchString(alias) || !paramName.MatchString(param) {
				return badRequest("child method " + child.Method + ": parameters and aliases are names of letters, digits and _")
			}
			kind := declaredKind(info, param)
			if prev, ok := aliasKind[alias]; ok && prev != kind && prev != bridge.KindAny && kind != bridge.KindAny {
				return badRequest(fmt.Sprintf("alias %s collides: it names parameters of types %s and %s", alias, prev, kind))
			}
			if kind != bridge.KindAny || aliasKind[alias] == bridge.KindAny {
				aliasKind[alias] = kind
			}
		}
	}
	return nil
}

func declaredKind(m bridge.MethodInfo, param string) bridge.JSONKind {
	for _, p := range m.Parameters {
		if p.ParameterName == param {
			return p.Kind()
		}
	}
	return bridge.KindAny
}

// compound returns the compound method called name, if any. A method the
// upstream lists is never one (validateCompound refuses its name), so the
// store is not asked for it: a call of an upstream method then needs no
// shared state, and goes on while Redis is away.
func (s *Server) compound(ctx context.Context, name string) (Compound, bool, error) {
	if _, known, ok := s.listing.lookupCached(name); known && ok {
		return Compound{}, false, nil
	}
	return s.cfg.Compounds.Get(ctx, name)
}

// checkCompound checks that p may call the compound method c with params:
// it needs the highest scope of c's children, and its allow-list, if any,
// must name c.
func (s *Server) checkCompound(p *auth.Principal, c Compound, params json.RawMessage) error {
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
func (s *Server) compoundWeight(c Compound) int {
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
func (s *Server) runCompound(ctx context.Context, p *auth.Principal, c Compound, params json.RawMessage) (json.RawMessage, error) {
	grants := *p
	grants.Methods = nil
	var caller map[string]json.RawMessage
	if err := json.Unmarshal(params, &caller); err != nil {
		return nil, badRequest("parameters must be a JSON object")
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, child := range c.Methods {
		raw, _ := json.Marshal(s.childParams(child, caller))
		if err := s.checkCall(ctx, &grants, child.Method, raw); err != nil {
			return nil, fmt.Errorf("%s: %w", child.Method, err)
		}
		reply, err := s.upstreamCall(ctx, p, []bridge.MethodCall{{Method: child.Method, Params: raw}})
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(child.Method)
		b.Write(name)
		b.WriteByte(':')
		b.Write(reply.Results[0].Result)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// compoundInfo describes a compound method like an upstream one: its
// parameters are its aliases, typed by the child parameters they feed, and
// the children's declared parameters that no alias feeds, which the caller
// passes under their own names (childParams).
func (s *Server) compoundInfo(c Compound) bridge.MethodInfo {
	mi := bridge.MethodInfo{
		MethodName: c.Name, MethodDescription: c.Description, MethodMinEvent: "0", MethodMinPeriod: "0",
		MethodScope: s.compoundScope(c), Parameters: []bridge.ParameterInfo{},
	}
	seen := map[string]bool{}
	add := func(name string, typed bridge.ParameterInfo) {
		if seen[name] {
			return
		}
		seen[name] = true
		typed.ParameterName = name
		mi.Parameters = append(mi.Parameters, typed)
	}
	for _, child := range c.Methods {
		info, _, _ := s.listing.lookupCached(child.Method)
		declared := map[string]bridge.ParameterInfo{}
		for _, p := range info.Parameters {
			declared[p.ParameterName] = p
		}
		aliases := make([]string, 0, len(child.Params))
		byAlias := map[string]string{}
		for param, alias := range child.Params {
			aliases = append(aliases, alias)
			byAlias[alias] = param
		}
		sort.Strings(aliases)
		for _, alias := range aliases {
			add(alias, declared[byAlias[alias]])
		}
		for _, p := range info.Parameters {
			if _, aliased := child.Params[p.ParameterName]; !aliased {
				add(p.ParameterName, p)
			}
		}
	}
	return mi
}

// childParams are the parameters of one child, from the caller's: each
// alias's value under the child's name for it, and each parameter the
// child declares that no alias feeds, under its own name.
func (s *Server) childParams(child CompoundChild, caller map[string]json.RawMessage) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for param, alias := range child.Params {
		if v, ok := caller[alias]; ok {
			out[param] = v
		}
	}
	info, _, _ := s.listing.lookupCached(child.Method)
	for _, p := range info.Parameters {
		if _, aliased := child.Params[p.ParameterName]; aliased {
			continue
		}
		if v, ok := caller[p.ParameterName]; ok {
			out[p.ParameterName] = v
		}
	}
	return out
}

// announceCompound registers the compound method on the gateway's own module,
// so that RegisterAPI tells the Manager (D14), and other modules can call it.
func (s *Server) announceCompound(c Compound) {
	if s.cfg.Module == nil {
		return
	}
	info := s.compoundInfo(c)
	m := bridge.Method{Name: c.Name, Description: c.Description, Scope: bridge.Scope(info.MethodScope),
		Handler: func(ctx context.Context, call *bridge.Call) (any, error) {
			cur, ok, err := s.compound(ctx, c.Name)
			if err != nil || !ok {
				return nil, bridge.Fail(bridge.CodeMethodNotFound, "Cmd not found:"+c.Name+",")
			}
			res, err := s.runCompound(ctx, modulePrincipal, cur, call.Params)
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

// DocumentCompounds keeps the compound methods in shared documents (Redis),
// so that every instance serves the same ones.
type DocumentCompounds struct {
	Docs subscriptions.Documents
}

var _ CompoundStore = DocumentCompounds{}

// Add implements CompoundStore.
func (d DocumentCompounds) Add(ctx context.Context, c Compound) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	ok, err := d.Docs.Add(ctx, c.Name, b)
	if err != nil {
		return fmt.Errorf("%w: %v", errStateUnavailable, err)
	}
	if !ok {
		return ErrCompoundExists
	}
	return nil
}

// Get implements CompoundStore.
func (d DocumentCompounds) Get(ctx context.Context, name string) (Compound, bool, error) {
	b, ok, err := d.Docs.Get(ctx, name)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("%w: %v", errStateUnavailable, err)
		}
		return Compound{}, false, err
	}
	var c Compound
	if err := json.Unmarshal(b, &c); err != nil {
		return Compound{}, false, err
	}
	return c, true, nil
}

// List implements CompoundStore.
func (d DocumentCompounds) List(ctx context.Context) ([]Compound, error) {
	docs, err := d.Docs.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStateUnavailable, err)
	}
	out := make([]Compound, 0, len(docs))
	for _, b := range docs {
		var c Compound
		if json.Unmarshal(b, &c) == nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements CompoundStore.
func (d DocumentCompounds) Delete(ctx context.Context, name string) (bool, error) {
	ok, err := d.Docs.Delete(ctx, name)
	if err != nil {
		return false, fmt.Errorf("%w: %v", errStateUnavailable, err)
	}
	return ok, nil
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
