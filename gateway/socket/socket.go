package socket

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nuls-gateway/nuls-gateway/gateway/sse"
	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// Close codes of a socket whose credential no longer holds (RFC 6455
// 7.4.2 leaves 4000-4999 to applications; 4401 is the HTTP status, as
// graphql-ws has it), and of one whose key stores cannot tell now (1013,
// Try Again Later, IANA's registry).
const (
	CloseUnauthorized = 4401
	CloseTryLater     = 1013
)

// Defaults of Config.
const (
	// DefaultMaxSubscriptions bounds the subscriptions of one socket.
	DefaultMaxSubscriptions = 16
	// DefaultQueue is how many messages may wait for a socket's writer.
	DefaultQueue = 256
)

// ErrSubscriptions refuses a subscription beyond the socket's share.
var ErrSubscriptions = errors.New("this socket has as many subscriptions as one socket may")

// Config are a socket's bounds and timings.
type Config struct {
	// ReadLimit bounds a message read.
	ReadLimit int64
	// Heartbeat is the interval of the pings; a peer silent for three of
	// them is gone.
	Heartbeat time.Duration
	// WriteTimeout bounds each write.
	WriteTimeout time.Duration
	// MaxBatch bounds the requests of one batch message.
	MaxBatch int
	// MaxSubscriptions bounds the socket's subscriptions. Default
	// DefaultMaxSubscriptions.
	MaxSubscriptions int
	// Queue is how many messages may wait for the writer. Default
	// DefaultQueue.
	Queue int
	// Done, when closed, ends the socket (the server shuts down).
	Done <-chan struct{}
}

// Backend is what one socket asks of the gateway, for its caller.
type Backend interface {
	// Spend spends cost units of the caller's quota; beyond it, the
	// error to answer.
	Spend(cost int) error
	// Cost is what a call of method costs (its weight).
	Cost(method string) int
	// Holds reports why the caller's credential no longer holds, as a
	// new request would find it; nil while it does.
	Holds(ctx context.Context) error
	// Call answers a request other than subscribe and unsubscribe.
	Call(ctx context.Context, q *jsonrpc.Request) (json.RawMessage, *jsonrpc.Error)
	// Join joins the stream of method with the query of GET
	// /rpc/{method}/stream, resuming after lastID; release frees what
	// the join took beside the member.
	Join(ctx context.Context, method string, query url.Values, lastID string) (m *subscriptions.Member, release func(), err error)
	// Error is the JSON-RPC error of err, met by a request of method.
	Error(method string, err error) *jsonrpc.Error
	// Lost is the close frame's code and reason of a socket lost for
	// err (Lose).
	Lost(err error) (code int, reason string)
	// End is the result of the "end" event of a subscription ended by
	// err.
	End(err error) json.RawMessage
}

// Socket is one JSON-RPC WebSocket.
type Socket struct {
	conn *websocket.Conn
	cfg  Config
	b    Backend
	// cheap: its calls cost 1 each (a stream ticket's socket, whose
	// calls are refused).
	cheap bool
	out   chan []byte
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup

	// lost is closed when the caller's credential no longer holds;
	// lostErr, set once before, says why.
	lost     chan struct{}
	lostOnce sync.Once
	lostErr  error
	// closeOnce sends the close frame of a lost socket once, whichever
	// goroutine sees the loss first.
	closeOnce sync.Once

	mu   sync.Mutex // guards subs, next
	subs map[string]*subscription
	next int
}

type subscription struct {
	m       *subscriptions.Member
	release func()
	stop    chan struct{}
	once    sync.Once
}

func (sub *subscription) close() { sub.once.Do(func() { close(sub.stop) }) }

// New returns the socket of conn, its calls answered by b. ctx is the
// request's: its values, not its end, are the socket's (the socket ends
// with the connection). A socket whose calls b refuses anyway (a stream
// ticket's) is cheap: each costs 1, not its method's weight.
func New(ctx context.Context, conn *websocket.Conn, cfg Config, b Backend, cheap bool) *Socket {
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	return &Socket{conn: conn, cfg: cfg, b: b, cheap: cheap, out: make(chan []byte, cfg.Queue), ctx: ctx, stop: stop,
		lost: make(chan struct{}), subs: map[string]*subscription{}}
}

// Lose ends the socket because its caller's credential no longer holds,
// with a close frame saying why; what it had not run is not run.
func (sock *Socket) Lose(err error) {
	sock.lostOnce.Do(func() {
		sock.lostErr = err
		close(sock.lost)
	})
}

// closeLost sends the close frame of a socket whose credential no longer
// holds, with the reason (at most 123 bytes, RFC 6455 5.5).
func (sock *Socket) closeLost() { sock.closeOnce.Do(sock.writeLostClose) }

func (sock *Socket) writeLostClose() {
	code, reason := sock.b.Lost(sock.lostErr)
	if len(reason) > 123 {
		reason = reason[:123]
	}
	_ = sock.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(sock.cfg.WriteTimeout))
}

