package bridge

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"time"
)

// unsubscribeTimeout bounds the sending of an Unsubscribe on Close.
const unsubscribeTimeout = 5 * time.Second

// Push is one Response of a subscription: the first answer or a later push.
type Push struct {
	// MessageID is the Response's MessageID.
	MessageID string
	// Results holds the result of each method, in the Response's order.
	Results []MethodResult
	// Err is set when the Response reports a failure.
	Err *RPCError
	// Received is when the push arrived.
	Received time.Time
	// Resubscribed marks the first push after the Client subscribed
	// again on a new connection: whatever the peer pushed while the
	// connection was down never came, so the consumer knows its view
	// jumped. (For an event subscription, a first answer equal to the last
	// push is a duplicate and is dropped, as nothing observable changed;
	// the flag goes with it.)
	Resubscribed bool
}

// Subscription is a live subscription (D10-D12). Pushes arrive in order on
// C. For an event subscription, a push identical to the one just delivered
// is a duplicate and is dropped (D21: Java sends such duplicates); period
// ticks are always delivered. After a reconnect the Client subscribes again,
// and the consumer goes on reading the same channel.
//
// A consumer that lets SubscriptionBuffer pushes pile up ends the
// subscription with ErrSlowConsumer: the reader of a connection never waits
// for one consumer.
type Subscription struct {
	c         *Client
	req       Request
	eventMode bool
	ch        chan Push

	mu   sync.Mutex // guards peer, id, last, renewed, closed, err; sends on ch
	peer *Peer
	id   string // the Request's MessageID on peer
	last []byte // fingerprint of the last delivered push
	// renewed is set when the subscription is made again on a new
	// connection, until its first Response.
	renewed bool
	closed  bool
	err     error
}

// Subscribe sends a subscription Request (its SubscriptionEventCounter or
// SubscriptionPeriod must be set) and returns the live subscription. It does
// not wait for the first Response: a Java peer sends none for a period
// subscription until its first tick (D11).
func (c *Client) Subscribe(ctx context.Context, req Request) (*Subscription, error) {
	if !req.IsSubscription() {
		return nil, errors.New("bridge: Subscribe needs SubscriptionEventCounter or SubscriptionPeriod")
	}
	if len(req.RequestMethods) == 0 {
		return nil, errors.New("bridge: Subscribe without methods")
	}
	for i, mc := range req.RequestMethods {
		raw, err := marshalParams(mc.Params)
		if err != nil {
			return nil, err
		}
		req.RequestMethods[i].Params = raw
	}
	req.RequestAck = false // D6: never awaited
	s := &Subscription{
		c:         c,
		req:       req,
		eventMode: req.SubscriptionEventCounter > 0 && req.SubscriptionPeriod == 0,
		ch:        make(chan Push, c.cfg.SubscriptionBuffer),
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	p := c.peer
	if p == nil {
		c.mu.Unlock()
		return nil, ErrNotConnected
	}
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	if err := s.renew(ctx, p); err != nil {
		c.mu.Lock()
		delete(c.subs, s)
		c.mu.Unlock()
		return nil, err
	}
	return s, nil
}

// C returns the channel of pushes. It is closed when the subscription ends;
// Err then says why.
func (s *Subscription) C() <-chan Push { return s.ch }

// Request returns the subscription Request as sent.
func (s *Subscription) Request() Request { return s.req }

// ID returns the MessageID of the subscription Request on the current
// connection.
func (s *Subscription) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Err returns why the subscription ended: nil after Close, ErrClosed when
// the Client stopped, ErrSlowConsumer when the consumer fell behind.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Ended reports whether the subscription has ended: C is closed.
func (s *Subscription) Ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close ends the subscription and sends Unsubscribe with its Request ID (D5).
// Pushes that still arrive for it are dropped (D21).
func (s *Subscription) Close() error {
	s.end(nil, true)
	return nil
}

// renew subscribes on p: at creation and after every reconnect.
func (s *Subscription) renew(ctx context.Context, p *Peer) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.peer != nil && s.peer != p {
		s.renewed = true
	}
	s.peer, s.id = p, ""
	s.mu.Unlock()
	req := s.req
	id, err := p.subscribe(ctx, &req, s)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.peer == p {
		s.id = id
	}
	s.mu.Unlock()
	return nil
}

// push delivers one Response; it runs on the connection's reader goroutine
// and never blocks.
func (s *Subscription) push(p *Peer, m *Message, r *Response) {
	s.mu.Lock()
	if s.closed || p != s.peer {
		s.mu.Unlock()
		return // from a connection we left
	}
	fp := fingerprint(r)
	renewed := s.renewed
	s.renewed = false
	if s.eventMode && s.last != nil && bytes.Equal(fp, s.last) {
		s.mu.Unlock()
		return // D21: a duplicate, not an event
	}
	pu := Push{MessageID: m.MessageID, Results: r.ResponseData, Received: time.Now(), Resubscribed: renewed}
	if !r.Succeeded() {
		method := ""
		if len(r.ResponseData) > 0 {
			method = r.ResponseData[0].Method
		}
		pu.Err = newRPCError(method, r)
	}
	select {
	case s.ch <- pu:
		s.last = fp
		s.mu.Unlock()
	default:
		s.mu.Unlock()
		s.end(ErrSlowConsumer, true)
	}
}

// end closes the subscription once; unsubscribe tells the peer.
func (s *Subscription) end(err error, unsubscribe bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed, s.err = true, err
	p, id := s.peer, s.id
	close(s.ch)
	s.mu.Unlock()

	s.c.mu.Lock()
	delete(s.c.subs, s)
	s.c.mu.Unlock()
	if unsubscribe && p != nil && id != "" {
		if errors.Is(err, ErrSlowConsumer) {
			// On the reader goroutine: do not wait for queue space.
			p.unsubscribeAsync(id)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), unsubscribeTimeout)
		defer cancel()
		_ = p.unsubscribe(ctx, id)
	}
}

// fingerprint identifies the content of a Response for duplicate detection:
// status, code and data, but not the processing time (Java pushes carry
// null where the first Response carried a number).
func fingerprint(r *Response) []byte {
	b := make([]byte, 0, 64)
	b = strconv.AppendInt(b, int64(r.ResponseStatus), 10)
	b = append(b, 0)
	b = append(b, r.ResponseErrorCode...)
	for _, mr := range r.ResponseData {
		b = append(b, 0)
		b = append(b, mr.Method...)
		b = append(b, 0)
		b = append(b, mr.Result...)
	}
	return b
}
