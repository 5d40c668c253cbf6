package pool

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// MaxFloorWait bounds how long a call waits for a node to reach its
// floor: a client asking for a height no node has is told so soon.
const MaxFloorWait = 2 * time.Second

// floorPoll is how often a call waiting for its floor looks again.
const floorPoll = 25 * time.Millisecond

// ErrBelowFloor is wrapped by the failure of a call whose floor no node in
// rotation reached within MaxFloorWait. It wraps bridge.ErrNotConnected:
// the gateway answers 503, and the client may retry.
var ErrBelowFloor = fmt.Errorf("pool: no node in rotation has reached the height asked for: %w", bridge.ErrNotConnected)

// Floor keeps a client from seeing the chain go back when the gateway
// changes node: a call carrying a Floor goes only to a node whose head is
// at least Min (waiting up to MaxFloorWait for one), and Answered tells the
// head of the node that answered, for the client to send back as its next
// Min.
type Floor struct {
	// Min is the lowest head the answering node may have; 0: any.
	Min      int64
	answered atomic.Int64
}

// Answered is the head of the node that answered, as the pool last
// measured it; 0 before an answer.
func (f *Floor) Answered() int64 { return f.answered.Load() }

type floorKey struct{}

// WithFloor returns ctx carrying f for the pool's calls made with it.
func WithFloor(ctx context.Context, f *Floor) context.Context {
	return context.WithValue(ctx, floorKey{}, f)
}

func floorOf(ctx context.Context) *Floor {
	f, _ := ctx.Value(floorKey{}).(*Floor)
	return f
}

// atLeast returns the nodes in rotation whose head is at least the floor of
// ctx (its Floor's and upstream.MinHeight's), best first, waiting for one up
// to MaxFloorWait.
func (p *Pool) atLeast(ctx context.Context) ([]*node, error) {
	least := upstream.MinHeight(ctx)
	if f := floorOf(ctx); f != nil {
		least = max(least, f.Min)
	}
	if least <= 0 {
		return p.rotation(), nil
	}
	deadline := time.NewTimer(MaxFloorWait)
	defer deadline.Stop()
	for {
		var out []*node
		for _, n := range p.rotation() {
			if n.head() >= least {
				out = append(out, n)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, fmt.Errorf("%w (%d)", ErrBelowFloor, least)
		case <-time.After(floorPoll):
		}
	}
}

// answered records the head of the node that answered a call with a floor.
func answered(ctx context.Context, n *node, err error) {
	if f := floorOf(ctx); f != nil && err == nil {
		f.answered.Store(n.head())
	}
}
