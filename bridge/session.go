package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// session is the module side of one connection: it runs the Requests that
// arrive on it and owns the subscriptions they create.
type session struct {
	m      *Module
	peer   *Peer
	ctx    context.Context // ends with the connection or the module
	cancel context.CancelFunc

	inflight atomic.Int64
	// requests counts running one-shot Requests, for Shutdown's drain.
	requests sync.WaitGroup

	mu   sync.Mutex // guards subs
	subs map[string]*serverSub
}

func (m *Module) newSession(p *Peer) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{m: m, peer: p, ctx: ctx, cancel: cancel, subs: map[string]*serverSub{}}
	m.mu.Lock()
	m.sessions[s] = struct{}{}
	m.mu.Unlock()
	return s
}

// closed ends everything the connection owned.
func (s *session) closed() {
	s.cancel()
	m := s.m
	m.mu.Lock()
	delete(m.sessions, s)
	delete(m.accepted, s.peer)
	removed := false
	for name, c := range m.compounds {
		if c.owner == s {
			delete(m.compounds, name)
			removed = true
		}
	}
	if removed {
		m.notifyLocked()
	}
	m.mu.Unlock()
}

func (s *session) handle(msg *Message) {
	switch d := msg.MessageData.(type) {
	case *Request:
		if d.RequestAck {
			// D6: the Ack goes out on receipt, before the Response.
			s.peer.reply(s.peer.NewMessage(&Ack{RequestID: msg.MessageID}))
		}
		s.request(msg.MessageID, d, true)
	case *RequestOnly:
		// D16: executed, with no Response and no Ack.
		s.request(msg.MessageID, &d.Request, false)
	case *Unsubscribe:
		s.unsubscribe(d.UnsubscribeMethods)
	case *RegisterCompoundMethod:
		s.peer.reply(s.peer.NewMessage(s.m.registerCompound(s, msg.MessageID, d)))
	case *UnregisterCompoundMethod:
		s.peer.reply(s.peer.NewMessage(s.m.unregisterCompound(s, msg.MessageID, d.UnregisterCompoundMethodName)))
	}
}

// request starts a goroutine for one Request, unless the connection has too
// many running or the module is stopping.
func (s *session) request(id string, req *Request, respond bool) {
	if s.ctx.Err() != nil {
		return
	}
	if s.inflight.Add(1) > int64(s.m.cfg.MaxInFlight) {
		s.inflight.Add(-1)
		if respond {
			s.fail(id, Fail(CodeServerError, "too many requests in flight on this connection"))
		}
		return
	}
	// Adding to the WaitGroups under the read lock orders it before Close's
	// Wait, which runs after draining is set under the write lock.
	s.m.mu.RLock()
	if s.m.draining {
		s.m.mu.RUnlock()
		s.inflight.Add(-1)
		if respond {
			s.fail(id, Fail(CodeServerError, "module is shutting down"))
		}
		return
	}
	s.m.work.Add(1)
	s.requests.Add(1)
	s.m.mu.RUnlock()
	go func() {
		defer s.m.work.Done()
		defer s.requests.Done()
		defer s.inflight.Add(-1)
		s.serve(id, req, respond)
	}()
}

func (s *session) fail(id string, err *RPCError) {
	s.peer.reply(s.peer.NewMessage(failureResponse(id, err, nil)))
}

func (s *session) serve(id string, req *Request, respond bool) {
	start := time.Now()
	p, rpcErr := s.m.plan(req, respond, s.peer)
	if rpcErr != nil {
		if respond {
			s.fail(id, rpcErr)
		}
		return
	}
	if respond && req.IsSubscription() {
		s.subscribe(id, req, p)
		return
	}
	resp, after := s.run(s.ctx, id, p, req.ResponseMaxSize, start)
	if respond {
		s.peer.reply(s.peer.NewMessage(resp))
	}
	for _, f := range after {
		f()
	}
}

// plan is a Request resolved against the method table: each call bound to
// its handler, its parameters checked, its subscription settings valid.
type plan struct {
	calls    []plannedCall
	iv       Interval
	hasRange bool
}

type plannedCall struct {
	name     string
	params   json.RawMessage
	method   *registered
	compound *compoundMethod
}

