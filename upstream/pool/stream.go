package pool

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// Stream tuning.
const (
	// standbyPushes is how many of its recent pushes a standby keeps, to
	// replay those its primary did not deliver before it failed.
	standbyPushes = 64
	// alignWait bounds how long a new primary that was behind may take to
	// reach the last push delivered; beyond, the stream goes on with a gap.
	alignWait = 5 * time.Second
	// streamBuffer is the pushes a stream holds for its consumer.
	streamBuffer = 16
)

var _ upstream.StreamOpener = (*Pool)(nil)

// leg is one subscription of a stream, on one node, and, while it is a
// standby, its recent pushes.
type leg struct {
	n      *node
	sub    *bridge.Subscription
	kept   [][]byte // fingerprints of the pushes below
	pushes []bridge.Push
}

// keep adds a standby's push to its recent ones.
func (l *leg) keep(p bridge.Push) {
	l.kept, l.pushes = append(l.kept, fingerprint(p)), append(l.pushes, p)
	if len(l.kept) > standbyPushes {
		l.kept, l.pushes = l.kept[1:], l.pushes[1:]
	}
}

// after returns the pushes kept after the one whose fingerprint is fp, and
// whether it was kept.
func (l *leg) after(fp []byte) ([]bridge.Push, bool) {
	for i := len(l.kept) - 1; i >= 0; i-- {
		if bytes.Equal(l.kept[i], fp) {
			return l.pushes[i+1:], true
		}
	}
	return nil, false
}

// legPush is a push of a leg, or its end (ok false).
type legPush struct {
	l  *leg
	p  bridge.Push
	ok bool
}

// stream is a subscription that outlives its node: a primary subscription
// on the best node, and standbys on the next ones (Config.Standbys), which
// keep their recent pushes. When the primary ends (its node left rotation:
// the pool closed it; or it failed), a standby takes over, and the pushes
// it had that the primary had not delivered are delivered, each once, in
// order: the consumer sees no switch. Only when no standby can tell (none
// kept the last push delivered, and none is behind it) is the first push
// after the switch marked Resubscribed, a gap.
type stream struct {
	p    *Pool
	req  bridge.Request
	out  chan bridge.Push
	legs chan legPush

	stop chan struct{}
	once sync.Once
	done chan struct{}
	wg   sync.WaitGroup // the legs' goroutines

	mu  sync.Mutex // guards err
	err error
}

