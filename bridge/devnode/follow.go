package devnode

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// followPoll is how often a follower asks its leader for its height: well
// under a block interval, so that a follower without lag trails by a
// fraction of a block.
const followPoll = 100 * time.Millisecond

// leaderWait bounds how long a forwarded call waits for the connection to
// the leader.
const leaderWait = 5 * time.Second

// forwarded are the methods that make a transaction: a follower sends them
// to its leader, as a node broadcasts a transaction to the network, and
// takes the transaction with the leader's block that includes it.
var forwarded = map[string]bool{"ac_transfer": true, "tx_newTx": true}

// forward answers a method with the leader's answer to the same call.
func (n *Node) forward(name string) bridge.HandlerFunc {
	return func(ctx context.Context, c *bridge.Call) (any, error) {
		if !n.leader.Ready() {
			wait, cancel := context.WithTimeout(ctx, leaderWait)
			err := n.leader.WaitReady(wait)
			cancel()
			if err != nil {
				return nil, fail(codeFailed, "the leader is not connected")
			}
		}
		res, err := n.leader.Call(ctx, name, c.Params)
		if err != nil {
			var rpcErr *bridge.RPCError
			if errors.As(err, &rpcErr) {
				return nil, bridge.Fail(rpcErr.Code, rpcErr.Comment)
			}
			return nil, fail(codeFailed, "the leader did not answer: "+err.Error())
		}
		return res, nil
	}
}

// follow takes the leader's blocks, Lag blocks behind it, until ctx ends.
func (n *Node) follow(ctx context.Context) {
	t := time.NewTicker(followPoll)
	defer t.Stop()
	var failing bool
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := n.catchUp(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			n.logger.Warn("cannot follow the leader", slog.String("leader", n.cfg.Follow), slog.Any("err", err))
		case err == nil && failing:
			n.logger.Info("following the leader again", slog.String("leader", n.cfg.Follow), slog.Int64("height", n.Height()))
		}
		failing = err != nil
	}
}

// catchUp takes every block of the leader up to its height less the lag.
func (n *Node) catchUp(ctx context.Context) error {
	f := n.Faults()
	if f.Stall {
		return nil
	}
	chainID := map[string]any{"chainId": n.cfg.ChainID}
	res, err := n.leader.Call(ctx, "latestHeight", chainID)
	if err != nil {
		return err
	}
	var top struct {
		Value json.Number `json:"value"`
	}
	if err := json.Unmarshal(res, &top); err != nil {
		return fmt.Errorf("latestHeight: %w", err)
	}
	leaderHeight, err := strconv.ParseInt(top.Value.String(), 10, 64)
	if err != nil {
		return fmt.Errorf("latestHeight %q: %w", top.Value, err)
	}
	for h := n.Height() + 1; h <= leaderHeight-int64(f.Lag); h++ {
		if n.Faults().Stall {
			return nil
		}
		res, err := n.leader.Call(ctx, "getBlockByHeight", map[string]any{"chainId": n.cfg.ChainID, "height": h})
		if err != nil {
			return err
		}
		var blk struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(res, &blk); err != nil {
			return fmt.Errorf("block %d: %w", h, err)
		}
		raw, err := hex.DecodeString(blk.Value)
		if err != nil {
			return fmt.Errorf("block %d: %w", h, err)
		}
		nb, err := nulsdata.ParseBlock(raw)
		if err != nil {
			return fmt.Errorf("block %d: %w", h, err)
		}
		if err := n.takeBlock(nb); err != nil {
			return fmt.Errorf("block %d: %w", h, err)
		}
	}
	return nil
}

// takeBlock applies a block of the leader: its transfers, then the block
// itself, which must come out with the leader's hash.
func (n *Node) takeBlock(nb *nulsdata.Block) error {
	n.produceMu.Lock()
	defer n.produceMu.Unlock()
	if want := n.Height() + 1; int64(nb.Header.Height) != want {
		return fmt.Errorf("height %d, want %d", nb.Header.Height, want)
	}
	var touched []string
	for _, t := range nb.Txs {
		if t.Type == txTypeCoinbase {
			continue
		}
		_, addrs, err := n.chain.acceptTx(t.Bytes(), true)
		if err != nil {
			return fmt.Errorf("transaction %s: %w", t.Hash(), err)
		}
		touched = append(touched, addrs...)
	}
	b := n.chain.produceAt(nb.Header.Time)
	if b.hash != nb.Header.Hash() {
		return fmt.Errorf("this node's block %d has hash %s, the leader's %s: the chains diverged", b.height(), b.hash, nb.Header.Hash())
	}
	n.balanceEvent(touched)
	n.trigger("latestHeight", nil)
	return nil
}
