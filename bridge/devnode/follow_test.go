package devnode

import (
	"testing"
	"time"
)

// waitHeight waits until n reaches height h.
func waitHeight(t *testing.T, n *Node, h int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n.Height() < h {
		if time.Now().After(deadline) {
			t.Fatalf("height %d, want %d within 5s", n.Height(), h)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stays checks that n stays at height h for a while.
func stays(t *testing.T, n *Node, h int64) {
	t.Helper()
	time.Sleep(5 * followPoll)
	if got := n.Height(); got != h {
		t.Fatalf("height %d, want it to stay at %d", got, h)
	}
}

// TestFollower replicates a leader's blocks and transactions: a transfer
// sent to the follower is made by the leader, and both nodes end with the
// same blocks and balances.
func TestFollower(t *testing.T) {
	t.Parallel()
	leader := strictNode(t)
	follower := startNode(t, Config{Strict: true, Follow: leader.URL()})
	lc, fc := dial(t, leader.URL()), dial(t, follower.URL())
	from, to := leader.GenesisAccounts()[0], leader.GenesisAccounts()[1]

	res := call(t, fc, "ac_transfer", transferParams(
		[]obj{coinParam(from.Address, "100100000", from.Password)},
		[]obj{coinParam(to.Address, 100000000, "")}, "through a follower"))
	txHash := hexValueOf(t, res)
	h := leader.ProduceBlock()
	leader.ProduceBlock()
	waitHeight(t, follower, h+1)

	for _, height := range []int64{h, h + 1} {
		q := obj{"chainId": chainID, "height": height}
		if d := jsonDiff(t, string(call(t, lc, "getBlockByHeight", q)), call(t, fc, "getBlockByHeight", q)); d != "" {
			t.Errorf("block %d differs (-leader +follower):\n%s", height, d)
		}
	}
	for _, a := range []string{from.Address, to.Address} {
		if l, f := totalOf(t, lc, a), totalOf(t, fc, a); l != f {
			t.Errorf("balance of %s: leader %s, follower %s", a, l, f)
		}
	}
	tp := obj{"chainId": chainID, "txHash": txHash}
	if d := jsonDiff(t, string(call(t, lc, "tx_getConfirmedTx", tp)), call(t, fc, "tx_getConfirmedTx", tp)); d != "" {
		t.Errorf("the transfer differs (-leader +follower):\n%s", d)
	}

	// The leader's failures come back as they are.
	if e := callFail(t, fc, "ac_transfer", transferParams(
		[]obj{coinParam(from.Address, "100100000", "wrong password")},
		[]obj{coinParam(to.Address, 100000000, "")}, "")); e.Code != codeAccPassword {
		t.Errorf("a wrong password through the follower: %v", e)
	}
}

// TestFaults makes a follower lag, stall and slow down, then heals it.
func TestFaults(t *testing.T) {
	t.Parallel()
	leader := strictNode(t)
	follower := startNode(t, Config{Strict: true, Follow: leader.URL()})
	fc := dial(t, follower.URL())
	for range 5 {
		leader.ProduceBlock()
	}
	waitHeight(t, follower, 5)

	follower.SetFaults(Faults{Lag: 3})
	for range 5 {
		leader.ProduceBlock()
	}
	waitHeight(t, follower, 7)
	stays(t, follower, 7)

	follower.SetFaults(Faults{Stall: true})
	leader.ProduceBlock()
	stays(t, follower, 7)

	follower.SetFaults(Faults{Delay: 300 * time.Millisecond})
	waitHeight(t, follower, 11)
	start := time.Now()
	call(t, fc, "latestHeight", obj{"chainId": chainID})
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("a call took %v with a delay of 300ms", d)
	}

	// A leader that stalls makes no block.
	leader.SetFaults(Faults{Stall: true})
	if got := leader.Faults(); !got.Stall {
		t.Errorf("Faults() = %+v", got)
	}
	follower.SetFaults(Faults{})
	stays(t, follower, 11)
}

// TestStallingLeaderMakesNoBlocks runs a leader with automatic blocks.
func TestStallingLeaderMakesNoBlocks(t *testing.T) {
	t.Parallel()
	n := startNode(t, Config{BlockInterval: 20 * time.Millisecond})
	waitHeight(t, n, 2)
	n.SetFaults(Faults{Stall: true})
	time.Sleep(50 * time.Millisecond) // a block may be on its way
	h := n.Height()
	time.Sleep(100 * time.Millisecond)
	if got := n.Height(); got != h {
		t.Errorf("a stalled node went from %d to %d", h, got)
	}
	n.SetFaults(Faults{})
	waitHeight(t, n, h+2)
}
