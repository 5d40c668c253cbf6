package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/gateway/batch"
	"github.com/nuls-gateway/nuls-gateway/gateway/socket"
	"github.com/nuls-gateway/nuls-gateway/jsonrpc"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// GET /jsonrpc upgrades to a WebSocket that carries JSON-RPC 2.0 both
// ways (package socket): the calls of POST /jsonrpc, and subscriptions to
// the streams of GET /rpc/{method}/stream. Each request is rate-limited as
// on POST, a subscription at its method's weight as opening the stream
// over SSE; subscriptions take the caller's stream slots, at most
// socket.DefaultMaxSubscriptions per socket. A client that does not read
// its messages is dropped, as a slow stream is.
//
// A socket opened with a stream ticket may subscribe and unsubscribe, and
// nothing else: its calls get a 403-class error. A socket ends with a close
// frame (socket.CloseUnauthorized and the reason) when its credential
// expires or its key is revoked: each message checks the credential again,
// as a new request would, and the rights watcher checks every socket every
// second (auth.Watcher); what the socket had not run is not run.

// socketTopic is the stream-slot topic of the JSON-RPC sockets: a
// caller's sockets count as its streams, and together as one topic.
const socketTopic = "(jsonrpc socket)"

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
	s.streaming(r)
	defer s.socketClosed(time.Now())
	sock := socket.New(r.Context(), conn, socket.Config{ReadLimit: s.cfg.MaxBodyBytes, Heartbeat: s.cfg.Heartbeat,
		WriteTimeout: s.cfg.WriteTimeout, MaxBatch: batch.MaxRequests, Done: s.streamsDone},
		&socketCaller{s: s, r: r, p: p}, p.Ticket)
	defer s.rights.Watch(p, sock.Lose)()
	sock.Run()
	return nil
}

// socketCaller answers the requests of one socket, for its caller.
type socketCaller struct {
	s *Server
	r *http.Request
	p *auth.Principal
}

var _ socket.Backend = (*socketCaller)(nil)

func (c *socketCaller) Spend(cost int) error { return c.s.spend(c.r, c.p, cost) }

func (c *socketCaller) Cost(method string) int { return c.s.weight(method) }

func (c *socketCaller) Error(method string, err error) *jsonrpc.Error {
	return c.s.jsonRPCError(c.r, method, err)
}

// Holds checks the credential again, as a new request would (the key
// stores' caches make it cheap).
func (c *socketCaller) Holds(ctx context.Context) error {
	if c.p.Anonymous() {
		return nil
	}
	return c.s.cfg.Auth.Recheck(ctx, []*auth.Principal{c.p}, time.Now())[0]
}

// errTicketCalls refuses a call on a socket opened with a stream ticket.
var errTicketCalls = errors.New("a stream ticket opens streams and subscriptions only: this socket may subscribe and unsubscribe; make calls with the API key or JWT the ticket was issued for")

func (c *socketCaller) Call(ctx context.Context, q *jsonrpc.Request) (json.RawMessage, *jsonrpc.Error) {
	s := c.s
	if c.p.Ticket {
		// A ticket stands in for a credential where EventSource cannot
		// send one: to follow streams, never to call.
		return nil, s.jsonRPCError(c.r, q.Method, errTicketCalls)
	}
	t := target{name: q.Method}
	if !strings.HasPrefix(q.Method, "rpc.") {
		t = s.resolve(ctx, q.Method)
	}
	// A compound method costs its children, as on POST.
	if err := s.spend(c.r, c.p, s.extraCost(t)); err != nil {
		return nil, s.jsonRPCError(c.r, q.Method, err)
	}
	return s.jsonRPCCall(c.r.WithContext(ctx), c.p, q, t)
}

func (c *socketCaller) Join(ctx context.Context, method string, query url.Values, lastID string) (*subscriptions.Member, func(), error) {
	s := c.s
	key, err := s.streams.Key(ctx, c.p, method, query)
	if err != nil {
		return nil, nil, err
	}
	slot, err := s.slots.Acquire(s.clientKey(c.r, c.p), key.Topic())
	if err != nil {
		return nil, nil, err
	}
	m, err := s.cfg.Hub.Join(ctx, key, lastID)
	if err != nil {
		slot.Release()
		return nil, nil, err
	}
	return m, slot.Release, nil
}

// Lost closes with 4401, or 1013 when the key stores cannot tell now.
func (c *socketCaller) Lost(err error) (int, string) {
	code := socket.CloseUnauthorized
	if httpStatus(err) == http.StatusServiceUnavailable {
		code = socket.CloseTryLater
	}
	return code, problemAt(err, c.r.URL.Path, "").Detail
}

func (c *socketCaller) End(err error) json.RawMessage { return endData(err, "/jsonrpc") }
