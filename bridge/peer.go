package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// defaultCallTimeout is how long a call waits for its Response when its
// context has no deadline: 10 s, as the Java client (D19).
const defaultCallTimeout = 10 * time.Second

// Peer is one connection seen from this side, whoever dialled it. It can call
// the other side's methods and, when a Module serves the connection, answer
// the other side's Requests: every NULS module is client and server at once.
//
// Peer is safe for concurrent use.
type Peer struct {
	conn   *Conn
	ids    *idGenerator
	logger *slog.Logger
	cfg    peerConfig

	// negotiated receives NegotiateConnectionResponses for negotiate.
	negotiated chan *negotiationAnswer

	mu           sync.Mutex // guards pending, routes, abbreviation, closed
	pending      map[string]*pendingCall
	routes       map[string]pushSink // subscription pushes by Request MessageID
	abbreviation string
	closed       bool

	// session answers Requests when a Module serves this connection.
	session requestHandler
}

// peerConfig is what a Client or a Module decides for its connections.
type peerConfig struct {
	conn        ConnConfig
	callTimeout time.Duration
	// noTimeOut stops sending the TimeOut field (D19).
	noTimeOut bool
	// maxCompression is the highest zlib level we serve as a server (D7).
	maxCompression int
	// onNotification receives Notifications (D15); nil drops them.
	onNotification func(*Peer, *Notification)
	// newSession makes the module side of a connection, or nil.
	newSession func(*Peer) requestHandler
	// trusted marks the connection as trusted (Peer.Trusted).
	trusted bool
}

// requestHandler is the module side of one connection.
type requestHandler interface {
	// handle processes a Request, RequestOnly, Unsubscribe or compound
	// method message. It runs on the reader goroutine and must not block.
	handle(m *Message)
	// closed is called once when the connection has ended.
	closed()
}

// pushSink receives the subscription Responses routed to it.
type pushSink interface {
	push(p *Peer, m *Message, r *Response)
}

type negotiationAnswer struct {
	msg  *Message
	resp *NegotiateConnectionResponse
}

func newPeer(ws *websocket.Conn, cfg peerConfig, ids *idGenerator, logger *slog.Logger) *Peer {
	if cfg.callTimeout <= 0 {
		cfg.callTimeout = defaultCallTimeout
	}
	p := &Peer{
		ids:        ids,
		logger:     logger,
		cfg:        cfg,
		negotiated: make(chan *negotiationAnswer, 1),
		pending:    make(map[string]*pendingCall),
		routes:     make(map[string]pushSink),
	}
	p.conn = newConn(ws, cfg.conn, p.handle, logger)
	p.conn.onClose = p.connectionEnded
	if cfg.newSession != nil {
		p.session = cfg.newSession(p)
	}
	p.conn.start()
	return p
}

// Abbreviation returns the name the peer gave in its NegotiateConnection, or
// "" if it did not negotiate.
func (p *Peer) Abbreviation() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.abbreviation
}

// Trusted reports whether the connection is trusted: the Module serving it
// answers its TrustedOnly methods (the kernel commands). A connection a
// Client opened is trusted when ClientConfig.Trusted says so (the Manager
// link's); one a Module accepted, when ModuleConfig.TrustAccepted does.
// A nil Peer (an internal call) is not.
func (p *Peer) Trusted() bool { return p != nil && p.cfg.trusted }

// RemoteAddr returns the peer's network address as text.
func (p *Peer) RemoteAddr() string { return p.conn.RemoteAddr().String() }

// Done is closed when the connection has ended.
func (p *Peer) Done() <-chan struct{} { return p.conn.Done() }

// Err returns why the connection ended, or nil while it is open.
func (p *Peer) Err() error { return p.conn.Err() }

// Close flushes what is queued and closes the connection.
func (p *Peer) Close() error { return p.conn.Close() }

// Send queues one message for the peer.
func (p *Peer) Send(ctx context.Context, m *Message) error { return p.conn.Send(ctx, m) }

// NewMessage wraps data in an envelope with a fresh MessageID.
func (p *Peer) NewMessage(data Payload) *Message { return NewMessage(p.ids.next(), data) }

// Reply is the outcome of a successful call.
type Reply struct {
	// RequestID is the MessageID of our Request.
	RequestID string
	// MessageID is the MessageID of the (last) Response.
	MessageID string
	// ProcessingTime is the peer's ResponseProcessingTime in
	// milliseconds, or "" when it sent none.
	ProcessingTime string
	// Results holds one result per requested method, in request order.
	Results []MethodResult
}

