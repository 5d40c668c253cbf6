package pool

import (
	"bytes"
	"context"
	"errors"
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

// leg is one subscription of a stream, on one node.
type leg struct {
	n   *node
	sub *bridge.Subscription
}

// stream is a subscription that outlives its node: a primary subscription
// on the best node, and a standby on the next, whose recent pushes it keeps.
// When the primary ends (its node left rotation: the pool closed it; or it
// failed), the standby takes over, and the pushes it had that the primary
// had not delivered are delivered, each once, in order: the consumer sees
// no switch. Only when the standby cannot tell (it kept too few pushes)
// is the first push after the switch marked Resubscribed, a gap.
type stream struct {
	p   *Pool
	req bridge.Request
	out chan bridge.Push

	stop chan struct{}
	once sync.Once
	done chan struct{}

	mu  sync.Mutex // guards err
	err error
}

// OpenStream implements upstream.StreamOpener: a subscription that moves
// between nodes without its consumer seeing it.
func (p *Pool) OpenStream(ctx context.Context, req bridge.Request) (upstream.Pushes, error) {
	primary, err := p.openLeg(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	standby, _ := p.openLeg(ctx, req, primary.n) // none: one node in rotation
	s := &stream{p: p, req: req, out: make(chan bridge.Push, streamBuffer), stop: make(chan struct{}), done: make(chan struct{})}
	// The stream outlives the call that opened it: its later legs are
	// opened with ctx's values, not its end.
	go s.run(context.WithoutCancel(ctx), primary, standby)
	return s, nil
}

// openLeg subscribes on the best node in rotation other than not.
func (p *Pool) openLeg(ctx context.Context, req bridge.Request, not *node) (*leg, error) {
	err := p.Ready()
	for _, n := range p.rotation() {
		if n == not {
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

// run moves the pushes of the primary to the consumer, keeps the standby's,
// and switches when the primary ends.
func (s *stream) run(base context.Context, primary, standby *leg) {
	defer close(s.done)
	defer close(s.out)
	var (
		kept     [][]byte      // the standby's recent pushes' fingerprints
		keptPush []bridge.Push // and the pushes
		last     []byte        // the fingerprint of the last push delivered
		aligning time.Time     // while set: drop pushes until last comes again, until then
		gapNext  bool          // mark the next push delivered as a gap
	)
	closeLegs := func() {
		for _, l := range []*leg{primary, standby} {
			if l != nil {
				_ = l.sub.Close()
			}
		}
	}
	deliver := func(p bridge.Push) bool {
		if gapNext {
			p.Resubscribed, gapNext = true, false
		}
		last = fingerprint(p)
		select {
		case s.out <- p:
			return true
		case <-s.stop:
			return false
		}
	}
	tick := time.NewTicker(s.p.cfg.HeadInterval)
	defer tick.Stop()
	for {
		var standbyC <-chan bridge.Push
		if standby != nil {
			standbyC = standby.sub.C()
		}
		select {
		case <-s.stop:
			closeLegs()
			return
		case <-tick.C:
			if standby == nil {
				ctx, cancel := context.WithTimeout(base, s.p.cfg.PollTimeout)
				standby, _ = s.p.openLeg(ctx, s.req, primary.n)
				cancel()
				kept, keptPush = nil, nil
			}
		case p, ok := <-standbyC:
			if !ok {
				standby, kept, keptPush = nil, nil, nil
				continue
			}
			kept, keptPush = append(kept, fingerprint(p)), append(keptPush, p)
			if len(kept) > standbyPushes {
				kept, keptPush = kept[1:], keptPush[1:]
			}
		case p, ok := <-primary.sub.C():
			if ok {
				if !aligning.IsZero() {
					switch {
					case bytes.Equal(fingerprint(p), last):
						aligning = time.Time{} // caught up: the next is new
						continue
					case time.Now().Before(aligning):
						continue // older than what was delivered
					}
					aligning, gapNext = time.Time{}, true
				}
				if !deliver(p) {
					closeLegs()
					return
				}
				continue
			}
			// The primary ended: its node left rotation, or failed.
			was := primary
			if standby == nil {
				ctx, cancel := context.WithTimeout(base, s.p.cfg.PollTimeout)
				var err error
				standby, err = s.p.openLeg(ctx, s.req, was.n)
				cancel()
				if err != nil {
					s.mu.Lock()
					s.err = errors.Join(was.sub.Err(), err)
					s.mu.Unlock()
					return
				}
				gapNext = last != nil // nothing kept to replay
			}
			primary, standby = standby, nil
			s.p.streamMoves.Add(1)
			s.p.logger.Info("stream moved to another node", "from", was.n.name, "to", primary.n.name)
			i := -1
			for j := len(kept) - 1; j >= 0 && last != nil; j-- {
				if bytes.Equal(kept[j], last) {
					i = j
					break
				}
			}
			switch {
			case last == nil || i >= 0:
				for _, p := range keptPush[i+1:] {
					if !deliver(p) {
						closeLegs()
						return
					}
				}
			case primary.n.head() < was.n.head():
				// Behind the old primary: drop its pushes until it
				// reaches the last one delivered.
				aligning = time.Now().Add(alignWait)
			default:
				gapNext = true
				for _, p := range keptPush {
					if !deliver(p) {
						closeLegs()
						return
					}
				}
			}
			kept, keptPush = nil, nil
		}
	}
}
