package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// methodName is what the gateway accepts as a NULS method name: the names of
// the real node's listing, with room for domains.
var methodName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$`)

// catalogRetry is the least time between two refreshes caused by lookups of
// unknown methods.
const catalogRetry = 5 * time.Second

// catalog is the list of upstream methods, discovered with ListAPI. When the
// upstream cannot list its methods the catalog stays unknown and every method
// name is passed through.
type catalog struct {
	up     Upstream
	docs   subscriptions.Documents // shares the list with the other instances
	logger *slog.Logger

	mu      sync.RWMutex // guards known, methods, fetched
	known   bool
	methods map[string]bridge.MethodInfo
	fetched time.Time
	refresh sync.Mutex // one refresh at a time
}

func newCatalog(up Upstream, docs subscriptions.Documents, logger *slog.Logger) *catalog {
	return &catalog{up: up, docs: docs, logger: logger, methods: map[string]bridge.MethodInfo{}}
}

// catalogDoc is the name of the method list among the shared documents.
const catalogDoc = "methods"

// load fetches the method list, and shares it; when the upstream cannot
// list its methods, the list another instance shared is used.
func (c *catalog) load(ctx context.Context) error {
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
	c.fetched = time.Now()
	if err != nil {
		return err
	}
	methods := make(map[string]bridge.MethodInfo, len(list))
	for _, m := range list {
		methods[m.MethodName] = m
	}
	if !c.known || len(methods) != len(c.methods) {
		c.logger.Info("upstream methods discovered", slog.Int("methods", len(methods)))
	}
	c.known, c.methods = true, methods
	return nil
}

// catalogPoll is the interval of discovery attempts until the first one
// succeeds (the upstream may not be connected yet).
const catalogPoll = 250 * time.Millisecond

// run refreshes the catalog every interval until ctx ends; until the first
// success, it tries every catalogPoll.
func (c *catalog) run(ctx context.Context, interval time.Duration) {
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
			lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.load(lctx)
			cancel()
			switch {
			case err == nil:
				next = interval
			case ctx.Err() == nil:
				c.logger.Debug("method discovery failed", slog.Any("err", err))
				if c.attempted() {
					next = interval // the upstream has no listing
				}
			}
		}
		t.Reset(next)
	}
}

// attempted reports whether a discovery got an answer, even a refusal: a
// Java module has no ListAPI, and asking it every poll is pointless.
func (c *catalog) attempted() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return !c.fetched.IsZero()
}

// lookup finds a method. ok is false when the catalog is known and has no
// such method; known is false when every name is passed through. A miss
// refreshes the catalog first, at most every catalogRetry.
func (c *catalog) lookup(ctx context.Context, name string) (m bridge.MethodInfo, known, ok bool) {
	c.mu.RLock()
	m, ok = c.methods[name]
	known, fetched := c.known, c.fetched
	c.mu.RUnlock()
	if ok || (known && time.Since(fetched) < catalogRetry) || c.up.Ready() != nil {
		return m, known, ok || !known
	}
	_ = c.load(ctx)
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok = c.methods[name]
	return m, c.known, ok || !c.known
}

// list returns the methods sorted by name, and whether the catalog is
// known.
func (c *catalog) list() ([]bridge.MethodInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]bridge.MethodInfo, 0, len(c.methods))
	for _, m := range c.methods {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MethodName < out[j].MethodName })
	return out, c.known
}

// lookupCached finds a method without refreshing the catalog.
func (c *catalog) lookupCached(name string) (bridge.MethodInfo, bool, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.methods[name]
	return m, c.known, ok || !c.known
}
