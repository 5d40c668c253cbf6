package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// Managed is topology T2: the gateway registers with a Manager as a module
// (RegisterAPI), learns the role table, connects to the modules directly,
// and routes each method to a module that serves it, with no per-method
// configuration: a module's ListAPI tells what it serves when it has one;
// otherwise the first module that does not answer "method not found" is
// remembered for that method. The Manager itself is the last candidate.
// Subscriptions go to the module directly, as they must
// (docs/protocol.md#subscriptions-through-nulstar).
type Managed struct {
	link    *bridge.ManagerLink
	modules *bridge.Modules
	logger  *slog.Logger

	mu     sync.Mutex // guards routes, listed, forward
	routes map[string]*bridge.Client
	listed map[*bridge.Client]bool // whose ListAPI was asked
	// forward are the methods the Manager routes itself, with
	// ForwardMessage: Nulstar's ServiceManager lists its modules' methods
	// (GetConsolidatedAPI) but gives the gateway no module address.
	forward map[string]bool
	// learned is set once the Manager's listing was asked for: before,
	// a call with no module to go to waits.
	learned bool
}

// NewManaged returns the T2 upstream over a running Manager link and module
// set (feed the set with the link's role tables: ManagerLinkConfig.OnRoles).
func NewManaged(link *bridge.ManagerLink, modules *bridge.Modules, logger *slog.Logger) *Managed {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Managed{link: link, modules: modules, logger: logger,
		routes: map[string]*bridge.Client{}, listed: map[*bridge.Client]bool{}, forward: map[string]bool{}}
}

// Ready implements Upstream: registered with the Manager, and connected to
// every module of its role table. (A Java Manager answers RegisterAPI at
// once, and the module connections come up hundreds of milliseconds later:
// ready before them, the gateway would send its first calls nowhere.)
func (m *Managed) Ready() error {
	if !m.link.Client().Ready() {
		return bridge.ErrNotConnected
	}
	for role, c := range m.modules.Clients() {
		if !c.Ready() {
			return fmt.Errorf("%w: module %s", bridge.ErrNotConnected, role)
		}
	}
	return nil
}

// Health reports whether each upstream connection is negotiated: the
// Manager's (RoleManager) and each module's of the role table, by role.
func (m *Managed) Health() map[string]bool {
	clients := m.modules.Clients()
	out := make(map[string]bool, len(clients)+1)
	out[RoleManager] = m.link.Client().Ready()
	for role, c := range clients {
		out[role] = c.Ready()
	}
	return out
}

// Reconnects counts the connections negotiated after the first, to the
// Manager and to each module now in the role table.
func (m *Managed) Reconnects() int64 {
	n := reconnects(m.link.Client().Connections())
	for _, c := range m.candidates() {
		n += reconnects(c.Connections())
	}
	return n
}

// routeWait is how often a call whose module is not connected yet looks
// again, until its deadline.
const routeWait = 50 * time.Millisecond

// Methods implements Upstream: the Manager's listing (ListAPI, or Nulstar's
// GetConsolidatedAPI), else what the modules list.
func (m *Managed) Methods(ctx context.Context) ([]bridge.MethodInfo, error) {
	defer func() {
		m.mu.Lock()
		m.learned = true
		m.mu.Unlock()
	}()
	// A plain GetConsolidatedAPI is refused by Nulstar's ServiceManager
	// and unknown to a Java Manager: ListAPI, then the subscription.
	list, err := listMethodsWith(ctx, m.link.Client(), "ListAPI")
	if err == nil {
		return list, nil
	}
	list, cerr := consolidatedAPI(ctx, m.link.Client())
	if cerr == nil {
		forward := make(map[string]bool, len(list))
		for _, mi := range list {
			forward[mi.MethodName] = true
		}
		m.mu.Lock()
		m.forward = forward
		m.mu.Unlock()
		return list, nil
	}
	err = errors.Join(err, fmt.Errorf("GetConsolidatedAPI: %w", cerr))
	seen := map[string]bool{}
	var out []bridge.MethodInfo
	for _, c := range m.candidates() {
		ms, lerr := listMethods(ctx, c)
		if lerr != nil {
			continue
		}
		for _, mi := range ms {
			if !seen[mi.MethodName] {
				seen[mi.MethodName] = true
				out = append(out, mi)
			}
		}
	}
	if len(out) == 0 {
		return nil, err
	}
	return out, nil
}

