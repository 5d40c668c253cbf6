package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// Upstream is the NULS side of the gateway, whatever the topology.
type Upstream interface {
	// Call runs the methods in one all-or-nothing call (D4).
	Call(ctx context.Context, calls []bridge.MethodCall) (*bridge.Reply, error)
	// Subscribe opens a subscription where its method is served.
	Subscribe(ctx context.Context, req bridge.Request) (*bridge.Subscription, error)
	// Methods lists the callable methods. It fails when the upstream
	// cannot list them (a Java module has no ListAPI).
	Methods(ctx context.Context) ([]bridge.MethodInfo, error)
	// Ready returns nil when the upstream can serve calls.
	Ready() error
}

// Pushes is a subscription's pushes: a *bridge.Subscription, or a stream
// made of several (package pool).
type Pushes interface {
	// C is closed when the subscription ends; Err then says why.
	C() <-chan bridge.Push
	Err() error
	Close() error
}

var _ Pushes = (*bridge.Subscription)(nil)

// StreamOpener is an Upstream whose subscriptions may move between the
// nodes it routes to without their consumers seeing it: Feeds opens its
// pushed feeds with OpenStream rather than Subscribe.
type StreamOpener interface {
	OpenStream(ctx context.Context, req bridge.Request) (Pushes, error)
}

// SelfBounded is an Upstream that bounds each call by itself, when the
// call's context has no deadline: the gateway then gives it none, which
// saves a context and a timer per call.
type SelfBounded interface {
	CallTimeout() time.Duration
}

// rpcClient is what an upstream uses of a *bridge.Client (an interface for
// the tests' stand-ins).
type rpcClient interface {
	Call(ctx context.Context, method string, params any) (json.RawMessage, error)
	CallMethods(ctx context.Context, calls []bridge.MethodCall) (*bridge.Reply, error)
	Subscribe(ctx context.Context, req bridge.Request) (*bridge.Subscription, error)
	Ready() bool
	Connections() int64
	CallTimeout() time.Duration
}

var _ rpcClient = (*bridge.Client)(nil)

// reconnects is how many connections a client negotiated after its first.
func reconnects(n int64) int64 { return max(n-1, 0) }

// Direct is topology T1: one endpoint serves every method (a Nulstar
// Connector, a Java module, or the simulated node). All HTTP calls share
// its one multiplexed connection.
type Direct struct {
	c rpcClient
}

// NewDirect returns the T1 upstream over a running client.
func NewDirect(c *bridge.Client) *Direct { return &Direct{c: c} }

// Call implements Upstream.
func (d *Direct) Call(ctx context.Context, calls []bridge.MethodCall) (*bridge.Reply, error) {
	return d.c.CallMethods(ctx, calls)
}

// CallTimeout implements SelfBounded: the client bounds each call.
func (d *Direct) CallTimeout() time.Duration { return d.c.CallTimeout() }

// Subscribe implements Upstream.
func (d *Direct) Subscribe(ctx context.Context, req bridge.Request) (*bridge.Subscription, error) {
	return d.c.Subscribe(ctx, req)
}

// Methods implements Upstream with ListAPI.
func (d *Direct) Methods(ctx context.Context) ([]bridge.MethodInfo, error) {
	return listMethods(ctx, d.c)
}

// Reconnects counts the upstream connections negotiated after the first.
func (d *Direct) Reconnects() int64 { return reconnects(d.c.Connections()) }

// Roles of the upstream connections in Health, beside the module roles of
// the Manager's role table.
const (
	// RoleDirect is the one connection of the direct topology.
	RoleDirect = "direct"
	// RoleManager is the connection to the Manager in the manager
	// topology.
	RoleManager = "manager"
)

// Health reports whether the upstream connection is negotiated, under
// RoleDirect.
func (d *Direct) Health() map[string]bool { return map[string]bool{RoleDirect: d.c.Ready()} }

// Ready implements Upstream.
func (d *Direct) Ready() error {
	if !d.c.Ready() {
		return bridge.ErrNotConnected
	}
	return nil
}

// listMethods asks a peer for its methods: ListAPI (Nulstar's Connector and
// the simulated node), then GetConsolidatedAPI (Nulstar's Manager).
func listMethods(ctx context.Context, c rpcClient) ([]bridge.MethodInfo, error) {
	return listMethodsWith(ctx, c, "ListAPI", "GetConsolidatedAPI")
}

// listMethodsWith asks a peer for its methods with the first of methods it
// serves.
func listMethodsWith(ctx context.Context, c rpcClient, methods ...string) ([]bridge.MethodInfo, error) {
	var errs []error
	for _, method := range methods {
		raw, err := c.Call(ctx, method, nil)
		if err != nil {
			errs = append(errs, err)
			var rpcErr *bridge.RPCError
			if errors.As(err, &rpcErr) {
				continue // not served here; try the other
			}
			return nil, err
		}
		ms, err := bridge.ParseMethodList(raw)
		if err != nil {
			return nil, err
		}
		return ms, nil
	}
	return nil, fmt.Errorf("gateway: upstream lists no methods: %w", errors.Join(errs...))
}