// Run serves the socket until the peer leaves or goes silent, it does not
// read its messages, its credential is lost, or Config.Done; it closes the
// connection.
func (sock *Socket) Run() {
	sock.conn.SetReadLimit(sock.cfg.ReadLimit)
	// A peer that neither sends nor answers the pings is gone: the read
	// ends after three heartbeats of silence.
	alive := func() error { return sock.conn.SetReadDeadline(time.Now().Add(3 * sock.cfg.Heartbeat)) }
	_ = alive()
	sock.conn.SetPongHandler(func(string) error { return alive() })
	sock.wg.Add(2)
	go sock.writer()
	go func() {
		defer sock.wg.Done()
		select {
		case <-sock.cfg.Done:
		case <-sock.ctx.Done():
		case <-sock.lost:
			// Before the context ends: the calls running are
			// abandoned, their answers never sent.
			sock.stop()
			sock.closeLost()
		}
		sock.stop()
		_ = sock.conn.Close()
	}()
	defer func() {
		sock.stop()
		select {
		case <-sock.lost:
			sock.closeLost() // before the connection is closed
		default:
		}
		_ = sock.conn.Close()
		sock.mu.Lock()
		for _, sub := range sock.subs {
			sub.close()
		}
		sock.mu.Unlock()
		sock.wg.Wait()
	}()
	for {
		_, msg, err := sock.conn.ReadMessage()
		if err != nil {
			return
		}
		_ = alive()
		if !sock.serve(msg) {
			return
		}
	}
}

// serve answers one message; false ends the socket.
func (sock *Socket) serve(msg []byte) bool {
	reqs, _, perr := jsonrpc.Parse(msg)
	if perr == nil && len(reqs) > sock.cfg.MaxBatch {
		perr = jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "Invalid Request: a batch of %d requests; at most %d", len(reqs), sock.cfg.MaxBatch)
	}
	if perr != nil {
		if err := sock.b.Spend(1); err != nil {
			return false // a stranger sending garbage beyond its quota: gone
		}
		sock.send(jsonrpc.Response{Error: perr})
		return true
	}
	if !sock.holds() {
		return false // the close frame is sent on the way out
	}
	for i := range reqs {
		q := &reqs[i]
		if sock.ctx.Err() != nil {
			return false // closed meanwhile: the rest is not run
		}
		resp := jsonrpc.Response{ID: q.ID, Error: q.Err}
		// Each request is metered as on POST /jsonrpc; a subscription
		// as opening its stream over SSE.
		var start func()
		if err := sock.b.Spend(sock.cost(q)); err != nil {
			resp.Error = sock.b.Error(q.Method, err)
		} else if q.Err == nil {
			resp.Result, resp.Error, start = sock.handle(q)
		}
		if !q.Notification() {
			sock.send(resp)
		}
		if start != nil {
			// After the answer: a client learns a subscription's ID
			// before its first event.
			start()
		}
	}
	return true
}

// holds reports whether the caller's credential still holds; when not, the
// socket is lost.
func (sock *Socket) holds() bool {
	select {
	case <-sock.lost:
		return false
	default:
	}
	if err := sock.b.Holds(sock.ctx); err != nil {
		sock.Lose(err)
		return false
	}
	return true
}

// cost is what a request of the socket costs: a subscription its method's
// weight, as opening the stream over SSE does; an unsubscription, or a call
// of a cheap socket, 1; anything else its method's weight (the Backend
// spends the rest of a compound method's).
func (sock *Socket) cost(q *jsonrpc.Request) int {
	switch {
	case q.Method == "subscribe":
		var args []json.RawMessage
		var method string
		if json.Unmarshal(q.Params, &args) == nil && len(args) > 0 && json.Unmarshal(args[0], &method) == nil {
			return sock.b.Cost(method)
		}
		return 1
	case q.Method == "unsubscribe", sock.cheap:
		return 1
	}
	return sock.b.Cost(q.Method)
}

// handle answers one request; start, when not nil, starts a new
// subscription's events once the answer is sent.
func (sock *Socket) handle(q *jsonrpc.Request) (result json.RawMessage, rerr *jsonrpc.Error, start func()) {
	switch q.Method {
	case "subscribe":
		return sock.subscribe(q)
	case "unsubscribe":
		var ids []string
		if err := json.Unmarshal(q.Params, &ids); err != nil || len(ids) != 1 {
			return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "Invalid params: [\"<subscription>\"]"), nil
		}
		sock.mu.Lock()
		sub, ok := sock.subs[ids[0]]
		delete(sock.subs, ids[0])
		sock.mu.Unlock()
		if ok {
			sub.close()
		}
		return json.RawMessage(strconv.FormatBool(ok)), nil, nil
	}
	result, rerr = sock.b.Call(sock.ctx, q)
	return result, rerr, nil
}