// plan resolves req, arrived on peer's connection. Nothing runs unless
// every method exists for that connection (TrustedOnly) and every parameter
// is valid: a Request is all-or-nothing (D4s).
func (m *Module) plan(req *Request, subscribable bool, peer *Peer) (*plan, *RPCError) {
	if len(req.RequestMethods) == 0 {
		return nil, Fail(CodeParameterError, "RequestMethods is empty")
	}
	m.mu.RLock()
	p, rpcErr, refused := m.planLocked(req, subscribable, peer.Trusted())
	m.mu.RUnlock()
	if refused != "" {
		m.refuseUntrusted(peer, refused)
	}
	return p, rpcErr
}

// planLocked is plan under m.mu; refused names a TrustedOnly method an
// untrusted connection asked for. m.mu must be held.
func (m *Module) planLocked(req *Request, subscribable, trusted bool) (_ *plan, _ *RPCError, refused string) {
	p := &plan{}
	for _, mc := range req.RequestMethods {
		params, verr := paramObject(mc.Params)
		if verr != nil {
			return nil, verr, ""
		}
		pc := plannedCall{name: mc.Method, params: mc.Params}
		if len(pc.params) == 0 {
			pc.params = json.RawMessage(`{}`)
		}
		requested := ""
		if v, ok := params[VersionParam]; ok {
			requested = scalarText(v)
		}
		if c, ok := m.compounds[mc.Method]; ok {
			pc.compound = c
		} else if r := m.methods.find(mc.Method, requested); r != nil {
			if r.TrustedOnly && !trusted {
				return nil, notFound(mc.Method, requested), mc.Method
			}
			if e := r.checkParams(params); e != nil {
				e.Method = mc.Method
				return nil, e, ""
			}
			pc.method = r
		} else {
			e := notFound(mc.Method, requested)
			return nil, e, ""
		}
		p.calls = append(p.calls, pc)
	}
	if subscribable && req.IsSubscription() {
		first := p.calls[0]
		minEvent, minPeriod := 0, 1 // a compound method has no events of its own
		if first.method != nil {
			minEvent, minPeriod = first.method.MinEvent, first.method.MinPeriod
		}
		if n := req.SubscriptionEventCounter; n > 0 && (minEvent == 0 || n < minEvent) {
			return nil, Fail(CodeParameterError, fmt.Sprintf("SubscriptionEventCounter parameter: '%d' not valid for method '%s'", n, first.name)), ""
		}
		if n := req.SubscriptionPeriod; n > 0 && (minPeriod == 0 || n < minPeriod) {
			return nil, Fail(CodeParameterError, fmt.Sprintf("SubscriptionPeriod parameter: '%d' not valid for method '%s'", n, first.name)), ""
		}
		iv, ok, err := ParseInterval(req.SubscriptionRange)
		if err != nil {
			return nil, Fail(CodeParameterError, "SubscriptionRange parameter: "+err.Error()), ""
		}
		p.iv, p.hasRange = iv, ok
	}
	return p, nil, ""
}

// refuseUntrusted logs a TrustedOnly method asked for on a connection that
// is not trusted, which is answered as if the method did not exist.
func (m *Module) refuseUntrusted(peer *Peer, method string) {
	if peer == nil {
		m.logger.Warn("trusted-only method refused to an internal call", slog.String("method", method))
		return
	}
	m.logger.Warn("trusted-only method refused: the connection is not trusted (not the Manager link)",
		slog.String("method", method), slog.String("remote_addr", peer.RemoteAddr()),
		slog.String("abbreviation", peer.Abbreviation()))
}

func paramObject(raw json.RawMessage) (map[string]json.RawMessage, *RPCError) {
	params := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) == 0 || jsonKind(raw) == "null" {
		return params, nil
	}
	if err := json.Unmarshal(raw, &params); err != nil {
		return nil, Fail(CodeParameterError, "parameters must be a JSON object")
	}
	return params, nil
}

func notFound(method, version string) *RPCError {
	r := notFoundResponse("", method, version)
	return &RPCError{Method: method, Status: r.ResponseStatus, Code: r.ResponseErrorCode, Comment: r.ResponseComment}
}

