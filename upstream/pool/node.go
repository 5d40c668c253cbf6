package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// States of a node, as NodeStatus.State names them.
const (
	StateInRotation   = "in rotation"
	StateConnecting   = "connecting"   // not negotiated yet, or never polled
	StateDown         = "down"         // its connection was lost
	StateUnresponsive = "unresponsive" // its last poll failed
	StateLagging      = "lagging"      // more than MaxLag blocks behind
	StateStalled      = "stalled"      // behind, and its head stopped moving
)

// latencyWindow is how many recent call durations a node keeps for its p95.
const latencyWindow = 64

// ewmaWeight is the weight of a new sample in the latency and error EWMAs.
const ewmaWeight = 0.2

// node is one member and what the pool measured of it.
type node struct {
	name, url string
	up        upstream.Upstream

	calls, errors, retries, hedges atomic.Int64

	mu      sync.Mutex // guards the fields below
	polled  bool       // a poll has answered once
	pollErr error      // the last poll's failure; nil when it answered
	height  int64
	movedAt time.Time // when height last rose
	// answeredAt is when a poll last answered: a node whose poll is
	// overdue (SIGSTOPped, its socket open) is not yet unresponsive,
	// the poll's timeout not being over, but no stream should go there.
	answeredAt time.Time
	latency    float64 // EWMA, in seconds
	errorRate  float64 // EWMA of failures, 0 to 1
	recent     [latencyWindow]time.Duration
	nRecent    int
	// subs are the subscriptions opened on the node, closed when it
	// leaves rotation so that their streams move to a node in rotation.
	subs map[*bridge.Subscription]struct{}
}

// answering reports whether a poll of the node answered within the last
// within.
func (n *node) answering(within time.Duration) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.answeredAt.IsZero() && time.Since(n.answeredAt) <= within
}

// headMoved is the node's head and when it last rose.
func (n *node) headMoved() (int64, time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.height, n.movedAt
}

// track keeps s, to be closed if the node leaves rotation.
func (n *node) track(s *bridge.Subscription) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs == nil {
		n.subs = map[*bridge.Subscription]struct{}{}
	}
	n.subs[s] = struct{}{}
}

// takeSubs forgets the node's subscriptions that ended and, with all, the
// others too, which it returns.
func (n *node) takeSubs(all bool) []*bridge.Subscription {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*bridge.Subscription
	for s := range n.subs {
		if s.Ended() {
			delete(n.subs, s)
			continue
		}
		if all {
			out = append(out, s)
			delete(n.subs, s)
		}
	}
	return out
}

// record takes a call's or a poll's duration and whether the node failed.
func (n *node) record(d time.Duration, failed bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := d.Seconds()
	if n.latency == 0 {
		n.latency = s
	} else {
		n.latency += ewmaWeight * (s - n.latency)
	}
	f := 0.0
	if failed {
		f = 1
	}
	n.errorRate += ewmaWeight * (f - n.errorRate)
	n.recent[n.nRecent%latencyWindow] = d
	n.nRecent++
}

// head is the node's height as last polled.
func (n *node) head() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.height
}

// p95 is the 95th percentile of the node's recent durations, 0 before any.
func (n *node) p95() time.Duration {
	n.mu.Lock()
	k := min(n.nRecent, latencyWindow)
	ds := slices.Clone(n.recent[:k])
	n.mu.Unlock()
	if k == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(k*95-1)/100]
}

// poll asks the node for its head and records the answer.
func (n *node) poll(ctx context.Context, chainID int, timeout time.Duration, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	h, err := headOf(ctx, n.up, chainID)
	if ctx.Err() != nil && err == nil {
		err = ctx.Err()
	}
	n.record(time.Since(start), err != nil)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.pollErr = err
	if err != nil {
		return
	}
	if !n.polled || h > n.height {
		n.movedAt = now
	}
	n.answeredAt = time.Now()
	n.polled, n.height = true, h
}

// headOf asks an upstream for latestHeight.
func headOf(ctx context.Context, up upstream.Upstream, chainID int) (int64, error) {
	params, err := json.Marshal(map[string]int{"chainId": chainID})
	if err != nil {
		return 0, err
	}
	r, err := up.Call(ctx, []bridge.MethodCall{{Method: "latestHeight", Params: params}})
	if err != nil {
		return 0, err
	}
	var v struct {
		Value json.Number `json:"value"`
	}
	if len(r.Results) != 1 || json.Unmarshal(r.Results[0].Result, &v) != nil {
		return 0, errors.New("pool: latestHeight: no height in the answer")
	}
	h, err := strconv.ParseInt(v.Value.String(), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("pool: latestHeight %q: %w", v.Value, err)
	}
	return h, nil
}

// NodeStatus is what the pool knows of one node, for /readyz, metrics and
// the admin endpoint.
type NodeStatus struct {
	Name  string `json:"name"`
	URL   string `json:"url,omitempty"`
	State string `json:"state"`
	// Height is the node's head; Lag how far it is behind the best node.
	Height int64 `json:"height"`
	Lag    int64 `json:"lag"`
	// Latency is the EWMA of its calls' and polls' durations (LatencyMS in
	// JSON); ErrorRate the EWMA of their failures (0 to 1).
	Latency   time.Duration `json:"-"`
	LatencyMS float64       `json:"latencyMs"`
	ErrorRate float64       `json:"errorRate"`
	// Calls, Errors, Retries and Hedges count since the start: calls sent
	// to it, those it failed, those retried elsewhere after it failed, and
	// hedges sent elsewhere while it was slow.
	Calls   int64 `json:"calls"`
	Errors  int64 `json:"errors"`
	Retries int64 `json:"retries"`
	Hedges  int64 `json:"hedges"`
	// Err is why it is out of rotation, when a failure says so.
	Err string `json:"error,omitempty"`
}

// status evaluates the node against the best head.
func (n *node) status(best int64, cfg *Config, now time.Time) NodeStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := NodeStatus{
		Name: n.name, URL: n.url, Height: n.height, Lag: max(best-n.height, 0),
		Latency: time.Duration(n.latency * float64(time.Second)), LatencyMS: n.latency * 1000, ErrorRate: n.errorRate,
		Calls: n.calls.Load(), Errors: n.errors.Load(), Retries: n.retries.Load(), Hedges: n.hedges.Load(),
	}
	switch {
	case n.up.Ready() != nil && n.polled:
		s.State, s.Err = StateDown, n.up.Ready().Error()
	case n.up.Ready() != nil:
		s.State, s.Err = StateConnecting, n.up.Ready().Error()
	case !n.polled && n.pollErr == nil:
		s.State = StateConnecting
	case n.pollErr != nil:
		s.State, s.Err = StateUnresponsive, n.pollErr.Error()
	case s.Lag > 0 && now.Sub(n.movedAt) > cfg.StallAfter:
		s.State = StateStalled
	case s.Lag > cfg.MaxLag:
		s.State = StateLagging
	default:
		s.State = StateInRotation
	}
	return s
}