// consolidatedWait bounds the wait for the first answer of a
// GetConsolidatedAPI subscription.
const consolidatedWait = 5 * time.Second

// consolidatedAPI asks Nulstar's ServiceManager for its modules' methods
// as its own Connector does: the ServiceManager accepts GetConsolidatedAPI
// only as an event subscription (SubscriptionEventCounter 1), whose first
// answer is the list.
func consolidatedAPI(ctx context.Context, c *bridge.Client) ([]bridge.MethodInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, consolidatedWait)
	defer cancel()
	sub, err := c.Subscribe(ctx, bridge.Request{SubscriptionEventCounter: 1,
		RequestMethods: []bridge.MethodCall{{Method: "GetConsolidatedAPI", Params: json.RawMessage(`{}`)}}})
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Close() }()
	select {
	case p, ok := <-sub.C():
		switch {
		case !ok:
			return nil, sub.Err()
		case p.Err != nil:
			return nil, p.Err
		case len(p.Results) == 0:
			return nil, errors.New("gateway: GetConsolidatedAPI answered no data")
		}
		return bridge.ParseMethodList(p.Results[0].Result)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// CanPush reports whether a subscription of method can be pushed: not
// when the Manager forwards its calls (no module connection carries it).
func (m *Managed) CanPush(method string) bool {
	return len(m.candidates()) > 0 || !m.forwardable([]bridge.MethodCall{{Method: method}})
}

// forwardable reports whether the Manager routes every call itself.
func (m *Managed) forwardable(calls []bridge.MethodCall) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range calls {
		if !m.forward[c.Method] {
			return false
		}
	}
	return true
}

// forwardCalls sends each call to the Manager as ForwardMessage
// {"<method>": params}, one at a time (the ServiceManager forwards one
// method per message), as Nulstar's Connector does.
func (m *Managed) forwardCalls(ctx context.Context, calls []bridge.MethodCall) (*bridge.Reply, error) {
	out := &bridge.Reply{}
	for _, c := range calls {
		params := c.Params
		if len(params) == 0 {
			params = json.RawMessage(`{}`)
		}
		reply, err := m.link.Client().CallMethods(ctx, []bridge.MethodCall{{Method: "ForwardMessage",
			Params: json.RawMessage(`{` + strconv.Quote(c.Method) + `:` + string(params) + `}`)}})
		if err != nil {
			var rpcErr *bridge.RPCError
			if errors.As(err, &rpcErr) {
				rpcErr.Method = c.Method
			}
			return nil, err
		}
		res := reply.Results[0]
		res.Method = c.Method
		out.Results = append(out.Results, res)
		out.MessageID, out.RequestID, out.ProcessingTime = reply.MessageID, reply.RequestID, reply.ProcessingTime
	}
	return out, nil
}