// run executes the planned calls in order and builds one consolidated
// Response (D4s): if one fails, the whole Response fails with the first
// failure's code, and the failed methods' results are null.
func (s *session) run(ctx context.Context, id string, p *plan, maxSize int, start time.Time) (*Response, []func()) {
	resp := &Response{RequestID: id, ResponseComment: "success", ResponseMaxSize: maxSize}
	var after []func()
	var firstErr *RPCError
	for _, pc := range p.calls {
		var result json.RawMessage
		var err *RPCError
		if pc.compound != nil {
			result, err = s.m.runCompound(ctx, s.peer, pc.compound, pc.params)
		} else {
			var hook func()
			result, hook, err = s.m.invoke(ctx, s.peer, pc.method, pc.name, pc.params)
			if hook != nil {
				after = append(after, hook)
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if err == nil && maxSize > 0 {
			result = truncateLists(result, maxSize)
		}
		resp.ResponseData = append(resp.ResponseData, MethodResult{Method: pc.name, Result: result})
	}
	if firstErr != nil {
		resp.ResponseStatus = firstErr.Status
		resp.ResponseErrorCode = firstErr.Code
		resp.ResponseComment = firstErr.Comment
		after = nil // a failed Request does not stop the module
	}
	resp.ResponseProcessingTime = strconv.FormatInt(time.Since(start).Milliseconds(), 10)
	return resp, after
}

// invoke runs one handler, turning its error, and any panic, into an
// *RPCError.
func (m *Module) invoke(ctx context.Context, peer *Peer, r *registered, name string, params json.RawMessage) (result json.RawMessage, after func(), rpcErr *RPCError) {
	call := &Call{Method: name, Version: r.ver.String(), Params: params, Peer: peer}
	defer func() {
		if v := recover(); v != nil {
			m.logger.Error("handler panicked", "method", name, "panic", v, "stack", string(debug.Stack()))
			result, after, rpcErr = nil, nil, &RPCError{Method: name, Status: StatusFailed, Code: CodeServerError, Comment: "Server-side processing failed!"}
		}
	}()
	v, err := r.Handler(ctx, call)
	if err != nil {
		return nil, nil, handlerError(name, err)
	}
	raw, merr := marshalResult(v)
	if merr != nil {
		return nil, nil, &RPCError{Method: name, Status: StatusFailed, Code: CodeServerError, Comment: "result: " + merr.Error()}
	}
	return raw, call.afterReply, nil
}

func handlerError(name string, err error) *RPCError {
	var e *RPCError
	if errors.As(err, &e) {
		out := *e
		if out.Status == StatusSuccess {
			out.Status = StatusFailed
		}
		out.Method = name
		return &out
	}
	return &RPCError{Method: name, Status: StatusFailed, Code: CodeServerError, Comment: err.Error()}
}

func marshalResult(v any) (json.RawMessage, error) {
	switch r := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case json.RawMessage:
		if !json.Valid(r) {
			return nil, fmt.Errorf("not valid JSON")
		}
		return r, nil
	}
	return json.Marshal(v)
}

// truncateLists cuts list results to n items (D13): the result itself when it
// is an array, or each array field of an object result (Java wraps lists as
// {"list": [...]}).
func truncateLists(result json.RawMessage, n int) json.RawMessage {
	switch jsonKind(result) {
	case "an array":
		var items []json.RawMessage
		if json.Unmarshal(result, &items) != nil || len(items) <= n {
			return result
		}
		b, _ := json.Marshal(items[:n])
		return b
	case "an object":
		members, err := orderedMembers("", result)
		if err != nil {
			return result
		}
		w := objectWriter{}
		w.open()
		for _, mb := range members {
			_ = w.raw(mb.key, truncateArray(mb.value, n), "null")
		}
		w.close()
		return w.buf
	}
	return result
}

func truncateArray(v json.RawMessage, n int) json.RawMessage {
	if jsonKind(v) != "an array" {
		return v
	}
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil || len(items) <= n {
		return v
	}
	b, _ := json.Marshal(items[:n])
	return b
}

// failureResponse answers a Request that failed before or while running.
func failureResponse(id string, err *RPCError, data []MethodResult) *Response {
	return &Response{
		RequestID:              id,
		ResponseProcessingTime: "0",
		ResponseStatus:         err.Status,
		ResponseComment:        err.Comment,
		ResponseErrorCode:      err.Code,
		ResponseData:           data,
	}
}
