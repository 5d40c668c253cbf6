package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// compoundMethod is a virtual method registered by a connection (D14): its
// child methods run in order, with the caller's parameters mapped through
// the aliases.
type compoundMethod struct {
	name        string
	description string
	children    []CompoundChild
	owner       *session
}

// registerCompound answers RegisterCompoundMethod. The reply's RequestID is
// the message's MessageID.
func (m *Module) registerCompound(owner *session, id string, rc *RegisterCompoundMethod) *Response {
	if err := m.addCompound(owner, rc); err != nil {
		return failureResponse(id, err, nil)
	}
	return compoundReply(id, "RegisterCompoundMethod", rc.CompoundMethodName)
}

func compoundReply(id, kind, name string) *Response {
	data, _ := json.Marshal(map[string]string{"CompoundMethodName": name})
	return &Response{
		RequestID: id, ResponseProcessingTime: "0", ResponseComment: "success",
		ResponseData: []MethodResult{{Method: kind, Result: data}},
	}
}

// AddCompound registers a compound method owned by the module itself, as if a
// connection had sent RegisterCompoundMethod; it lasts until removed.
func (m *Module) AddCompound(rc *RegisterCompoundMethod) error {
	if err := m.addCompound(nil, rc); err != nil {
		return err
	}
	return nil
}

// RemoveCompound removes a compound method the module registered itself.
func (m *Module) RemoveCompound(name string) error {
	if err := m.removeCompound(nil, name); err != nil {
		return err
	}
	return nil
}

