package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
)

// eachCaller is an upstream of several modules that can call one method on
// all of them (Managed).
type eachCaller interface {
	CallEach(ctx context.Context, method string, params json.RawMessage) map[string]bridge.Answer
}

// ModuleAnswer is one module's answer in POST /rpc/{method}/each.
type ModuleAnswer struct {
	// Result is the method's result, when the module answered success.
	Result json.RawMessage `json:"result,omitempty" swaggertype:"object"`
	// Error is the failure, as a problem document, otherwise.
	Error *Problem `json:"error,omitempty"`
}

var errNoModules = errors.New("the upstream is one endpoint (direct topology): call the method itself")

// callEach calls one method on every module (RPC-TOOL callMultiplyRpc).
//
//	@Summary		Call a method on every module
//	@ID				callMethodOnEachModule
//	@Description	In the manager topology, calls the method on every module of the Manager's role table, once per module process, and answers each module's result or failure under its role: the status of each module, or shutdown of all. It needs the admin scope, and the method must be callable as for POST /rpc/{method} (kernel commands only with --allow-kernel-commands).
//	@Tags			rpc
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			method	path		string					true	"NULS method name, such as status"
//	@Param			params	body		object					false	"Method parameters"
//	@Success		200		{object}	map[string]ModuleAnswer	"Each module's answer, by role"
//	@Failure		400		{object}	Problem
//	@Failure		401		{object}	Problem
//	@Failure		403		{object}	Problem
//	@Failure		404		{object}	Problem	"Unknown method, or the direct topology"
//	@Failure		429		{object}	Problem
//	@Router			/rpc/{method}/each [post]
func (s *Server) callEach(w http.ResponseWriter, r *http.Request) error {
	method := chi.URLParam(r, "method")
	p := principalOf(r)
	each, ok := s.cfg.Upstream.(eachCaller)
	if !ok {
		return fmt.Errorf("%w: %w", errUnknownMethod, errNoModules)
	}
	body, err := edge.ReadBody(r)
	if err != nil {
		return err
	}
	params, err := parseParams(body)
	if err != nil {
		return err
	}
	if err := s.admit(w, r, p, s.weight(method)); err != nil {
		return err
	}
	if !p.HasScope(bridge.ScopeAdmin) {
		return s.denied(&accessError{method: method + " on every module", scope: bridge.ScopeAdmin, anonymous: p.Anonymous()})
	}
	if err := s.check(r.Context(), p, target{name: method}, params); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
	defer cancel()
	out := map[string]ModuleAnswer{}
	for role, a := range each.CallEach(ctx, method, params) {
		if a.Err != nil {
			prob := problemAt(a.Err, r.URL.Path, "")
			out[role] = ModuleAnswer{Error: &prob}
			continue
		}
		out[role] = ModuleAnswer{Result: a.Result}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
