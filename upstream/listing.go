package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/state"
)

// catalogRetry is the least time between two refreshes caused by lookups of
// unknown methods.
const catalogRetry = 5 * time.Second

// Listing is the list of the upstream's methods, discovered with ListAPI
// (or GetConsolidatedAPI). When the upstream cannot list its methods (a Java
// module), the static catalog (package catalog: the NULS 2 modules'
// commands, and custom ones) describes them; a name the catalog lacks is
// then unlisted, as when there is no catalog at all. What the upstream lists
// describes a method; the catalog adds what a listing cannot say (events the
// module raises). The policy decides every method's scope and streams, once
// per listing: see Decide.
//
// Its methods are safe for concurrent use; Run owns its refreshes. Lock
// order: refresh, then mu.
type Listing struct {
	up     Upstream
	docs   state.Documents  // shares the list with the other instances
	static *catalog.Catalog // nil: no catalog
	policy *policy.Policy
	logger *slog.Logger
	// timeout bounds one discovery.
	timeout time.Duration

	mu    sync.RWMutex // guards known, fromCatalog, methods, decisions, fetched
	known bool
	// fromCatalog is set while the methods are the catalog's, not the
	// upstream's.
	fromCatalog bool
	methods     map[string]bridge.MethodInfo
	// decisions are the policy's, for each of methods.
	decisions map[string]policy.Decision
	fetched   time.Time
	refresh   sync.Mutex // one refresh at a time; taken before mu
	// gen counts the changes of what the listing says (known,
	// fromCatalog, methods): what is built from it is kept until it moves.
	gen atomic.Uint64
}

// ListingConfig configures a Listing. Upstream, Documents and Policy are
// required.
type ListingConfig struct {
	Upstream Upstream
	// Documents shares the discovered list with the other instances, for
	// those whose upstream cannot list (state.Documents).
	Documents state.Documents
	// Catalog describes the methods when the upstream lists none. Nil:
	// nothing does.
	Catalog *catalog.Catalog
	// Policy decides each method's scope.
	Policy *policy.Policy
	// CallTimeout bounds one discovery. Default 10s (D19).
	CallTimeout time.Duration
}

// NewListing returns a Listing; Run discovers the methods.
func NewListing(cfg ListingConfig, logger *slog.Logger) *Listing {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	return &Listing{up: cfg.Upstream, docs: cfg.Documents, static: cfg.Catalog, policy: cfg.Policy, logger: logger,
		timeout: cfg.CallTimeout, methods: map[string]bridge.MethodInfo{}, decisions: map[string]policy.Decision{}}
}

// catalogMethod describes a catalog command as a listing would.
func catalogMethod(cmd catalog.Command) bridge.MethodInfo {
	return withCatalogModes(cmd.MethodInfo(), cmd)
}

// withCatalogModes adds to a method the event streams the catalog knows
// of: the Java modules declare MethodMinEvent 0 for latestHeight, and raise
// its events.
func withCatalogModes(mi bridge.MethodInfo, cmd catalog.Command) bridge.MethodInfo {
	if cmd.Events && mi.MinEvent() <= 0 {
		mi.MethodMinEvent = "1"
	}
	return mi
}

// withPolicyModes makes a method's period streams the policy's: every second
// or more for the reads the gateway may poll, none for the others, whatever
// the upstream declares (a period stream of a write repeats the write).
func withPolicyModes(mi bridge.MethodInfo, d policy.Decision) bridge.MethodInfo {
	switch {
	case !d.Poll:
		mi.MethodMinPeriod = "0"
	case mi.MinPeriod() <= 0:
		mi.MethodMinPeriod = "1"
	}
	return mi
}

// catalogDoc is the name of the method list among the shared documents.
const catalogDoc = "methods"

