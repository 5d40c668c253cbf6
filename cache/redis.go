package cache

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/cache.lua
var cacheLua string

var cacheScript = redis.NewScript(cacheLua)

// shared is the Redis layer: one string per entry, "<height> <answer>",
// and a sorted set of the entries by height (for the bound and for
// rollbacks).
type shared struct {
	rdb        redis.UniversalClient
	index      string // the sorted set
	entries    string // the entries' key prefix
	maxEntries int
	ttl        time.Duration
	timeout    time.Duration
}

func newShared(rdb redis.UniversalClient, prefix string, maxEntries int, ttl, timeout time.Duration) *shared {
	tag := prefix + ":{cache}"
	return &shared{rdb: rdb, index: tag + ":index", entries: tag + ":e:", maxEntries: maxEntries, ttl: ttl, timeout: timeout}
}

// get returns the entry of name; found false when Redis has none.
func (s *shared) get(ctx context.Context, name string) (e *entry, found bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	v, err := s.rdb.Get(ctx, s.entries+name).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	h, rest, ok := cut(v)
	if !ok {
		return nil, false, nil // not ours: a miss
	}
	height, err := strconv.ParseInt(string(h), 10, 64)
	if err != nil || !json.Valid(rest) {
		return nil, false, nil
	}
	return &entry{key: name, result: rest, height: height}, true, nil
}

func cut(v []byte) (before, after []byte, ok bool) {
	for i, c := range v {
		if c == ' ' {
			return v[:i], v[i+1:], true
		}
	}
	return nil, nil, false
}

func (s *shared) put(ctx context.Context, e *entry) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	value := make([]byte, 0, len(e.result)+21)
	value = append(strconv.AppendInt(value, e.height, 10), ' ')
	value = append(value, e.result...)
	return cacheScript.Run(ctx, s.rdb, []string{s.index}, "store", s.entries, e.key, e.height, value, s.ttl.Milliseconds(), s.maxEntries).Err()
}

// dropAbove removes the entries above height; it returns how many.
func (s *shared) dropAbove(ctx context.Context, height int64) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return cacheScript.Run(ctx, s.rdb, []string{s.index}, "drop", s.entries, height).Int64()
}
