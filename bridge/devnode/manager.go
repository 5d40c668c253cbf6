package devnode

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"sort"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// The main endpoint plays the Manager the way the Java kernel (mykernel)
// does (docs/protocol.md#registration): RegisterAPI is answered at once
// with every registered role's {IP, Port} (no APIVersion), the node's own
// modules included, and raises the RegisterAPI event whenever the table
// changes, so that modules subscribed to it (bridge.ManagerLink subscribes
// with SubscriptionEventCounter 1) get the new table pushed. ListAPI answers
// like the Nulstar Connector: every method keyed "<Domain>.<MethodName>".
//
// A registered module's roles and methods are dropped when the connection
// it registered on closes, as Nulstar does; the table is then pushed again.
// Calls to a registered module's methods are not forwarded: clients call the
// module directly, with the address the role table gives.

// CallModule calls a method of the module registered as abbreviation, over
// the connection it registered on, as a Manager sends its commands
// (status, shutdown, confSet: D17). It fails with bridge.ErrNotConnected
// when no such module is registered.
func (n *Node) CallModule(ctx context.Context, abbreviation, method string, params any) (json.RawMessage, error) {
	var peer *bridge.Peer
	n.mu.Lock()
	for key, r := range n.regs {
		if p, ok := key.(*bridge.Peer); ok && r.reg.Abbreviation == abbreviation {
			peer = p
		}
	}
	n.mu.Unlock()
	if peer == nil {
		return nil, fmt.Errorf("devnode: no module %q registered: %w", abbreviation, bridge.ErrNotConnected)
	}
	return peer.Call(ctx, method, params)
}

// registration is what one connection registered.
type registration struct {
	seq int64 // order of first registration: later ones win a role
	reg bridge.Registration
}

func (n *Node) managerMethods() []bridge.Method {
	return []bridge.Method{
		{
			Name:        "RegisterAPI",
			Description: "Register API",
			// MinEvent 1: modules subscribe to role table updates (the
			// Java kernel's registerAPI has minEvent = 1).
			MinEvent:   1,
			Parameters: []bridge.Parameter{},
			Handler:    n.registerAPI,
		},
		{
			Name:        "ListAPI",
			Description: "Every method of the node and of the modules registered with it, keyed <Domain>.<MethodName>.",
			Parameters:  []bridge.Parameter{},
			Handler:     n.listAPI,
		},
	}
}

// registerAPI records the caller's registration and answers the role table.
func (n *Node) registerAPI(_ context.Context, c *bridge.Call) (any, error) {
	var reg bridge.Registration
	if err := c.Bind(&reg); err != nil {
		return nil, err
	}
	// A connection registers once; repeating it (the event subscription
	// re-runs it on every push) updates its entry.
	var key any = c.Peer
	if c.Peer == nil {
		key = "abbreviation:" + reg.Abbreviation
	}
	n.mu.Lock()
	before := n.roleTableLocked()
	old, known := n.regs[key]
	r := &registration{reg: reg}
	if known {
		r.seq = old.seq
	} else {
		n.nextSeq++
		r.seq = n.nextSeq
	}
	n.regs[key] = r
	after := n.roleTableLocked()
	n.mu.Unlock()

	if !known && c.Peer != nil {
		p := c.Peer
		n.goAsync(func() {
			select {
			case <-p.Done():
				n.unregister(key)
			case <-n.stop:
			}
		})
	}
	if !maps.Equal(before, after) {
		n.logger.Info("module registered", slog.String("abbreviation", reg.Abbreviation),
			slog.Any("roles", sortedKeys(reg.ModuleRoles)), slog.Int("methods", len(reg.Methods)))
		// Not from here: the event re-runs RegisterAPI for each subscriber,
		// and this call may be one of those runs.
		n.goAsync(func() { n.trigger("RegisterAPI", nil) })
	}
	return map[string]any{"Dependencies": tableJSON(after)}, nil
}

// unregister drops what a closed connection registered, and pushes the new
// role table if it changed.
func (n *Node) unregister(key any) {
	n.mu.Lock()
	before := n.roleTableLocked()
	r := n.regs[key]
	delete(n.regs, key)
	after := n.roleTableLocked()
	stopping := n.stopping
	n.mu.Unlock()
	if r != nil {
		n.logger.Info("module gone", slog.String("abbreviation", r.reg.Abbreviation))
	}
	if !stopping && !maps.Equal(before, after) {
		n.trigger("RegisterAPI", nil)
	}
}

// sortedRegsLocked returns the registrations in the order they came.
// n.mu must be held.
func (n *Node) sortedRegsLocked() []*registration {
	out := make([]*registration, 0, len(n.regs))
	for _, r := range n.regs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// roleTableLocked is the role table: the node's own endpoints (the main one
// as "kernel", as the Java kernel lists itself), then each registered
// module's roles at its ConnectionInformation, the latest registration
// winning a role. n.mu must be held.
func (n *Node) roleTableLocked() bridge.RoleTable {
	host := n.cfg.AdvertiseHost
	t := bridge.RoleTable{"kernel": {IP: host, Port: n.main.port()}}
	for _, e := range n.roles {
		t[e.role] = bridge.Endpoint{IP: host, Port: e.port()}
	}
	for _, r := range n.sortedRegsLocked() {
		ci := r.reg.ConnectionInformation
		if ci.IP == "" || ci.Port == "" {
			continue // nowhere to call it
		}
		for role := range r.reg.ModuleRoles {
			t[role] = bridge.Endpoint{IP: ci.IP, Port: ci.Port}
		}
	}
	return t
}

// tableJSON renders a role table as the Java kernel does: {IP, Port} per
// role, no APIVersion.
func tableJSON(t bridge.RoleTable) map[string]map[string]string {
	out := make(map[string]map[string]string, len(t))
	for role, e := range t {
		out[role] = map[string]string{"IP": e.IP, "Port": e.Port}
	}
	return out
}

// listAPI answers ListAPI: the main endpoint's methods (the chain's in the
// Nuls domain, the Manager's and the kernel commands in Nulstar's) and the
// methods of every registered module in its own domain.
func (n *Node) listAPI(context.Context, *bridge.Call) (any, error) {
	out := map[string]bridge.MethodInfo{}
	for _, mi := range n.main.module.Methods() {
		domain := "Nulstar"
		if declared, ok := n.chainMethods[mi.MethodName]; ok {
			domain, mi.Parameters = "Nuls", declared
		}
		out[domain+"."+mi.MethodName] = mi
	}
	n.mu.Lock()
	regs := n.sortedRegsLocked()
	n.mu.Unlock()
	for _, r := range regs {
		domain := r.reg.ModuleDomain
		if domain == "" {
			domain = "Nuls"
		}
		for _, mi := range r.reg.Methods {
			if mi.Parameters == nil {
				mi.Parameters = []bridge.ParameterInfo{}
			}
			out[domain+"."+mi.MethodName] = mi
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