func (m *Module) addCompound(owner *session, rc *RegisterCompoundMethod) *RPCError {
	trusted := owner == nil || owner.peer.Trusted()
	if !trusted && m.cfg.TrustedCompounds {
		m.logger.Warn("compound method registration refused: the connection is not trusted",
			slog.String("name", rc.CompoundMethodName), slog.String("remote_addr", owner.peer.RemoteAddr()))
		return Fail(CodeParameterError, "RegisterCompoundMethod is not allowed on this connection")
	}
	name := rc.CompoundMethodName
	if name == "" {
		return Fail(CodeParameterError, "CompoundMethodName is empty")
	}
	if len(rc.CompoundMethods) == 0 {
		return Fail(CodeParameterError, "CompoundMethods is empty")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.compounds[name]; ok {
		return Fail(CodeParameterError, fmt.Sprintf("method name '%s' is already taken", name))
	}
	if _, ok := m.methods[name]; ok {
		return Fail(CodeParameterError, fmt.Sprintf("method name '%s' is already taken", name))
	}
	// aliasKind records the JSON kind each alias stands for: an alias
	// feeding parameters of different types collides.
	aliasKind := map[string]JSONKind{}
	seenChild := map[string]bool{}
	for _, c := range rc.CompoundMethods {
		vs := m.methods[c.Method]
		if len(vs) == 0 || !trusted && vs[len(vs)-1].TrustedOnly {
			// A trusted-only child is not there for an untrusted
			// connection: it is refused again when the method runs,
			// whoever calls it.
			return &RPCError{Status: StatusFailed, Code: CodeMethodNotFound, Comment: fmt.Sprintf("child method '%s' not found", c.Method)}
		}
		if seenChild[c.Method] {
			return Fail(CodeParameterError, fmt.Sprintf("child method '%s' appears twice", c.Method))
		}
		seenChild[c.Method] = true
		for _, a := range c.Aliases {
			if a.Alias == "" || a.Param == "" {
				return Fail(CodeParameterError, fmt.Sprintf("child method '%s': empty parameter or alias", c.Method))
			}
			// One alias may feed several parameters (chainId and
			// assetChainId), but only of one type.
			kind := declaredKind(vs[len(vs)-1], a.Param)
			if prev, ok := aliasKind[a.Alias]; ok && prev != kind && prev != KindAny && kind != KindAny {
				return Fail(CodeParameterError, fmt.Sprintf("alias '%s' collides: it names parameters of types %s and %s", a.Alias, prev, kind))
			}
			if _, ok := aliasKind[a.Alias]; !ok || kind != KindAny {
				aliasKind[a.Alias] = kind
			}
		}
	}
	m.compounds[name] = &compoundMethod{name: name, description: rc.CompoundMethodDescription, children: rc.CompoundMethods, owner: owner}
	m.notifyLocked()
	return nil
}

func declaredKind(r *registered, param string) JSONKind {
	for _, p := range r.Parameters {
		if p.Name == param {
			return ParameterKind(p.Type)
		}
	}
	return KindAny
}

// unregisterCompound answers UnregisterCompoundMethod: an empty name removes
// every compound method the connection registered.
func (m *Module) unregisterCompound(owner *session, id, name string) *Response {
	if m.cfg.TrustedCompounds && !owner.peer.Trusted() {
		return failureResponse(id, Fail(CodeParameterError, "UnregisterCompoundMethod is not allowed on this connection"), nil)
	}
	if err := m.removeCompound(owner, name); err != nil {
		return failureResponse(id, err, nil)
	}
	return compoundReply(id, "UnregisterCompoundMethod", name)
}

func (m *Module) removeCompound(owner *session, name string) *RPCError {
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == "" {
		removed := false
		for n, c := range m.compounds {
			if c.owner == owner {
				delete(m.compounds, n)
				removed = true
			}
		}
		if removed {
			m.notifyLocked()
		}
		return nil
	}
	c, ok := m.compounds[name]
	if !ok {
		return &RPCError{Status: StatusFailed, Code: CodeMethodNotFound, Comment: fmt.Sprintf("compound method '%s' not found", name)}
	}
	if c.owner != owner {
		return Fail(CodeParameterError, fmt.Sprintf("compound method '%s' was registered by another connection", name))
	}
	delete(m.compounds, name)
	m.notifyLocked()
	return nil
}

// runCompound runs the children in order; any failure fails the whole. The
// result is {"<child>": <result>, ...} in child order.
func (m *Module) runCompound(ctx context.Context, peer *Peer, c *compoundMethod, raw json.RawMessage) (json.RawMessage, *RPCError) {
	params, perr := paramObject(raw)
	if perr != nil {
		perr.Method = c.name
		return nil, perr
	}
	w := objectWriter{}
	w.open()
	for _, child := range c.children {
		childParams := map[string]json.RawMessage{}
		for _, a := range child.Aliases {
			if v, ok := params[a.Alias]; ok {
				childParams[a.Param] = v
			}
		}
		m.mu.RLock()
		r := m.methods.find(child.Method, "")
		m.mu.RUnlock()
		if r != nil && r.TrustedOnly && !peer.Trusted() {
			m.refuseUntrusted(peer, child.Method)
			r = nil
		}
		if r == nil {
			e := notFound(child.Method, "")
			e.Method = c.name
			return nil, e
		}
		if e := r.checkParams(childParams); e != nil {
			e.Method = c.name
			e.Comment = child.Method + ": " + e.Comment
			return nil, e
		}
		b, _ := json.Marshal(childParams)
		result, _, e := m.invoke(ctx, peer, r, child.Method, b)
		if e != nil {
			e.Method = c.name
			e.Comment = child.Method + ": " + e.Comment
			return nil, e
		}
		_ = w.raw(child.Method, result, "null")
	}
	w.close()
	return w.buf, nil
}

// info describes a compound method: its parameters are its aliases, typed by
// the child parameters they feed.
func (c *compoundMethod) info(methods methodTable) MethodInfo {
	mi := MethodInfo{
		MethodName: c.name, MethodDescription: c.description,
		MethodMinEvent: "0", MethodMinPeriod: "1", MethodScope: string(ScopePublic),
		Parameters: []ParameterInfo{},
	}
	seen := map[string]bool{}
	for _, child := range c.children {
		vs := methods[child.Method]
		for _, a := range child.Aliases {
			if seen[a.Alias] {
				continue
			}
			seen[a.Alias] = true
			pi := ParameterInfo{ParameterName: a.Alias}
			if len(vs) > 0 {
				for _, p := range vs[len(vs)-1].Parameters {
					if p.Name == a.Param {
						pi.ParameterType, pi.ParameterValidRange, pi.ParameterValidRegExp = p.Type, p.ValidRange, p.ValidRegExp
					}
				}
			}
			mi.Parameters = append(mi.Parameters, pi)
		}
	}
	return mi
}