// subscribe joins the stream ["<method>", {params}, {"eventCounter": N,
// "period": S, "range": "…", "lastEventId": "…"}], as GET
// /rpc/{method}/stream would, and returns its subscription ID.
func (sock *Socket) subscribe(q *jsonrpc.Request) (json.RawMessage, *jsonrpc.Error, func()) {
	var args []json.RawMessage
	var method string
	if err := json.Unmarshal(q.Params, &args); err != nil || len(args) < 1 || len(args) > 3 || json.Unmarshal(args[0], &method) != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "Invalid params: [\"<method>\", {params}, {options}]"), nil
	}
	query := url.Values{}
	if len(args) > 1 {
		query.Set("params", string(args[1]))
	}
	var opts struct {
		EventCounter *int   `json:"eventCounter"`
		Period       *int   `json:"period"`
		Range        string `json:"range"`
		LastEventID  string `json:"lastEventId"`
	}
	if len(args) > 2 {
		if err := json.Unmarshal(args[2], &opts); err != nil {
			return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "Invalid params: options must be an object"), nil
		}
	}
	if opts.EventCounter != nil {
		query.Set("eventCounter", strconv.Itoa(*opts.EventCounter))
	}
	if opts.Period != nil {
		query.Set("period", strconv.Itoa(*opts.Period))
	}
	if opts.Range != "" {
		query.Set("range", opts.Range)
	}
	sock.mu.Lock()
	full := len(sock.subs) >= sock.cfg.MaxSubscriptions
	sock.mu.Unlock()
	if full {
		return nil, sock.b.Error(method, ErrSubscriptions), nil
	}
	m, release, err := sock.b.Join(sock.ctx, method, query, opts.LastEventID)
	if err != nil {
		return nil, sock.b.Error(method, err), nil
	}
	sock.mu.Lock()
	sock.next++
	id := strconv.Itoa(sock.next)
	sub := &subscription{m: m, release: release, stop: make(chan struct{})}
	sock.subs[id] = sub
	sock.mu.Unlock()
	sock.wg.Add(1)
	return json.RawMessage(strconv.Quote(id)), nil, func() { go sock.follow(id, sub, opts.LastEventID) }
}

// notification is the params of a subscription's message.
type notification struct {
	Subscription string          `json:"subscription"`
	ID           string          `json:"id,omitempty"`
	Type         string          `json:"type,omitempty"`
	Result       json.RawMessage `json:"result"`
}

// notify sends n; false when the socket ends.
func (sock *Socket) notify(n notification) bool {
	params, _ := json.Marshal(n)
	msg, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}{"2.0", "subscription", params})
	return sock.enqueue(msg)
}

// follow sends a subscription's events until it or the socket ends.
func (sock *Socket) follow(id string, sub *subscription, lastID string) {
	defer sock.wg.Done()
	defer sub.release()
	defer sub.m.Close()
	for {
		select {
		case <-sock.ctx.Done():
			return
		case <-sub.stop:
			return
		case <-sub.m.Ready():
		}
		b, err := sub.m.TakeAppend(nil, sse.TakeBatch, sse.TakeBytes)
		switch {
		case b.Gap:
			sock.notify(notification{Subscription: id, Type: "gap", Result: sse.GapData(lastID)})
		case b.Lost:
			sock.notify(notification{Subscription: id, Type: "gap", Result: sse.LostData(lastID)})
		}
		for _, e := range b.Events {
			typ := e.Type
			if typ == subscriptions.TypePush {
				typ = ""
			}
			if !sock.notify(notification{Subscription: id, ID: e.ID, Type: typ, Result: e.Data}) {
				return
			}
			lastID = e.ID
		}
		if err != nil {
			sock.notify(notification{Subscription: id, Type: "end", Result: sock.b.End(err)})
			sock.mu.Lock()
			delete(sock.subs, id)
			sock.mu.Unlock()
			return
		}
	}
}

func (sock *Socket) send(resp jsonrpc.Response) {
	msg, err := json.Marshal(resp)
	if err == nil {
		sock.enqueue(msg)
	}
}

// enqueue hands a message to the writer; a socket whose queue is full is
// not reading, and is dropped.
func (sock *Socket) enqueue(msg []byte) bool {
	select {
	case sock.out <- msg:
		return true
	case <-sock.ctx.Done():
		return false
	default:
		sock.stop()
		return false
	}
}

func (sock *Socket) writer() {
	defer sock.wg.Done()
	ping := time.NewTicker(sock.cfg.Heartbeat)
	defer ping.Stop()
	for {
		select {
		case <-sock.ctx.Done():
			return
		case msg := <-sock.out:
			_ = sock.conn.SetWriteDeadline(time.Now().Add(sock.cfg.WriteTimeout))
			if err := sock.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				sock.stop()
				return
			}
		case <-ping.C:
			if err := sock.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(sock.cfg.WriteTimeout)); err != nil {
				sock.stop()
				return
			}
		}
	}
}