// OpenStream implements upstream.StreamOpener: a subscription that moves
// between nodes without its consumer seeing it.
func (p *Pool) OpenStream(ctx context.Context, req bridge.Request) (upstream.Pushes, error) {
	if p.cfg.Standbys <= 0 {
		return p.Subscribe(ctx, req) // moved by moveStreams, with a gap
	}
	primary, err := p.openLeg(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	s := &stream{p: p, req: req, out: make(chan bridge.Push, streamBuffer), legs: make(chan legPush),
		stop: make(chan struct{}), done: make(chan struct{})}
	s.watch(primary)
	// The stream outlives the call that opened it: its later legs are
	// opened with ctx's values, not its end.
	go s.run(context.WithoutCancel(ctx), primary)
	return s, nil
}

// openLeg subscribes on the best node in rotation not among used.
func (p *Pool) openLeg(ctx context.Context, req bridge.Request, used []*node) (*leg, error) {
	err := p.Ready()
	for _, n := range p.rotation() {
		if slices.Contains(used, n) {
			continue
		}
		var sub *bridge.Subscription
		if sub, err = n.up.Subscribe(ctx, req); err == nil {
			n.track(sub) // closed by moveStreams when n leaves rotation
			return &leg{n: n, sub: sub}, nil
		}
		if !nodeFault(ctx, err) {
			return nil, err
		}
	}
	if err == nil {
		err = ErrNoNode
	}
	return nil, err
}

// watch forwards a leg's pushes, then its end, to the stream's loop.
func (s *stream) watch(l *leg) {
	s.wg.Go(func() {
		for p := range l.sub.C() {
			select {
			case s.legs <- legPush{l: l, p: p, ok: true}:
			case <-s.stop:
				return
			}
		}
		select {
		case s.legs <- legPush{l: l}:
		case <-s.stop:
		}
	})
}

func (s *stream) C() <-chan bridge.Push { return s.out }

func (s *stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the stream and its subscriptions.
func (s *stream) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

// fingerprint identifies a push's content, to find it among another
// node's pushes.
func fingerprint(p bridge.Push) []byte {
	var b bytes.Buffer
	if p.Err != nil {
		b.WriteString(p.Err.Code)
		b.WriteString(p.Err.Comment)
	}
	for _, r := range p.Results {
		b.WriteByte(0)
		b.WriteString(r.Method)
		b.WriteByte(0)
		b.Write(r.Result)
	}
	return b.Bytes()
}

// run moves the pushes of the primary to the consumer, keeps the
// standbys', and switches when the primary ends.
func (s *stream) run(base context.Context, primary *leg) {
	var (
		standbys []*leg
		last     []byte    // the fingerprint of the last push delivered
		aligning time.Time // while set: drop pushes until last comes again, until then
		gapNext  bool      // mark the next push delivered as a gap
		// dedupeNext: the next push of the primary, a new subscription's
		// first answer (its node's state), is dropped if it is the last
		// push delivered: then nothing was missed either.
		dedupeNext bool
		gapCause   string // why gapNext is set, for the log
		on         = primary.n.name
	)
	defer func() {
		for _, l := range append(standbys, primary) {
			if l != nil {
				_ = l.sub.Close()
			}
		}
		s.once.Do(func() { close(s.stop) })
		s.wg.Wait()
		close(s.out)
		close(s.done)
	}()
	deliver := func(p bridge.Push) bool {
		switch {
		case gapNext:
			p.Resubscribed, gapNext = true, false
		case p.Resubscribed:
			gapCause = "the node's connection was renewed"
		}
		if p.Resubscribed {
			s.p.streamGaps.Add(1)
			s.p.logger.Warn("stream gap: pushes may be missing", "node", on, "why", gapCause)
		}
		last = fingerprint(p)
		select {
		case s.out <- p:
			return true
		case <-s.stop:
			return false
		}
	}
	used := func() []*node {
		out := []*node{primary.n}
		for _, l := range standbys {
			out = append(out, l.n)
		}
		return out
	}
	topUp := func() {
		for len(standbys) < s.p.cfg.Standbys {
			ctx, cancel := context.WithTimeout(base, s.p.cfg.PollTimeout)
			l, err := s.p.openLeg(ctx, s.req, used())
			cancel()
			if err != nil {
				return
			}
			standbys = append(standbys, l)
			s.watch(l)
		}
	}
	topUp()
	tick := time.NewTicker(s.p.cfg.HeadInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			topUp()
		case e := <-s.legs:
			switch {
			case e.l != primary && e.ok:
				e.l.keep(e.p)
			case e.l != primary:
				standbys = slices.DeleteFunc(standbys, func(l *leg) bool { return l == e.l })
			case e.ok:
				if dedupeNext {
					dedupeNext = false
					if bytes.Equal(fingerprint(e.p), last) {
						gapNext = false
						continue
					}
				}
				if !aligning.IsZero() {
					switch {
					case bytes.Equal(fingerprint(e.p), last):
						aligning = time.Time{} // caught up: the next is new
						continue
					case time.Now().Before(aligning):
						continue // older than what was delivered
					}
					aligning, gapNext, gapCause = time.Time{}, true, "the new node did not reach the last push delivered in time"
				}
				if !deliver(e.p) {
					return
				}
			default:
				// The primary ended: its node left rotation, or failed.
				was := primary
				// A standby's copy of the last push delivered may still
				// be on its way: take what the standbys have sent first.
				if !s.drain(&standbys, last) {
					return
				}
				next, replay, align, err := s.successor(base, was, standbys, last)
				if err != nil {
					s.mu.Lock()
					s.err = errors.Join(was.sub.Err(), err)
					s.mu.Unlock()
					return
				}
				standbys = slices.DeleteFunc(standbys, func(l *leg) bool { return l == next })
				primary, on = next, next.n.name
				s.p.streamMoves.Add(1)
				s.p.logger.Info("stream moved to another node", "from", was.n.name, "to", next.n.name)
				switch {
				case align:
					aligning = time.Now().Add(alignWait)
				case replay == nil && last != nil && len(next.pushes) == 0:
					// A subscription without pushes yet: its first
					// answer tells whether anything was missed.
					gapNext, dedupeNext, gapCause = true, true, "no standby left: a new subscription's first answer is not the last push delivered"
				case replay == nil && last != nil:
					gapNext, gapCause = true, "no standby kept the last push delivered"
					replay = next.pushes
				}
				next.kept, next.pushes = nil, nil
				for _, p := range replay {
					if !deliver(p) {
						return
					}
				}
			}
		}
	}
}

// successor chooses the leg that takes over from a primary that ended: a
// standby that kept the last push delivered (then replay is what it had
// after it), else one behind the old primary (align: drop its pushes until
// the last one delivered comes), else the most advanced, or a new leg.
// replay nil and align false with last set means a gap.
func (s *stream) successor(base context.Context, was *leg, standbys []*leg, last []byte) (next *leg, replay []bridge.Push, align bool, err error) {
	// Standbys on nodes in rotation first: one on a node that froze
	// (its socket open) has not ended yet, but would hold the stream.
	inRotation := s.p.rotation()
	var live []*leg
	for _, l := range standbys {
		if !l.sub.Ended() && slices.Contains(inRotation, l.n) {
			live = append(live, l)
		}
	}
	for _, l := range standbys {
		if !l.sub.Ended() && !slices.Contains(inRotation, l.n) {
			live = append(live, l)
		}
	}
	if last == nil && len(live) > 0 {
		return live[0], live[0].pushes, false, nil
	}
	for _, l := range live {
		if r, ok := l.after(last); ok {
			return l, r, false, nil
		}
	}
	if len(live) == 0 {
		ctx, cancel := context.WithTimeout(base, s.p.cfg.PollTimeout)
		l, err := s.p.openLeg(ctx, s.req, []*node{was.n})
		cancel()
		if err != nil {
			return nil, nil, false, err
		}
		s.watch(l)
		live = []*leg{l}
	}
	best := live[0]
	for _, l := range live[1:] {
		if l.n.head() > best.n.head() {
			best = l
		}
	}
	if best.n.head() < was.n.head() || last == nil {
		return best, nil, last != nil, nil
	}
	return best, nil, false, nil
}

// drainWait bounds how long a switch waits for a standby's copy of the last
// push delivered.
const drainWait = 200 * time.Millisecond

// drain takes the standbys' pushes already on their way, for up to
// drainWait, until one of them kept last; it reports false when the stream
// is stopped. The primary has ended: its own late events are dropped.
func (s *stream) drain(standbys *[]*leg, last []byte) bool {
	kept := func() bool {
		for _, l := range *standbys {
			if _, ok := l.after(last); ok {
				return true
			}
		}
		return last == nil || len(*standbys) == 0
	}
	timer := time.NewTimer(drainWait)
	defer timer.Stop()
	for !kept() {
		select {
		case <-s.stop:
			return false
		case <-timer.C:
			return true
		case e := <-s.legs:
			if !slices.Contains(*standbys, e.l) {
				continue
			}
			if e.ok {
				e.l.keep(e.p)
			} else {
				*standbys = slices.DeleteFunc(*standbys, func(l *leg) bool { return l == e.l })
			}
		}
	}
	return true
}
