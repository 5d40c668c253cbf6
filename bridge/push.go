package bridge

import (
	"context"
	"sync"
	"time"
)

// periodUnit is the unit of SubscriptionPeriod: seconds.
const periodUnit = time.Second

// eventBacklog is how many event pushes may wait for a subscription's
// connection; beyond it pushes are dropped (the peer is not reading).
const eventBacklog = 64

// serverSub is one live subscription on the module side. Its goroutine sends
// the first Response at once, then one Response every N events of the first
// method (D10) and/or every N seconds (D11), filtered by the range (D12).
//
// An event push re-runs the Request's methods when the event is raised, on
// the goroutine that raised it, so it carries the state of that event even
// when events come faster than the peer reads; the subscription's goroutine
// is the only one that sends, so pushes leave in order.
type serverSub struct {
	s      *session
	id     string // the subscription Request's MessageID
	req    *Request
	plan   *plan
	ctx    context.Context
	cancel context.CancelFunc

	eventMu sync.Mutex // serialises event runs, so pushes queue in event order
	events  int64      // events counted; guarded by eventMu
	pushes  chan *Response
}

// subscribe starts the subscription's goroutine. It runs on a Request
// goroutine, counted in m.work, so Add here cannot race with Close's Wait.
func (s *session) subscribe(id string, req *Request, p *plan) {
	ctx, cancel := context.WithCancel(s.ctx)
	sub := &serverSub{s: s, id: id, req: req, plan: p, ctx: ctx, cancel: cancel, pushes: make(chan *Response, eventBacklog)}
	s.mu.Lock()
	if old, ok := s.subs[id]; ok {
		old.cancel() // a repeated MessageID replaces the subscription
	}
	s.subs[id] = sub
	s.mu.Unlock()
	if req.SubscriptionEventCounter > 0 {
		m := s.m
		m.mu.Lock()
		set := m.events[p.calls[0].name]
		if set == nil {
			set = map[*serverSub]struct{}{}
			m.events[p.calls[0].name] = set
		}
		set[sub] = struct{}{}
		m.mu.Unlock()
	}
	s.m.work.Add(1)
	go sub.loop()
}

// event counts one event of the driving method (D10) and, every N events,
// computes the push.
func (sub *serverSub) event() {
	sub.eventMu.Lock()
	defer sub.eventMu.Unlock()
	sub.events++
	if sub.events%int64(sub.req.SubscriptionEventCounter) != 0 || sub.ctx.Err() != nil || sub.s.m.cfg.NoPushes {
		return
	}
	resp := sub.compute(true)
	if resp == nil {
		return
	}
	select {
	case sub.pushes <- resp:
	default:
		sub.s.m.logger.Warn("event push dropped: peer not reading", "request_id", sub.id)
	}
}

func (sub *serverSub) loop() {
	defer sub.s.m.work.Done()
	defer sub.remove()
	var tick <-chan time.Time
	if sub.req.SubscriptionPeriod > 0 {
		t := time.NewTicker(time.Duration(sub.req.SubscriptionPeriod) * periodUnit)
		defer t.Stop()
		tick = t.C
	}
	// The first Response is always sent; the range filters the pushes
	// after it (D12).
	sub.send(sub.compute(false))
	if sub.s.m.cfg.NoPushes {
		<-sub.ctx.Done()
		return
	}
	for {
		select {
		case <-sub.ctx.Done():
			return
		case resp := <-sub.pushes:
			sub.send(resp)
		case <-tick:
			sub.send(sub.compute(true))
		}
	}
}

// compute runs the Request's methods for one Response, or returns nil when
// the range filters it out.
func (sub *serverSub) compute(filter bool) *Response {
	resp, _ := sub.s.run(sub.ctx, sub.id, sub.plan, sub.req.ResponseMaxSize, time.Now())
	if sub.ctx.Err() != nil {
		return nil
	}
	if filter && sub.plan.hasRange {
		if !resp.Succeeded() || len(resp.ResponseData) == 0 {
			return nil
		}
		x, ok := numericValue(resp.ResponseData[0].Result)
		if !ok || !sub.plan.iv.Contains(x) {
			return nil
		}
	}
	return resp
}

func (sub *serverSub) send(resp *Response) {
	if resp == nil || sub.ctx.Err() != nil {
		return
	}
	sub.s.peer.reply(sub.s.peer.NewMessage(resp))
}

// remove unlinks the subscription once its goroutine ends.
func (sub *serverSub) remove() {
	sub.cancel()
	s := sub.s
	s.mu.Lock()
	if s.subs[sub.id] == sub {
		delete(s.subs, sub.id)
	}
	s.mu.Unlock()
	if sub.req.SubscriptionEventCounter > 0 {
		m := s.m
		name := sub.plan.calls[0].name
		m.mu.Lock()
		delete(m.events[name], sub)
		if len(m.events[name]) == 0 {
			delete(m.events, name)
		}
		m.mu.Unlock()
	}
}

// unsubscribe stops subscriptions named by their Request MessageID or by a
// method they call (D5: our servers accept both).
func (s *session) unsubscribe(entries []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		if sub, ok := s.subs[e]; ok {
			sub.cancel()
			continue
		}
		for _, sub := range s.subs {
			for _, c := range sub.plan.calls {
				if c.name == e {
					sub.cancel()
				}
			}
		}
	}
}