// Call runs one method and returns its result.
func (p *Peer) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	raw, err := marshalParams(params)
	if err != nil {
		return nil, err
	}
	reply, err := p.CallMethods(ctx, []MethodCall{{Method: method, Params: raw}})
	if err != nil {
		return nil, err
	}
	return reply.Results[0].Result, nil
}

// CallMethods runs several methods in one Request (D4). It returns when
// every method has a result, whether the peer sent one consolidated Response
// or one per method, or as soon as one failure arrives: the call is
// all-or-nothing. Without a deadline in ctx the call times out after the
// configured call timeout (10 s by default, D19). An Ack is never awaited
// (D6).
func (p *Peer) CallMethods(ctx context.Context, calls []MethodCall) (*Reply, error) {
	if len(calls) == 0 {
		return nil, errors.New("bridge: call without methods")
	}
	// The call is bounded by ctx's deadline, or else by the configured
	// timeout, with a timer of the pool rather than a context of its
	// own: a call is the hot path of a gateway.
	timeout := p.cfg.callTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline)
	}
	req := &Request{RequestMethods: calls}
	if !p.cfg.noTimeOut {
		// D19: a Java peer drops the Request once Timestamp+TimeOut has
		// passed, so expired work is not done.
		req.TimeOut = max(1, timeout.Milliseconds())
	}
	id := p.ids.next()
	pc := newPendingCall(calls)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrConnectionLost
	}
	p.pending[id] = pc
	p.mu.Unlock()

	t := getTimer(timeout)
	defer putTimer(t)
	if err := p.send(ctx, NewMessage(id, req), timeout); err != nil {
		p.forget(id)
		if errors.Is(err, ErrClosed) {
			return nil, ErrConnectionLost
		}
		return nil, callError(calls, err)
	}
	select {
	case <-pc.done:
		if pc.err != nil {
			return nil, pc.err
		}
		return pc.result(id), nil
	case <-ctx.Done():
		p.forget(id)
		return nil, callError(calls, ctx.Err())
	case <-t.C:
		p.forget(id)
		return nil, callError(calls, context.DeadlineExceeded)
	}
}

// send queues m for the writer. When the queue is full it waits, at most
// timeout.
func (p *Peer) send(ctx context.Context, m *Message, timeout time.Duration) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	if p.conn.trySend(b) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return p.conn.sendFrame(ctx, b)
}

// timers are the calls' timers, reused: since Go 1.23 a stopped or reset
// timer delivers no stale tick, so a timer from the pool is as good as new.
var timers sync.Pool

func getTimer(d time.Duration) *time.Timer {
	if t, ok := timers.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func putTimer(t *time.Timer) {
	t.Stop()
	timers.Put(t)
}

func callError(calls []MethodCall, err error) error {
	name := calls[0].Method
	if len(calls) > 1 {
		name += ",…"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %w", ErrTimeout, name, err)
	}
	return fmt.Errorf("bridge: call %s: %w", name, err)
}

func (p *Peer) forget(id string) {
	p.mu.Lock()
	delete(p.pending, id)
	p.mu.Unlock()
}

// marshalParams turns call parameters into a JSON object: nil is {}, a
// json.RawMessage or []byte is used as is, anything else is marshalled.
func marshalParams(params any) (json.RawMessage, error) {
	var raw []byte
	switch v := params.(type) {
	case nil:
		return json.RawMessage(`{}`), nil
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("bridge: params: %w", err)
		}
		raw = b
	}
	if len(bytes.TrimSpace(raw)) == 0 || jsonKind(raw) == "null" {
		return json.RawMessage(`{}`), nil
	}
	if jsonKind(raw) != "an object" || !json.Valid(raw) {
		return nil, fmt.Errorf("bridge: params must be a JSON object")
	}
	return raw, nil
}

// pendingCall collects the Responses of one Request. Its Reply is built in
// place, one result per requested method in request order, so that a call
// allocates it once.
type pendingCall struct {
	calls   []MethodCall // the caller's, not changed during the call
	reply   Reply
	missing int // results not received yet
	err     error
	done    chan struct{}
}

func newPendingCall(calls []MethodCall) *pendingCall {
	pc := &pendingCall{calls: calls, missing: len(calls), done: make(chan struct{})}
	pc.reply.Results = make([]MethodResult, len(calls))
	for i, c := range calls {
		pc.reply.Results[i].Method = c.Method
	}
	return pc
}

// set records the result of the methods called name; a name not
// requested is ignored.
func (pc *pendingCall) set(name string, result json.RawMessage) {
	if len(result) == 0 {
		result = json.RawMessage("null")
	}
	for i := range pc.reply.Results {
		if r := &pc.reply.Results[i]; r.Method == name {
			if r.Result == nil {
				pc.missing--
			}
			r.Result = result
		}
	}
}

