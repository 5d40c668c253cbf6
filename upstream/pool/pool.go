package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// Defaults of Config.
const (
	DefaultMaxLag       = 5
	DefaultStallAfter   = 3 * time.Second
	DefaultHeadInterval = 500 * time.Millisecond
	DefaultPollTimeout  = time.Second
)

// ErrOutcomeUnknown is upstream.ErrOutcomeUnknown: a write whose node
// failed after it had the Request.
var ErrOutcomeUnknown = upstream.ErrOutcomeUnknown

// ErrNoNode is wrapped by a call's failure when no node is in rotation. It
// wraps bridge.ErrNotConnected, so the gateway answers 503.
var ErrNoNode = fmt.Errorf("pool: no node in rotation: %w", bridge.ErrNotConnected)

// Config configures a Pool.
type Config struct {
	// ChainID is the chain whose head is polled. Default 2 would be a
	// guess: it is required.
	ChainID int
	// MaxLag is how many blocks behind the best a node may be and stay in
	// rotation. Default DefaultMaxLag.
	MaxLag int64
	// StallAfter is how long a node behind the best may keep its head and
	// stay in rotation. Default DefaultStallAfter.
	StallAfter time.Duration
	// HeadInterval is the period of the head polls; PollTimeout bounds one.
	HeadInterval, PollTimeout time.Duration
	// HedgeAfter > 0 sends a read to a second node when the first has not
	// answered within HedgeAfter or its recent p95, whichever is longer.
	// Default 0: no hedging.
	HedgeAfter time.Duration
	// Standbys is how many nodes besides its own a stream subscribes on,
	// so that it moves without a gap when as many fail at once (OpenStream).
	// Default 0: off, a stream moves by subscribing again, with a gap
	// event. Experimental: under fast blocks a move can still deliver a
	// push twice (see TestStreamSurvivesItsNode).
	Standbys int
	// IsWrite reports whether a method changes state: its calls go to one
	// node only. Required: a pool that cannot tell sends nothing twice, so
	// nil treats every method as a write.
	IsWrite func(method string) bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Member is one node of the pool.
type Member struct {
	// Name names it in /readyz, metrics and logs: not its address, which
	// strangers must not read ("node1").
	Name string
	// URL is its address, for the operator (the admin endpoint, logs),
	// without credentials.
	URL      string
	Upstream upstream.Upstream
}

// Pool is several nodes as one upstream.Upstream.
type Pool struct {
	cfg    Config
	logger *slog.Logger
	nodes  []*node

	mu     sync.Mutex // guards states
	states map[string]string

	streamMoves atomic.Int64 // streams moved to another node
	streamGaps  atomic.Int64 // pushes marked as a gap by streams
}

// New returns a pool of members; Run measures them.
func New(cfg Config, members []Member, logger *slog.Logger) (*Pool, error) {
	if len(members) == 0 {
		return nil, errors.New("pool: no member")
	}
	if cfg.ChainID < 1 || cfg.ChainID > 65535 {
		return nil, fmt.Errorf("pool: ChainID %d: want 1 to 65535", cfg.ChainID)
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = DefaultMaxLag
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultStallAfter
	}
	if cfg.HeadInterval <= 0 {
		cfg.HeadInterval = DefaultHeadInterval
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = DefaultPollTimeout
	}
	if cfg.IsWrite == nil {
		cfg.IsWrite = func(string) bool { return true }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Pool{cfg: cfg, logger: logger, states: map[string]string{}}
	seen := map[string]bool{}
	for _, m := range members {
		if m.Upstream == nil || m.Name == "" || seen[m.Name] {
			return nil, fmt.Errorf("pool: member %q: a name of its own and an upstream are required", m.Name)
		}
		seen[m.Name] = true
		p.nodes = append(p.nodes, &node{name: m.Name, url: m.URL, up: m.Upstream})
	}
	return p, nil
}

// Run polls every node's head until ctx ends, logs each change of a
// node's state, and moves the streams of nodes out of rotation.
func (p *Pool) Run(ctx context.Context) {
	var wg, closing sync.WaitGroup
	defer closing.Wait()
	wg.Go(func() {
		t := time.NewTicker(p.cfg.HeadInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.moveStreams(ctx, &closing)
			}
		}
	})
	for _, n := range p.nodes {
		wg.Go(func() {
			t := time.NewTicker(p.cfg.HeadInterval)
			defer t.Stop()
			for {
				n.poll(ctx, p.cfg.ChainID, p.cfg.PollTimeout, p.cfg.Now())
				p.logChanges()
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
}

// logChanges logs the nodes whose state changed since the last look.
func (p *Pool) logChanges() {
	for _, s := range p.Nodes() {
		p.mu.Lock()
		was := p.states[s.Name]
		p.states[s.Name] = s.State
		p.mu.Unlock()
		if was == s.State {
			continue
		}
		level := slog.LevelWarn
		if s.State == StateInRotation || s.State == StateConnecting && was == "" {
			level = slog.LevelInfo
		}
		p.logger.Log(context.Background(), level, "upstream node state", slog.String("node", s.Name), slog.String("url", s.URL),
			slog.String("state", s.State), slog.String("was", was), slog.Int64("height", s.Height),
			slog.Int64("lag", s.Lag), slog.String("error", s.Err))
	}
}

// Nodes returns the state of every node, in the members' order.
func (p *Pool) Nodes() []NodeStatus {
	now := p.cfg.Now()
	var best int64
	for _, n := range p.nodes {
		n.mu.Lock()
		if n.pollErr == nil && n.height > best {
			best = n.height
		}
		n.mu.Unlock()
	}
	out := make([]NodeStatus, len(p.nodes))
	for i, n := range p.nodes {
		out[i] = n.status(best, &p.cfg, now)
	}
	return out
}

// Tip implements upstream.Tipper: the highest head among the nodes whose
// last poll answered (a node that went back with the chain counts at its
// new head; a node down does not count).
func (p *Pool) Tip() int64 {
	var tip int64
	for _, n := range p.nodes {
		n.mu.Lock()
		if n.polled && n.pollErr == nil {
			tip = max(tip, n.height)
		}
		n.mu.Unlock()
	}
	return tip
}

var _ upstream.Tipper = (*Pool)(nil)

// rotation returns the nodes in rotation, best first: by lag, then latency.
func (p *Pool) rotation() []*node {
	statuses := p.Nodes()
	idx := make([]int, 0, len(statuses))
	for i, s := range statuses {
		if s.State == StateInRotation {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := statuses[a].Lag - statuses[b].Lag; c != 0 {
			return int(c)
		}
		return int(statuses[a].Latency - statuses[b].Latency)
	})
	out := make([]*node, len(idx))
	for i, j := range idx {
		out[i] = p.nodes[j]
	}
	return out
}

// Ready implements upstream.Upstream: nil while a node is in rotation.
func (p *Pool) Ready() error {
	var out []string
	for _, s := range p.Nodes() {
		if s.State == StateInRotation {
			return nil
		}
		out = append(out, s.Name+": "+s.State)
	}
	return fmt.Errorf("%w (%s)", ErrNoNode, strings.Join(out, "; "))
}

// Call implements upstream.Upstream.
func (p *Pool) Call(ctx context.Context, calls []bridge.MethodCall) (*bridge.Reply, error) {
	if len(p.rotation()) == 0 {
		return nil, p.Ready()
	}
	nodes, err := p.atLeast(ctx)
	if err != nil {
		return nil, err
	}
	nodes = p.answeringFirst(nodes)
	for _, c := range calls {
		if p.cfg.IsWrite(c.Method) {
			return p.write(ctx, nodes, calls)
		}
	}
	return p.read(ctx, nodes, calls)
}

// write sends calls to one node, and to the next only if the first never
// had the Request.
func (p *Pool) write(ctx context.Context, nodes []*node, calls []bridge.MethodCall) (*bridge.Reply, error) {
	r, err := p.send(ctx, nodes[0], calls, 0)
	if errors.Is(err, bridge.ErrNotConnected) && len(nodes) > 1 && ctx.Err() == nil {
		nodes[0].retries.Add(1)
		r, err = p.send(ctx, nodes[1], calls, 0)
	}
	if err != nil {
		return nil, upstream.Outcome(calls, p.cfg.IsWrite, err)
	}
	return r, nil
}

// read sends calls to the best node, with a hedge and a retry on the next.
func (p *Pool) read(ctx context.Context, nodes []*node, calls []bridge.MethodCall) (*bridge.Reply, error) {
	if p.cfg.HedgeAfter > 0 && len(nodes) > 1 {
		return p.hedged(ctx, nodes, calls)
	}
	var limit time.Duration
	if len(nodes) > 1 {
		limit = attemptLimit(ctx, nodes[0])
	}
	r, err := p.send(ctx, nodes[0], calls, limit)
	if err != nil && len(nodes) > 1 && nodeFault(ctx, err) {
		nodes[0].retries.Add(1)
		return p.send(ctx, nodes[1], calls, 0)
	}
	return r, err
}

// minAttempt is the least a read's first attempt is given before it is
// retried on another node.
const minAttempt = 2 * time.Second

// attemptLimit bounds a read's first attempt, so that a node that stopped
// answering (SIGSTOPped, its socket open) leaves time for the retry: four
// times the node's p95, at least minAttempt, and never more than half of
// what is left of the caller's deadline (a slow node's p95 must not eat the
// retry's time); 0 (no bound) without a deadline.
func attemptLimit(ctx context.Context, n *node) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	half := time.Until(dl) / 2
	if half <= 0 {
		return 0
	}
	return min(max(minAttempt, 4*n.p95()), half)
}

// hedged sends calls to the best node and, when it is slow, to the next;
// the first answer that is not the node's failure wins.
func (p *Pool) hedged(ctx context.Context, nodes []*node, calls []bridge.MethodCall) (*bridge.Reply, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		r   *bridge.Reply
		err error
	}
	answers := make(chan answer, 2)
	start := func(n *node) {
		go func() {
			r, err := p.send(ctx, n, calls, 0)
			answers <- answer{r, err}
		}()
	}
	start(nodes[0])
	wait := max(p.cfg.HedgeAfter, nodes[0].p95())
	timer := time.NewTimer(wait)
	defer timer.Stop()
	sent, got := 1, 0
	var last answer
	for got < sent {
		select {
		case <-timer.C:
			if sent == 1 {
				nodes[0].hedges.Add(1)
				start(nodes[1])
				sent++
			}
		case a := <-answers:
			got++
			if a.err == nil || !nodeFault(ctx, a.err) {
				return a.r, a.err
			}
			last = a
			if sent == 1 { // failed before the hedge: retry at once
				nodes[0].retries.Add(1)
				start(nodes[1])
				sent++
			}
		}
	}
	return last.r, last.err
}

// send makes one call on one node, within limit when it is not 0, and
// records it. A call cut by limit is the node's failure: ctx, the caller's,
// still waits.
func (p *Pool) send(ctx context.Context, n *node, calls []bridge.MethodCall, limit time.Duration) (*bridge.Reply, error) {
	n.calls.Add(1)
	start := time.Now()
	cctx := ctx
	if limit > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	r, err := n.up.Call(cctx, calls)
	answered(ctx, n, err)
	failed := err != nil && nodeFault(ctx, err)
	if failed {
		n.errors.Add(1)
	}
	n.record(time.Since(start), failed)
	return r, err
}

// nodeFault reports whether err is the node's failure rather than the
// caller's: not connected, connection lost, timed out (while the caller
// still waits), or the module's internal error.
func nodeFault(ctx context.Context, err error) bool {
	var rpcErr *bridge.RPCError
	switch {
	case ctx.Err() != nil:
		return false // the caller gave up, or the hedge won
	case errors.Is(err, bridge.ErrNotConnected), errors.Is(err, bridge.ErrConnectionLost),
		errors.Is(err, bridge.ErrTimeout), errors.Is(err, bridge.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &rpcErr):
		return rpcErr.Code == bridge.CodeServerError || rpcErr.Status == bridge.NulstarStatusUnavailable
	}
	return false
}

// Subscribe implements upstream.Upstream on the best node.
func (p *Pool) Subscribe(ctx context.Context, req bridge.Request) (*bridge.Subscription, error) {
	nodes := p.streamNodes()
	if len(nodes) == 0 {
		return nil, p.Ready()
	}
	var err error
	tries := nodes[:min(len(nodes), 2)]
	for i, n := range tries {
		// A node that takes the Request and never answers it (stopped,
		// its poll not overdue yet) must not hold the stream: a node
		// answers a subscription in milliseconds, so the first try
		// gets a poll period (or 4 x its p95), the last the least a
		// read gets. The hub subscribes again after a failure.
		limit := max(minAttempt, 4*n.p95())
		if i < len(tries)-1 {
			limit = max(p.cfg.HeadInterval, 4*n.p95())
		}
		sctx, cancel := context.WithTimeout(ctx, limit)
		var s *bridge.Subscription
		s, err = n.up.Subscribe(sctx, req)
		cancel()
		if err == nil {
			n.track(s)
			return s, nil
		}
		if !nodeFault(ctx, err) {
			return nil, err
		}
		n.retries.Add(1)
	}
	return nil, err
}

// streamNodes are the nodes a stream may subscribe on, best first: those
// in rotation whose polls answer on time (a stream on a node that stopped
// answering would be silent until its poll times out), or, when none
// does, every node in rotation.
func (p *Pool) streamNodes() []*node {
	nodes := p.rotation()
	fresh := make([]*node, 0, len(nodes))
	for _, n := range nodes {
		if n.answering(p.answerWithin()) {
			fresh = append(fresh, n)
		}
	}
	if len(fresh) == 0 {
		return nodes
	}
	// The highest head first and, at the same height, the head that
	// moved last: of two nodes at the same height, the one whose head has
	// stopped (it stalls, or lags from now on) would hold the stream
	// silent until the pool notices.
	slices.SortStableFunc(fresh, func(a, b *node) int {
		ha, ma := a.headMoved()
		hb, mb := b.headMoved()
		if ha != hb {
			return cmp.Compare(hb, ha)
		}
		return mb.Compare(ma)
	})
	return fresh
}

// answeringFirst puts the nodes whose polls are overdue (a stopped node,
// its poll not timed out yet) after the others, keeping the order within
// each: a read sent there waits for its attempt's bound, a write's outcome
// would be unknown.
func (p *Pool) answeringFirst(nodes []*node) []*node {
	within := p.answerWithin()
	if !slices.ContainsFunc(nodes, func(n *node) bool { return !n.answering(within) }) {
		return nodes // the usual case: no copy
	}
	out := make([]*node, 0, len(nodes))
	var late []*node
	for _, n := range nodes {
		if n.answering(within) {
			out = append(out, n)
		} else {
			late = append(late, n)
		}
	}
	return append(out, late...)
}

// answerWithin is how recent a node's last answered poll must be for
// streams to stay on it: two poll periods, the poll of one of them late.
func (p *Pool) answerWithin() time.Duration { return 2*p.cfg.HeadInterval + p.cfg.HeadInterval/2 }

// moveStreams ends the subscriptions of the nodes out of rotation: their
// consumers (the hub) subscribe again, on a node in rotation. A node that
// lags, stalls or died would hold its streams silent otherwise (a
// bridge.Client renews its subscriptions on its own node, whenever that
// comes back). Closing sends Unsubscribe, which may wait on a dead
// connection: done apart from the polls.
func (p *Pool) moveStreams(ctx context.Context, wg *sync.WaitGroup) {
	for i, s := range p.Nodes() {
		n := p.nodes[i]
		if s.State == StateInRotation && !n.answering(p.answerWithin()) {
			// Its poll is overdue: a stopped node, whose poll has
			// not timed out yet. Streams leave it now.
			s.State = "not answering"
		}
		subs := n.takeSubs(s.State != StateInRotation)
		if len(subs) == 0 {
			continue
		}
		p.logger.Warn("moving streams off an upstream node", slog.String("node", s.Name), slog.String("state", s.State), slog.Int("streams", len(subs)))
		for _, sub := range subs {
			if ctx.Err() != nil {
				return
			}
			wg.Go(func() { _ = sub.Close() })
		}
	}
}

// Methods implements upstream.Upstream: the listing of the best node that
// gives one.
func (p *Pool) Methods(ctx context.Context) ([]bridge.MethodInfo, error) {
	nodes := p.rotation()
	for _, n := range p.nodes {
		if !slices.Contains(nodes, n) {
			nodes = append(nodes, n)
		}
	}
	var errs []error
	for _, n := range nodes {
		ms, err := n.up.Methods(ctx)
		if err == nil {
			return ms, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", n.name, err))
	}
	return nil, errors.Join(errs...)
}

// Health reports the pool as one direct upstream, up while a node is in
// rotation, for the module-health metric (its nodes have metrics of their
// own).
func (p *Pool) Health() map[string]bool {
	return map[string]bool{upstream.RoleDirect: p.Ready() == nil}
}
