package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/cache"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// newCache returns the answer cache, its tip followed on up in stage, or
// nil when it is off: --no-cache, or no chain known to follow the tip of.
// rdb, when set, is its shared layer.
func newCache(cfg *config, up upstream.Upstream, rdb redis.UniversalClient, chainID int, stage *stage, logger *slog.Logger) *cache.Cache {
	if cfg.NoCache {
		return nil
	}
	if chainID == 0 {
		logger.Info("answer cache off: it follows the tip of one chain, and none is known (set --chain-id)")
		return nil
	}
	params := json.RawMessage(fmt.Sprintf(`{"chainId":%d}`, chainID))
	var c *cache.Cache
	tracker := &cache.Tracker{
		Latest: func(ctx context.Context) (json.RawMessage, error) {
			r, err := up.Call(ctx, []bridge.MethodCall{{Method: "latestHeight", Params: params}})
			if err != nil {
				return nil, err
			}
			return r.Results[0].Result, nil
		},
		OnRollback: func(ctx context.Context, tip int64) { c.Rollback(ctx, tip) },
		Logger:     logger,
	}
	cc := cache.Config{
		Depth: int64(cfg.CacheDepth), Tip: tracker.Tip, ChainID: chainID, MaxBytes: int64(cfg.CacheBytes), Logger: logger,
	}
	if rdb != nil {
		cc.Redis, cc.Prefix, cc.RedisEntries = rdb, cfg.RedisPrefix, cfg.CacheEntries
	}
	c = cache.New(cc)
	stage.goRun("cache tip", tracker.Run)
	return c
}