// add records one Response and reports whether the call is complete.
// Peer.mu must be held.
func (pc *pendingCall) add(msgID string, r *Response) bool {
	pc.reply.MessageID, pc.reply.ProcessingTime = msgID, r.ResponseProcessingTime
	if !r.Succeeded() {
		method := ""
		if len(r.ResponseData) > 0 {
			method = r.ResponseData[0].Method
		} else if len(pc.calls) == 1 {
			method = pc.calls[0].Method
		}
		pc.err = newRPCError(method, r)
		return true
	}
	for _, mr := range r.ResponseData {
		pc.set(mr.Method, mr.Result)
	}
	if len(pc.calls) == 1 && pc.missing > 0 {
		// A single-method success keyed otherwise (a domain-qualified
		// name, say) or with no data: take what there is.
		var only json.RawMessage
		if len(r.ResponseData) == 1 {
			only = r.ResponseData[0].Result
		}
		pc.set(pc.calls[0].Method, only)
	}
	return pc.missing == 0
}

func (pc *pendingCall) result(id string) *Reply {
	pc.reply.RequestID = id
	return &pc.reply
}

// subscribe sends a subscription Request and routes its Responses to sink.
// It returns the Request's MessageID.
func (p *Peer) subscribe(ctx context.Context, req *Request, sink pushSink) (string, error) {
	id := p.ids.next()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return "", ErrConnectionLost
	}
	p.routes[id] = sink
	p.mu.Unlock()
	if err := p.conn.Send(ctx, NewMessage(id, req)); err != nil {
		p.mu.Lock()
		delete(p.routes, id)
		p.mu.Unlock()
		return "", err
	}
	return id, nil
}

// unsubscribe stops routing the given subscriptions and tells the peer, by
// Request MessageID (D5).
func (p *Peer) unsubscribe(ctx context.Context, ids ...string) error {
	p.mu.Lock()
	for _, id := range ids {
		delete(p.routes, id)
	}
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil
	}
	return p.conn.Send(ctx, p.NewMessage(&Unsubscribe{UnsubscribeMethods: ids}))
}

// unsubscribeAsync is unsubscribe for the reader goroutine: it does not wait
// for room in the send queue (dropping the Unsubscribe if there is none; the
// pushes that follow are dropped anyway, D21).
func (p *Peer) unsubscribeAsync(id string) {
	p.mu.Lock()
	delete(p.routes, id)
	p.mu.Unlock()
	if b, err := Encode(p.NewMessage(&Unsubscribe{UnsubscribeMethods: []string{id}})); err == nil {
		p.conn.trySend(b)
	}
}

// handle dispatches one received message. It runs on the reader goroutine.
func (p *Peer) handle(m *Message) {
	switch d := m.MessageData.(type) {
	case *Response:
		p.handleResponse(m, d)
	case *Ack:
		// D6: Acks are never awaited; Nulstar never sends one.
	case *NegotiateConnectionResponse:
		select {
		case p.negotiated <- &negotiationAnswer{msg: m, resp: d}:
		default: // nobody is negotiating: a stray answer
		}
	case *NegotiateConnection:
		p.answerNegotiation(m, d)
	case *Notification:
		// D15: forward, and Ack when asked.
		if p.cfg.onNotification != nil {
			p.cfg.onNotification(p, d)
		}
		if d.NotificationAck {
			p.reply(p.NewMessage(&Ack{RequestID: m.MessageID}))
		}
	default:
		if p.session != nil {
			p.session.handle(m)
			return
		}
		if req, ok := m.MessageData.(*Request); ok {
			// No module serves this connection: say so rather than
			// letting the peer wait.
			method := ""
			if len(req.RequestMethods) > 0 {
				method = req.RequestMethods[0].Method
			}
			p.reply(p.NewMessage(notFoundResponse(m.MessageID, method, "")))
		}
	}
}

// reply queues an answer from the reader goroutine. The write deadline
// bounds how long it can block.
func (p *Peer) reply(m *Message) {
	if err := p.conn.Send(context.Background(), m); err != nil && !errors.Is(err, ErrClosed) {
		p.logger.Debug("reply not sent", slog.String("message_id", m.MessageID), slog.Any("err", err))
	}
}

func (p *Peer) handleResponse(m *Message, r *Response) {
	p.mu.Lock()
	if pc, ok := p.pending[r.RequestID]; ok {
		complete := pc.add(m.MessageID, r)
		if complete {
			delete(p.pending, r.RequestID)
		}
		p.mu.Unlock()
		if complete {
			close(pc.done)
		}
		return
	}
	sink, ok := p.routes[r.RequestID]
	p.mu.Unlock()
	if ok {
		sink.push(p, m, r)
		return
	}
	// D21: a push for a subscription that ended (Java keeps sending period
	// pushes after Unsubscribe), or a Response to a call that gave up.
	if p.logger.Enabled(context.Background(), slog.LevelDebug) {
		p.logger.Debug("dropped response to unknown request", slog.String("request_id", r.RequestID))
	}
}

