package devnode

import (
	"context"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// Faults are the ways a node misbehaves on purpose, so that a gateway in
// front of several nodes can be tested against the failures real nodes
// have: they fall behind, their head stops moving, they answer slowly. (A
// node that dies is a process killed or stopped: no fault needed.)
type Faults struct {
	// Stall freezes the head: the node makes (or, following, takes) no
	// block, and goes on answering with the state it has.
	Stall bool `json:"stall"`
	// Lag is how many blocks a follower stays behind its leader.
	Lag int `json:"lag"`
	// Delay is added before the answer to every chain method.
	Delay time.Duration `json:"delay"`
}

// SetFaults makes the node misbehave from now on; the zero Faults heals
// it. A follower that lagged catches up at once.
func (n *Node) SetFaults(f Faults) {
	if f.Lag < 0 {
		f.Lag = 0
	}
	if f.Delay < 0 {
		f.Delay = 0
	}
	n.faults.Store(&f)
	n.logger.Info("faults", "stall", f.Stall, "lag", f.Lag, "delay", f.Delay.String())
}

// Faults returns the faults in effect.
func (n *Node) Faults() Faults {
	if f := n.faults.Load(); f != nil {
		return *f
	}
	return Faults{}
}

// delayed answers after the Delay of the faults in effect.
func (n *Node) delayed(h bridge.HandlerFunc) bridge.HandlerFunc {
	return func(ctx context.Context, c *bridge.Call) (any, error) {
		if d := n.Faults().Delay; d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
		return h(ctx, c)
	}
}
