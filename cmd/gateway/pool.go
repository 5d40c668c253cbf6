package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/upstream"
	"github.com/nuls-gateway/nuls-gateway/upstream/pool"
)

// nodeBackoffMax bounds the wait between two attempts to reconnect to a
// node of a pool: each is one dial, cheap next to a node the pool cannot
// measure.
const nodeBackoffMax = time.Second

// newPool connects to every --upstream node and returns them as one
// upstream, measured and routed by package pool. Its clients and its polls
// run in the upstreams stage. isWrite tells the methods that change state.
func newPool(cfg *config, notify func(*bridge.Peer, *bridge.Notification), upstreams *stage, isWrite func(string) bool, logger *slog.Logger) (*pool.Pool, error) {
	members := make([]pool.Member, 0, len(cfg.Upstreams))
	for i, u := range cfg.Upstreams {
		name := fmt.Sprintf("node%d", i+1)
		client, err := bridge.NewClient(bridge.ClientConfig{
			URL: u, Abbreviation: cfg.Abbreviation, CallTimeout: cfg.CallTimeout, OnNotification: notify,
			// A node of several is back in rotation as soon as it is
			// back: while it is not, the pool cannot tell that the
			// others stopped while the chain went on (a frozen head
			// among frozen heads is no lag).
			BackoffMax: nodeBackoffMax,
		}, logger.With("component", "upstream", "node", name))
		if err != nil {
			return nil, err
		}
		upstreams.goRun("upstream "+name, client.Run)
		members = append(members, pool.Member{Name: name, URL: redactedURL(u), Upstream: upstream.NewDirect(client)})
	}
	p, err := pool.New(pool.Config{
		ChainID: cfg.ChainID, MaxLag: int64(cfg.MaxLag), StallAfter: cfg.StallAfter, HedgeAfter: cfg.HedgeAfter,
		IsWrite: isWrite,
	}, members, logger.With("component", "pool"))
	if err != nil {
		return nil, err
	}
	upstreams.goRun("pool", func(ctx context.Context) error {
		p.Run(ctx)
		return nil
	})
	return p, nil
}