// connectionEnded fails every pending call at once and tells the session.
func (p *Peer) connectionEnded(error) {
	p.mu.Lock()
	p.closed = true
	pending := p.pending
	p.pending = map[string]*pendingCall{}
	p.routes = map[string]pushSink{}
	p.mu.Unlock()
	for _, pc := range pending {
		pc.err = ErrConnectionLost
		close(pc.done)
	}
	if p.session != nil {
		p.session.closed()
	}
}

// negotiate sends our NegotiateConnection and waits for the answer (D7). On
// success with a compression rate, later frames are compressed (D9).
func (p *Peer) negotiate(ctx context.Context, nc *NegotiateConnection) error {
	m := p.NewMessage(nc)
	if err := p.conn.Send(ctx, m); err != nil {
		return fmt.Errorf("%w: %w", ErrNegotiationFailed, err)
	}
	for {
		select {
		case a := <-p.negotiated:
			if a.resp.RequestID != "" && a.resp.RequestID != m.MessageID {
				continue // an answer to an earlier attempt
			}
			if !a.resp.Accepted() {
				return fmt.Errorf("%w: %s", ErrNegotiationFailed, a.resp.NegotiationComment)
			}
			if rate, _ := strconv.Atoi(nc.CompressionRate); rate > 0 {
				p.conn.SetCompression(rate)
			}
			return nil
		case <-p.conn.Done():
			return fmt.Errorf("%w: %w", ErrNegotiationFailed, p.conn.Err())
		case <-ctx.Done():
			return fmt.Errorf("%w: no answer: %w", ErrNegotiationFailed, ctx.Err())
		}
	}
}

// answerNegotiation answers a NegotiateConnection as a server (D7):
// NegotiationStatus "1" iff the major version matches ours and the zlib
// level can be served. A refused connection is closed after the answer, as
// Nulstar does.
func (p *Peer) answerNegotiation(m *Message, nc *NegotiateConnection) {
	rate, reason := acceptNegotiation(nc, p.cfg.maxCompression)
	resp := &NegotiateConnectionResponse{RequestID: m.MessageID, NegotiationStatus: "1", NegotiationComment: "Negotiation successful!"}
	if reason != "" {
		resp.NegotiationStatus = "0"
		resp.NegotiationComment = "Negotiation unsuccessful! " + reason
		p.reply(p.NewMessage(resp))
		p.conn.closeAsync()
		return
	}
	// The name is recorded before the answer is queued, so that whoever
	// has seen the answer sees the name.
	p.mu.Lock()
	p.abbreviation = nc.Abbreviation
	p.mu.Unlock()
	p.reply(p.NewMessage(resp))
	// Our answer is already queued as text; what follows is compressed.
	p.conn.SetCompression(rate)
}

// acceptNegotiation returns the zlib level to use, or why the negotiation is
// refused.
func acceptNegotiation(nc *NegotiateConnection, maxRate int) (int, string) {
	if major(nc.ProtocolVersion) != major(ProtocolVersion) {
		return 0, fmt.Sprintf("Protocol Version %q not supported!", nc.ProtocolVersion)
	}
	rate := 0
	if s := strings.TrimSpace(nc.CompressionRate); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 9 {
			return 0, fmt.Sprintf("CompressionRate %q is not a zlib level 0-9!", nc.CompressionRate)
		}
		rate = n
	}
	if rate > 0 && !strings.EqualFold(nc.CompressionAlgorithm, "zlib") {
		return 0, fmt.Sprintf("CompressionAlgorithm %q not supported!", nc.CompressionAlgorithm)
	}
	if rate > maxRate {
		return 0, fmt.Sprintf("CompressionRate %d not supported (max %d)!", rate, maxRate)
	}
	return rate, ""
}

// major returns the major part of a "major.minor" version.
func major(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	if n, err := strconv.Atoi(v); err == nil {
		return strconv.Itoa(n)
	}
	return "?" + v // never equal to a number
}

// notFoundResponse is what a Java module answers for an unknown method
// (docs/protocol.md#java): status 65536, err_0021, no data.
func notFoundResponse(requestID, method, version string) *Response {
	return &Response{
		RequestID:              requestID,
		ResponseProcessingTime: "0",
		ResponseStatus:         StatusFailed,
		ResponseComment:        "Cmd not found:" + method + "," + version,
		ResponseErrorCode:      CodeMethodNotFound,
	}
}