// candidates are the connections that may serve a method: the modules, in
// a stable order. Never the Manager: it routes nothing (a Java Manager
// answers "Cmd not found" to a module's method; Nulstar's ServiceManager
// executes only its own).
func (m *Managed) candidates() []*bridge.Client {
	byRole := m.modules.Clients()
	roles := make([]string, 0, len(byRole))
	for r := range byRole {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	seen := map[*bridge.Client]bool{}
	var out []*bridge.Client
	for _, r := range roles {
		if c := byRole[r]; !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// route returns the connection known to serve method, asking the modules'
// ListAPI once each; nil when unknown.
func (m *Managed) route(ctx context.Context, method string) *bridge.Client {
	cands := m.candidates()
	live := map[*bridge.Client]bool{}
	for _, c := range cands {
		live[c] = true
	}
	m.mu.Lock()
	c, ok := m.routes[method]
	m.mu.Unlock()
	if ok && live[c] {
		return c
	}
	for _, c := range cands {
		m.mu.Lock()
		asked := m.listed[c]
		m.mu.Unlock()
		if asked || !c.Ready() || c == m.link.Client() {
			continue
		}
		ms, err := listMethods(ctx, c)
		var rpcErr *bridge.RPCError
		if err != nil && !errors.As(err, &rpcErr) {
			continue // a transport failure: ask again later
		}
		m.mu.Lock()
		m.listed[c] = true
		for _, mi := range ms {
			if _, taken := m.routes[mi.MethodName]; !taken {
				m.routes[mi.MethodName] = c
			}
		}
		m.mu.Unlock()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.routes[method]; ok && live[c] {
		return c
	}
	return nil
}

func (m *Managed) remember(method string, c *bridge.Client) {
	m.mu.Lock()
	m.routes[method] = c
	m.mu.Unlock()
}

// Call implements Upstream. Methods served by different modules are called
// module by module, in order, stopping at the first failure: the
// all-or-nothing rule then holds for the answer, not for the execution.
func (m *Managed) Call(ctx context.Context, calls []bridge.MethodCall) (*bridge.Reply, error) {
	var groups [][]bridge.MethodCall
	var owners []*bridge.Client
	for _, c := range calls {
		owner := m.route(ctx, c.Method)
		if n := len(groups); n > 0 && owner != nil && owners[n-1] == owner {
			groups[n-1] = append(groups[n-1], c)
			continue
		}
		groups = append(groups, []bridge.MethodCall{c})
		owners = append(owners, owner)
	}
	var out *bridge.Reply
	for i, g := range groups {
		reply, err := m.callGroup(ctx, owners[i], g)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = reply
			continue
		}
		out.Results = append(out.Results, reply.Results...)
		out.MessageID, out.ProcessingTime = reply.MessageID, reply.ProcessingTime
	}
	return out, nil
}

// callGroup calls methods on their owner, or finds the owner of a single
// unrouted method by trying the candidates: a peer that does not know a
// method answers "not found" without running anything.
func (m *Managed) callGroup(ctx context.Context, owner *bridge.Client, calls []bridge.MethodCall) (*bridge.Reply, error) {
	if owner != nil {
		return owner.CallMethods(ctx, calls)
	}
	tried := map[*bridge.Client]bool{}
	lastErr := bridge.ErrNotConnected
	for {
		if len(m.candidates()) == 0 && m.forwardable(calls) {
			return m.forwardCalls(ctx, calls)
		}
		waiting := false
		for _, c := range m.candidates() {
			if tried[c] {
				continue
			}
			if !c.Ready() {
				waiting = true
				continue
			}
			tried[c] = true
			reply, err := c.CallMethods(ctx, calls)
			var rpcErr *bridge.RPCError
			if errors.As(err, &rpcErr) && rpcErr.MethodNotFound() {
				lastErr = err
				continue
			}
			if err == nil || errors.As(err, &rpcErr) {
				for _, call := range calls {
					m.remember(call.Method, c)
				}
			}
			return reply, err
		}
		m.mu.Lock()
		learned := m.learned
		m.mu.Unlock()
		if !waiting && (len(tried) > 0 || (m.link.Client().Ready() && learned)) {
			// Every module said it does not serve it, or the Manager's
			// role table names none.
			return nil, lastErr
		}
		// A module of the table is not connected yet (or there is no
		// table yet): wait for it, as long as the call may.
		t := time.NewTimer(routeWait)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(lastErr, bridge.ErrNotConnected) {
				return nil, fmt.Errorf("%w: no module of the role table serves the call yet", bridge.ErrNotConnected)
			}
			return nil, lastErr
		case <-t.C:
		}
	}
}

// Subscribe implements Upstream, on the module that serves the method.
func (m *Managed) Subscribe(ctx context.Context, req bridge.Request) (*bridge.Subscription, error) {
	method := req.RequestMethods[0].Method
	owner := m.route(ctx, method)
	if owner == nil {
		// Find the owner with a one-shot call: subscribable methods
		// read state.
		if _, err := m.callGroup(ctx, nil, req.RequestMethods[:1]); err != nil {
			var rpcErr *bridge.RPCError
			if !errors.As(err, &rpcErr) || rpcErr.MethodNotFound() {
				return nil, err
			}
		}
		if owner = m.route(ctx, method); owner == nil {
			return nil, &bridge.RPCError{Method: method, Status: bridge.StatusFailed, Code: bridge.CodeMethodNotFound, Comment: "no module serves " + method}
		}
	}
	return owner.Subscribe(ctx, req)
}

// CallEach calls method on every module of the role table, once per module
// process (RPC-TOOL callMultiplyRpc), and returns each one's answer by role.
func (m *Managed) CallEach(ctx context.Context, method string, params json.RawMessage) map[string]bridge.Answer {
	return m.modules.CallEach(ctx, method, params)
}

// Route returns the URL of the module a method is routed to, once a call
// found it; ok is false before, and for the methods the Manager forwards.
func (m *Managed) Route(method string) (url string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.routes[method]
	if c == nil {
		return "", false
	}
	return c.URL(), true
}
