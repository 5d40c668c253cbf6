package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/gateway/slots"
	"github.com/nuls-gateway/nuls-gateway/gateway/sse"
	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// GET /jsonrpc upgrades to a WebSocket that carries JSON-RPC 2.0 both
// ways: the calls of POST /jsonrpc, and subscriptions to the streams of
// GET /rpc/{method}/stream (newHeaders, accountBalance, or a module
// method's), as Ethereum's eth_subscribe does:
//
//	→ {"jsonrpc":"2.0","method":"subscribe","params":["newHeaders",{"chainId":2}],"id":1}
//	← {"jsonrpc":"2.0","result":"1","id":1}
//	← {"jsonrpc":"2.0","method":"subscription","params":{"subscription":"1","id":"<event id>","result":{…}}}
//	→ {"jsonrpc":"2.0","method":"unsubscribe","params":["1"],"id":2}
//
// An event that is not a push carries its type ("gap", "upstream-error",
// "end") beside its result. Each request is rate-limited as on POST, a
// subscription at its method's weight as opening the stream over SSE;
// subscriptions take the caller's stream slots, at most
// maxSocketSubscriptions per socket. A client that does not read its
// messages is dropped, as a slow stream is.
//
// A socket opened with a stream ticket may subscribe and unsubscribe, and
// nothing else: its calls get a 403-class error. A socket ends with a close
// frame (closeUnauthorized and the reason) when its credential expires or
// its key is revoked: each message checks the credential again, as a new
// request would, and the rights watcher checks every socket every
// second (auth.Watcher); what the socket had not run is not run.

// maxSocketSubscriptions bounds the subscriptions of one socket.
const maxSocketSubscriptions = 16

// socketQueue is how many messages may wait for a socket's writer.
const socketQueue = 256

// rpcSocket is one JSON-RPC WebSocket. Its reader runs on the handler's
// goroutine, its writer and each subscription on goroutines of their own,
// all ended when it closes.
type rpcSocket struct {
	s    *Server
	r    *http.Request
	p    *auth.Principal
	conn *websocket.Conn
	out  chan []byte
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	// lost is closed when the caller's credential no longer holds;
	// lostErr, set once before, says why.
	lost     chan struct{}
	lostOnce sync.Once
	lostErr  error
	// closeOnce sends the close frame of a lost socket once, whichever
	// goroutine sees the loss first.
	closeOnce sync.Once

	mu   sync.Mutex // guards subs, next
	subs map[string]*socketSub
	next int
}

type socketSub struct {
	m    *subscriptions.Member
	slot *slots.Slot
	stop chan struct{}
	once sync.Once
}

func (sub *socketSub) close() { sub.once.Do(func() { close(sub.stop) }) }

// jsonRPCSocket serves GET /jsonrpc.
func (s *Server) jsonRPCSocket(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	// A socket is a long-lived connection: it takes one of the caller's
	// stream slots, as a stream does, whatever it subscribes to.
	slot, err := s.slots.Acquire(s.clientKey(r, p), socketTopic)
	if err != nil {
		return err
	}
	defer slot.Release()
	// The cross-origin guard refused foreign pages already (actsOnGet).
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader answered
	}
	ctx, stop := context.WithCancel(context.WithoutCancel(r.Context()))
	sock := &rpcSocket{s: s, r: r, p: p, conn: conn, out: make(chan []byte, socketQueue), ctx: ctx, stop: stop,
		lost: make(chan struct{}), subs: map[string]*socketSub{}}
	defer s.rights.Watch(p, sock.lose)()
	sock.run()
	return nil
}

// Close codes of a socket whose credential no longer holds (RFC 6455
// 7.4.2 leaves 4000-4999 to applications; 4401 is the HTTP status, as
// graphql-ws has it), and of one whose key stores cannot tell now (1013,
// Try Again Later, IANA's registry).
const (
	closeUnauthorized = 4401
	closeTryLater     = 1013
)

// lose ends the socket because its caller's credential no longer holds:
// its auth.Watcher callback, and what a request finds before it runs.
func (sock *rpcSocket) lose(err error) {
	sock.lostOnce.Do(func() {
		sock.lostErr = err
		close(sock.lost)
	})
}

// closeLost sends the close frame of a socket whose credential no longer
// holds, with the reason (at most 123 bytes, RFC 6455 5.5).
func (sock *rpcSocket) closeLost() { sock.closeOnce.Do(sock.writeLostClose) }

