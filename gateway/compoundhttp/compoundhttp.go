package compoundhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
)

// Backend is what the compound methods ask of the gateway.
// Implementations are safe for concurrent use.
type Backend interface {
	// Caller is the authenticated caller of r.
	Caller(r *http.Request) *auth.Principal
	// Admit spends cost units of p's rate plan and sets the rate limit
	// headers on w; beyond the plan, the error to answer.
	Admit(w http.ResponseWriter, r *http.Request, p *auth.Principal, cost int) error
	// Validate checks a definition p creates: a free valid name,
	// children p may call, and the model's bounds.
	Validate(ctx context.Context, p *auth.Principal, c compound.Definition) error
	// Changed tells that the compound methods changed (the documents
	// describe them).
	Changed()
	// Info describes c like an upstream method: its scope and
	// parameters.
	Info(c compound.Definition) bridge.MethodInfo
	// Run runs, for a module of the network, the compound method name
	// as it is now; found is false when name is no compound method, or
	// when it cannot be told (the store away: err says why), and the
	// module is then told the method is not found.
	Run(ctx context.Context, name string, params json.RawMessage) (result json.RawMessage, found bool, err error)
	// StateWarning logs that the shared state failed while doing what.
	StateWarning(what string, err error)
}

// Registry is the gateway's own NULS module (*bridge.Module): the compound
// methods are registered there so that RegisterAPI announces them (D14).
type Registry interface {
	Register(bridge.Method) error
	Unregister(name string) bool
}

// Config is what the compound methods need of the gateway.
type Config struct {
	// Backend is the gateway's side. Required.
	Backend Backend
	// Store stores the compound methods. Required.
	Store compound.Store
	// Max bounds the compound methods. Required.
	Max int
	// Module is the gateway's own NULS module, when it registers with a
	// Manager; nil otherwise.
	Module Registry
}

// Errors the gateway maps to HTTP statuses.
var (
	// ErrTooMany reports a compound method beyond Config.Max.
	ErrTooMany = errors.New("the gateway holds as many compound methods as it allows")
	// ErrUnknownMethod reports a compound method that is not there.
	ErrUnknownMethod = errors.New("unknown method")
)

// SyncInterval is how often the compound methods another instance added
// or removed are announced on this instance's module.
const SyncInterval = 5 * time.Second

// Endpoint serves the compound methods.
type Endpoint struct {
	b      Backend
	store  compound.Store
	max    int
	module Registry
	logger *slog.Logger

	mu        sync.Mutex      // guards announced
	announced map[string]bool // compound methods registered on the module
}

// New returns an Endpoint as cfg says; logger nil logs nothing.
func New(cfg Config, logger *slog.Logger) *Endpoint {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Endpoint{b: cfg.Backend, store: cfg.Store, max: cfg.Max, module: cfg.Module, logger: logger,
		announced: map[string]bool{}}
}

// Create registers a compound method: POST /compound-methods. It returns
// an error only when it has written nothing, for the gateway to answer.
func (e *Endpoint) Create(w http.ResponseWriter, r *http.Request) error {
	p := e.b.Caller(r)
	if err := e.b.Admit(w, r, p, 1); err != nil {
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
	if err := e.b.Validate(r.Context(), p, c); err != nil {
		return err
	}
	if list, err := e.store.List(r.Context()); err != nil {
		return err
	} else if len(list) >= e.max {
		// Another instance may add one at the same time: the bound is
		// exceeded by at most the instances that raced.
		return fmt.Errorf("%w (%d)", ErrTooMany, e.max)
	}
	if err := e.store.Add(r.Context(), c); err != nil {
		return err
	}
	e.b.Changed()
	e.announce(c)
	w.Header().Set("Location", "/compound-methods/"+c.Name)
	edge.WriteJSON(w, http.StatusCreated, c)
	return nil
}

// List lists the compound methods: GET /compound-methods.
func (e *Endpoint) List(w http.ResponseWriter, r *http.Request) error {
	list, err := e.store.List(r.Context())
	if err != nil {
		return err
	}
	edge.WriteJSON(w, http.StatusOK, list)
	return nil
}

// Delete removes a compound method: DELETE /compound-methods/{name}.
func (e *Endpoint) Delete(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "name")
	ok, err := e.store.Delete(r.Context(), name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: compound method %s", ErrUnknownMethod, name)
	}
	e.b.Changed()
	if e.module != nil {
		e.mu.Lock()
		delete(e.announced, name)
		e.mu.Unlock()
		e.module.Unregister(name)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// announce registers the compound method on the gateway's own module, so
// that RegisterAPI tells the Manager (D14), and other modules can call it.
func (e *Endpoint) announce(c compound.Definition) {
	if e.module == nil {
		return
	}
	info := e.b.Info(c)
	m := bridge.Method{Name: c.Name, Description: c.Description, Scope: bridge.Scope(info.MethodScope),
		Handler: func(ctx context.Context, call *bridge.Call) (any, error) {
			res, found, err := e.b.Run(ctx, c.Name, call.Params)
			if !found {
				return nil, bridge.Fail(bridge.CodeMethodNotFound, "Cmd not found:"+c.Name+",")
			}
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
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.announced[c.Name] {
		return
	}
	if err := e.module.Register(m); err != nil {
		e.logger.Warn("compound method not announced", "name", c.Name, "err", err)
		return
	}
	e.announced[c.Name] = true
}

// restore announces the stored compound methods at start (they may come
// from a shared store).
func (e *Endpoint) restore(ctx context.Context) error {
	list, err := e.store.List(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		e.announce(c)
	}
	return nil
}

// Sync announces the stored compound methods, then keeps the module's
// compound methods in step with the store until ctx ends. Without a
// module it returns at once.
func (e *Endpoint) Sync(ctx context.Context) {
	if e.module == nil {
		return
	}
	if err := e.restore(ctx); err != nil && ctx.Err() == nil {
		// The store may be Redis, not up yet: serve anyway, as calls
		// need no shared state; the loop below announces the methods
		// once the store answers.
		e.b.StateWarning("restoring the compound methods", err)
	}
	t := time.NewTicker(SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		list, err := e.store.List(ctx)
		if err != nil {
			continue
		}
		want := map[string]bool{}
		for _, c := range list {
			want[c.Name] = true
			e.mu.Lock()
			known := e.announced[c.Name]
			e.mu.Unlock()
			if !known {
				e.announce(c)
			}
		}
		e.mu.Lock()
		for name := range e.announced {
			if !want[name] {
				delete(e.announced, name)
				e.module.Unregister(name)
			}
		}
		e.mu.Unlock()
	}
}