// Load fetches the method list, and shares it; when the upstream cannot
// list its methods, the list another instance shared is used.
func (c *Listing) Load(ctx context.Context) error {
	c.refresh.Lock()
	defer c.refresh.Unlock()
	list, err := c.up.Methods(ctx)
	if err == nil {
		if b, merr := json.Marshal(list); merr == nil {
			if perr := c.docs.Put(ctx, catalogDoc, b); perr != nil {
				c.logger.Debug("sharing the method list failed", slog.Any("err", perr))
			}
		}
	} else if b, ok, gerr := c.docs.Get(ctx, catalogDoc); gerr == nil && ok {
		var shared []bridge.MethodInfo
		if json.Unmarshal(b, &shared) == nil {
			list, err = shared, nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.bumpIfChangedLocked(c.known, c.fromCatalog, c.methods) // compares with what load leaves
	c.fetched = time.Now()
	var rpcErr *bridge.RPCError
	if err != nil && c.static != nil && errors.As(err, &rpcErr) {
		// The upstream answered that it lists nothing (not that it is
		// away): the catalog describes it.
		if !c.fromCatalog {
			c.logger.Info("the upstream lists no methods: the catalog describes them", slog.Int("methods", c.static.Len()))
		}
		methods := make(map[string]bridge.MethodInfo, c.static.Len())
		for _, cmd := range c.static.Commands() {
			methods[cmd.Name] = catalogMethod(cmd)
		}
		c.known, c.fromCatalog = true, true
		c.methods, c.decisions = c.decideAll(methods)
		return nil
	}
	if err != nil {
		return err
	}
	methods := make(map[string]bridge.MethodInfo, len(list))
	for _, m := range list {
		if cmd, ok := c.Command(m.MethodName); ok {
			m = withCatalogModes(m, cmd)
		}
		methods[m.MethodName] = m
	}
	if !c.known || c.fromCatalog || len(methods) != len(c.methods) {
		c.logger.Info("upstream methods discovered", slog.Int("methods", len(methods)))
	}
	c.known, c.fromCatalog = true, false
	c.methods, c.decisions = c.decideAll(methods)
	return nil
}

// decideAll asks the policy about every method, and makes the methods'
// period streams its own.
func (c *Listing) decideAll(methods map[string]bridge.MethodInfo) (map[string]bridge.MethodInfo, map[string]policy.Decision) {
	decisions := make(map[string]policy.Decision, len(methods))
	for name, m := range methods {
		d := c.policy.Decide(name, &m)
		decisions[name] = d
		methods[name] = withPolicyModes(m, d)
	}
	return methods, decisions
}

// Decide is the policy's decision of a method that lookup found (listed:
// m is its listing entry) or not: cached for the listed ones, made at each
// call for the others (their names are the caller's, and not kept).
func (c *Listing) Decide(name string, m bridge.MethodInfo, listed bool) policy.Decision {
	if listed {
		c.mu.RLock()
		d, ok := c.decisions[name]
		c.mu.RUnlock()
		if ok {
			return d
		}
		return c.policy.Decide(name, &m)
	}
	return c.policy.Decide(name, nil)
}

// bumpIfChangedLocked moves gen on when the listing says something else
// than known, fromCatalog and methods. c.mu must be held.
func (c *Listing) bumpIfChangedLocked(known, fromCatalog bool, methods map[string]bridge.MethodInfo) {
	if known != c.known || fromCatalog != c.fromCatalog || !maps.EqualFunc(methods, c.methods, func(a, b bridge.MethodInfo) bool { return reflect.DeepEqual(a, b) }) {
		c.gen.Add(1)
	}
}

// Generation returns the number of changes of the listing so far.
func (c *Listing) Generation() uint64 { return c.gen.Load() }

// Fetched returns when the listing was last asked of the upstream; zero
// before the first answer.
func (c *Listing) Fetched() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.fetched
}

// Command returns the catalog's description of a method.
func (c *Listing) Command(name string) (catalog.Command, bool) {
	if c.static == nil {
		return catalog.Command{}, false
	}
	return c.static.Lookup(name)
}

// catalogPoll is the interval of discovery attempts until the first one
// succeeds (the upstream may not be connected yet).
const catalogPoll = 250 * time.Millisecond

// Run refreshes the catalog every interval until ctx ends; until the first
// success, it tries every catalogPoll.
func (c *Listing) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next := catalogPoll
		if c.up.Ready() == nil {
			lctx, cancel := context.WithTimeout(ctx, c.timeout)
			err := c.Load(lctx)
			cancel()
			switch {
			case err == nil:
				next = interval
			case ctx.Err() == nil:
				c.logger.Debug("method discovery failed", slog.Any("err", err))
				if c.Attempted() {
					next = interval // the upstream has no listing
				}
			}
		}
		t.Reset(next)
	}
}

// Known reports whether the methods are known: the upstream listed them, or
// it answered that it lists none and the catalog describes them. Until then
// no name can be told unknown.
func (c *Listing) Known() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.known
}

// Attempted reports whether a discovery got an answer, even a refusal: a
// Java module has no ListAPI, and asking it every poll is pointless; and
// until then, what may be called is not known.
func (c *Listing) Attempted() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return !c.fetched.IsZero()
}

// Lookup finds a method. ok is false when the catalog is known and has no
// such method; known is false when every name is passed through. A miss
// refreshes the catalog first, at most every catalogRetry.
func (c *Listing) Lookup(ctx context.Context, name string) (m bridge.MethodInfo, known, ok bool) {
	c.mu.RLock()
	_, found := c.methods[name]
	fetched := c.fetched
	c.mu.RUnlock()
	if found || c.up.Ready() != nil || time.Since(fetched) < catalogRetry {
		return c.result(name)
	}
	_ = c.Load(ctx)
	return c.result(name)
}

// result is lookup's answer from what is known now: a method found; a
// name the catalog lacks, or with nothing known, unlisted (known false, ok
// true); a name an upstream listing lacks, unknown (ok false).
func (c *Listing) result(name string) (bridge.MethodInfo, bool, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, found := c.methods[name]
	switch {
	case found:
		return m, true, true
	case !c.known || c.fromCatalog:
		return m, false, true
	}
	return m, true, false
}

// Where the methods come from (List's source).
const (
	SourceUpstream = "upstream"
	SourceCatalog  = "catalog"
	SourceNone     = "none"
)

// List returns the methods sorted by name, and where they come from.
func (c *Listing) List() ([]bridge.MethodInfo, string) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]bridge.MethodInfo, 0, len(c.methods))
	for _, m := range c.methods {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MethodName < out[j].MethodName })
	switch {
	case !c.known:
		return out, SourceNone
	case c.fromCatalog:
		return out, SourceCatalog
	}
	return out, SourceUpstream
}

// LookupCached finds a method without refreshing the listing.
func (c *Listing) LookupCached(name string) (bridge.MethodInfo, bool, bool) { return c.result(name) }
