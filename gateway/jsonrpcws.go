package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nuls-gateway/nuls-gateway/auth"
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
// "end") beside its result. Each request is rate-limited as on POST;
// subscriptions take the caller's stream slots, at most
// maxSocketSubscriptions per socket. A client that does not read its
// messages is dropped, as a slow stream is.

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

	mu   sync.Mutex // guards subs, next
	subs map[string]*socketSub
	next int
}

type socketSub struct {
	m    *subscriptions.Member
	slot *streamSlot
	stop chan struct{}
	once sync.Once
}

func (sub *socketSub) close() { sub.once.Do(func() { close(sub.stop) }) }

// jsonRPCSocket serves GET /jsonrpc.
func (s *Server) jsonRPCSocket(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	// A socket is a long-lived connection: it takes one of the caller's
	// stream slots, as a stream does, whatever it subscribes to.
	slot, err := s.slots.acquire(s.clientKey(r, p), socketTopic)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer slot.release()
	// The cross-origin guard refused foreign pages already (actsOnGet).
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	ctx, stop := context.WithCancel(context.WithoutCancel(r.Context()))
	sock := &rpcSocket{s: s, r: r, p: p, conn: conn, out: make(chan []byte, socketQueue), ctx: ctx, stop: stop, subs: map[string]*socketSub{}}
	sock.run()
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
		}
		sock.stop()
		_ = sock.conn.Close()
	}()
	defer func() {
		sock.stop()
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
		for i := range reqs {
			q := &reqs[i]
			resp := jsonrpc.Response{ID: q.ID, Error: q.Err}
			// Each request is metered as on POST /jsonrpc.
			var start func()
			if err := s.spend(sock.r, sock.p, s.weight(q.Method)); err != nil {
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
	var t jsonRPCTarget
	t.compound, t.isCompound, t.err = s.compound(sock.ctx, q.Method)
	if t.isCompound {
		// A compound method costs its children, as on POST.
		if err := s.spend(sock.r, sock.p, s.compoundWeight(t.compound)-s.weight(q.Method)); err != nil {
			return nil, s.jsonRPCError(sock.r, q.Method, err), nil
		}
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
	slot, err := s.slots.acquire(s.clientKey(sock.r, sock.p), key.Topic())
	if err != nil {
		return nil, s.jsonRPCError(sock.r, method, err), nil
	}
	m, err := s.cfg.Hub.Join(sock.ctx, key, opts.LastEventID)
	if err != nil {
		slot.release()
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
	defer sub.slot.release()
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
		b, err := sub.m.Take(takeBatch)
		switch {
		case b.Gap:
			notify(notification{Subscription: id, Type: "gap", Result: gapData(lastID)})
		case b.Lost:
			notify(notification{Subscription: id, Type: "gap", Result: lostData(lastID)})
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