func (sock *rpcSocket) writeLostClose() {
	code := closeUnauthorized
	if httpStatus(sock.lostErr) == http.StatusServiceUnavailable {
		code = closeTryLater
	}
	reason := problemAt(sock.lostErr, sock.r.URL.Path, "").Detail
	if len(reason) > 123 {
		reason = reason[:123]
	}
	_ = sock.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(sock.s.cfg.WriteTimeout))
}

// socketTopic is the stream-slot topic of the JSON-RPC sockets: a
// caller's sockets count as its streams, and together as one topic.
const socketTopic = "(jsonrpc socket)"

func (sock *rpcSocket) run() {
	s := sock.s
	sock.conn.SetReadLimit(s.cfg.MaxBodyBytes)
	// A peer that neither sends nor answers the pings is gone: the read
	// ends after three heartbeats of silence.
	alive := func() error { return sock.conn.SetReadDeadline(time.Now().Add(3 * s.cfg.Heartbeat)) }
	_ = alive()
	sock.conn.SetPongHandler(func(string) error { return alive() })
	sock.wg.Add(2)
	go sock.writer()
	go func() {
		// Shutdown ends the socket as it ends the streams.
		defer sock.wg.Done()
		select {
		case <-s.streamsDone:
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
		reqs, _, perr := jsonrpc.Parse(msg)
		if perr == nil && len(reqs) > maxJSONRPCBatch {
			perr = jsonrpc.Errorf(jsonrpc.CodeInvalidRequest, "Invalid Request: a batch of %d requests; at most %d", len(reqs), maxJSONRPCBatch)
		}
		if perr != nil {
			if err := s.spend(sock.r, sock.p, 1); err != nil {
				return // a stranger sending garbage beyond its quota: gone
			}
			sock.send(jsonrpc.Response{Error: perr})
			continue
		}
		if !sock.holds() {
			return // the close frame is sent on the way out
		}
		for i := range reqs {
			q := &reqs[i]
			if sock.ctx.Err() != nil {
				return // closed meanwhile: the rest is not run
			}
			resp := jsonrpc.Response{ID: q.ID, Error: q.Err}
			// Each request is metered as on POST /jsonrpc; a
			// subscription as opening its stream over SSE.
			var start func()
			if err := s.spend(sock.r, sock.p, sock.cost(q)); err != nil {
				resp.Error = s.jsonRPCError(sock.r, q.Method, err)
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
	}
}

// holds reports whether the caller's credential still holds, as a new
// request would find it (the key stores' caches make it cheap); when not,
// the socket is lost.
func (sock *rpcSocket) holds() bool {
	select {
	case <-sock.lost:
		return false
	default:
	}
	if sock.p.Anonymous() {
		return true
	}
	if err := sock.s.cfg.Auth.Recheck(sock.ctx, []*auth.Principal{sock.p}, time.Now())[0]; err != nil {
		sock.lose(err)
		return false
	}
	return true
}

// cost is what a request of the socket costs: a subscription its method's
// weight, as opening the stream over SSE does; a refused call by a
// ticket's socket 1; anything else its method's weight (a compound method
// pays the rest in handle).
func (sock *rpcSocket) cost(q *jsonrpc.Request) int {
	switch {
	case q.Method == "subscribe":
		var args []json.RawMessage
		var method string
		if json.Unmarshal(q.Params, &args) == nil && len(args) > 0 && json.Unmarshal(args[0], &method) == nil {
			return sock.s.weight(method)
		}
		return 1
	case q.Method == "unsubscribe", sock.p.Ticket:
		return 1
	}
	return sock.s.weight(q.Method)
}

// errTicketCalls refuses a call on a socket opened with a stream ticket.
var errTicketCalls = errors.New("a stream ticket opens streams and subscriptions only: this socket may subscribe and unsubscribe; make calls with the API key or JWT the ticket was issued for")

// handle answers one request of the socket; start, when not nil, starts
// a new subscription's events once the answer is sent.
func (sock *rpcSocket) handle(q *jsonrpc.Request) (result json.RawMessage, rerr *jsonrpc.Error, start func()) {
	s := sock.s
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
	if sock.p.Ticket {
		// A ticket stands in for a credential where EventSource cannot
		// send one: to follow streams, never to call.
		return nil, s.jsonRPCError(sock.r, q.Method, errTicketCalls), nil
	}
	t := target{name: q.Method}
	if !strings.HasPrefix(q.Method, "rpc.") {
		t = s.resolve(sock.ctx, q.Method)
	}
	// A compound method costs its children, as on POST.
	if err := s.spend(sock.r, sock.p, s.extraCost(t)); err != nil {
		return nil, s.jsonRPCError(sock.r, q.Method, err), nil
	}
	result, rerr = s.jsonRPCCall(sock.r.WithContext(sock.ctx), sock.p, q, t)
	return result, rerr, nil
}

// subscribe joins the stream ["<method>", {params}, {"eventCounter": N,
// "period": S, "range": "…", "lastEventId": "…"}], as GET
// /rpc/{method}/stream would, and returns its subscription ID.
func (sock *rpcSocket) subscribe(q *jsonrpc.Request) (json.RawMessage, *jsonrpc.Error, func()) {
	s := sock.s
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
	full := len(sock.subs) >= maxSocketSubscriptions
	sock.mu.Unlock()
	if full {
		return nil, s.jsonRPCError(sock.r, method, errSocketSubscriptions), nil
	}
	key, err := s.streamKey(sock.ctx, sock.p, method, query)
	if err != nil {
		return nil, s.jsonRPCError(sock.r, method, err), nil
	}
	slot, err := s.slots.Acquire(s.clientKey(sock.r, sock.p), key.Topic())
	if err != nil {
		return nil, s.jsonRPCError(sock.r, method, err), nil
	}
	m, err := s.cfg.Hub.Join(sock.ctx, key, opts.LastEventID)
	if err != nil {
		slot.Release()
		return nil, s.jsonRPCError(sock.r, method, err), nil
	}
	sock.mu.Lock()
	sock.next++
	id := strconv.Itoa(sock.next)
	sub := &socketSub{m: m, slot: slot, stop: make(chan struct{})}
	sock.subs[id] = sub
	sock.mu.Unlock()
	sock.wg.Add(1)
	return json.RawMessage(strconv.Quote(id)), nil, func() { go sock.follow(id, sub, opts.LastEventID) }
}

// errSocketSubscriptions refuses a subscription beyond the socket's share.
var errSocketSubscriptions = errors.New("this socket has as many subscriptions as one socket may")

// follow sends a subscription's events until it or the socket ends.
func (sock *rpcSocket) follow(id string, sub *socketSub, lastID string) {
	defer sock.wg.Done()
	defer sub.slot.Release()
	defer sub.m.Close()
	type notification struct {
		Subscription string          `json:"subscription"`
		ID           string          `json:"id,omitempty"`
		Type         string          `json:"type,omitempty"`
		Result       json.RawMessage `json:"result"`
	}
	notify := func(n notification) bool {
		params, _ := json.Marshal(n)
		msg, _ := json.Marshal(struct {
			JSONRPC string          `json:"jsonrpc"`
			Method  string          `json:"method"`
			Params  json.RawMessage `json:"params"`
		}{"2.0", "subscription", params})
		return sock.enqueue(msg)
	}
	for {
		select {
		case <-sock.ctx.Done():
			return
		case <-sub.stop:
			return
		case <-sub.m.Ready():
		}
		b, err := sub.m.Take(sse.TakeBatch)
		switch {
		case b.Gap:
			notify(notification{Subscription: id, Type: "gap", Result: sse.GapData(lastID)})
		case b.Lost:
			notify(notification{Subscription: id, Type: "gap", Result: sse.LostData(lastID)})
		}
		for _, e := range b.Events {
			typ := e.Type
			if typ == subscriptions.TypePush {
				typ = ""
			}
			if !notify(notification{Subscription: id, ID: e.ID, Type: typ, Result: e.Data}) {
				return
			}
			lastID = e.ID
		}
		if err != nil {
			notify(notification{Subscription: id, Type: "end", Result: endData(err, "/jsonrpc")})
			sock.mu.Lock()
			delete(sock.subs, id)
			sock.mu.Unlock()
			return
		}
	}
}

func (sock *rpcSocket) send(resp jsonrpc.Response) {
	msg, err := json.Marshal(resp)
	if err == nil {
		sock.enqueue(msg)
	}
}

// enqueue hands a message to the writer; a socket whose queue is full is
// not reading, and is dropped.
func (sock *rpcSocket) enqueue(msg []byte) bool {
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

func (sock *rpcSocket) writer() {
	defer sock.wg.Done()
	ping := time.NewTicker(sock.s.cfg.Heartbeat)
	defer ping.Stop()
	for {
		select {
		case <-sock.ctx.Done():
			return
		case msg := <-sock.out:
			_ = sock.conn.SetWriteDeadline(time.Now().Add(sock.s.cfg.WriteTimeout))
			if err := sock.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				sock.stop()
				return
			}
		case <-ping.C:
			if err := sock.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(sock.s.cfg.WriteTimeout)); err != nil {
				sock.stop()
				return
			}
		}
	}
}
