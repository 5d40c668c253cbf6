package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timings of RedisKeys.
const (
	// redisKeyFresh is how long a key read from Redis is used without
	// asking again: a revocation takes effect within it.
	redisKeyFresh = 5 * time.Second
	// redisKeyStale is how long a key read from Redis keeps working while
	// Redis does not answer.
	redisKeyStale = time.Minute
	// redisKeyTimeout bounds one lookup.
	redisKeyTimeout = 500 * time.Millisecond
)

// RedisKeys is a KeyStore and KeyAdmin in one Redis hash,
// <prefix>:apikeys, field = key ID, value = the KeyRecord as JSON, shared by
// every instance. Keys found are cached for a few seconds (a revocation
// takes effect within redisKeyFresh), and keep working for a minute while
// Redis is away; unknown IDs are not cached, so that made-up keys cannot
// fill the memory.
type RedisKeys struct {
	rdb  redis.UniversalClient
	hash string

	mu    sync.Mutex // guards cache
	cache map[string]cachedKey
}

type cachedKey struct {
	rec KeyRecord
	at  time.Time
}

var (
	_ KeyStore      = (*RedisKeys)(nil)
	_ KeyAdmin      = (*RedisKeys)(nil)
	_ keyBatchStore = (*RedisKeys)(nil)
)

// NewRedisKeys returns the keys stored under prefix.
func NewRedisKeys(rdb redis.UniversalClient, prefix string) *RedisKeys {
	return &RedisKeys{rdb: rdb, hash: prefix + ":apikeys", cache: map[string]cachedKey{}}
}

// Lookup implements KeyStore.
func (k *RedisKeys) Lookup(ctx context.Context, id string) (KeyRecord, bool, error) {
	now := time.Now()
	k.mu.Lock()
	c, cached := k.cache[id]
	k.mu.Unlock()
	if cached && now.Sub(c.at) < redisKeyFresh {
		return c.rec, true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, redisKeyTimeout)
	defer cancel()
	b, err := k.rdb.HGet(ctx, k.hash, id).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		k.forget(id)
		return KeyRecord{}, false, nil
	case err != nil:
		if cached && now.Sub(c.at) < redisKeyStale {
			return c.rec, true, nil
		}
		return KeyRecord{}, false, err
	}
	var rec KeyRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return KeyRecord{}, false, fmt.Errorf("auth: key %s in redis: %w", id, err)
	}
	if err := rec.Validate(); err != nil {
		return KeyRecord{}, false, err
	}
	k.mu.Lock()
	k.cache[id] = cachedKey{rec: rec, at: now}
	k.mu.Unlock()
	return rec, true, nil
}

// redisKeyBatch bounds the IDs of one HMGET of LookupMany.
const redisKeyBatch = 1000

// LookupMany is Lookup for many IDs: those cached within redisKeyFresh are
// answered from the cache, the others with one HMGET per redisKeyBatch IDs.
// While Redis does not answer, records cached within redisKeyStale are
// answered, and the error is returned beside them.
func (k *RedisKeys) LookupMany(ctx context.Context, ids []string) (map[string]KeyRecord, error) {
	now := time.Now()
	out := make(map[string]KeyRecord, len(ids))
	stale := map[string]KeyRecord{}
	var ask []string
	k.mu.Lock()
	for _, id := range ids {
		c, cached := k.cache[id]
		switch {
		case cached && now.Sub(c.at) < redisKeyFresh:
			out[id] = c.rec
			continue
		case cached && now.Sub(c.at) < redisKeyStale:
			stale[id] = c.rec
		}
		ask = append(ask, id)
	}
	k.mu.Unlock()
	var firstErr error
	for len(ask) > 0 {
		chunk := ask[:min(len(ask), redisKeyBatch)]
		ask = ask[len(chunk):]
		err := k.fetch(ctx, chunk, now, out)
		var bad *badRecordError
		if err != nil && !errors.As(err, &bad) {
			// Redis did not answer: what was read lately holds.
			for _, id := range chunk {
				if rec, ok := stale[id]; ok {
					out[id] = rec
				}
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return out, firstErr
}

// badRecordError is a record in Redis that does not parse or validate.
type badRecordError struct{ err error }

func (e *badRecordError) Error() string { return e.err.Error() }
func (e *badRecordError) Unwrap() error { return e.err }

// fetch reads ids with one HMGET into out and the cache; IDs Redis does not
// have are forgotten. Records that do not parse are left out, and the last
// of them is the error, a *badRecordError.
func (k *RedisKeys) fetch(ctx context.Context, ids []string, now time.Time, out map[string]KeyRecord) error {
	ctx, cancel := context.WithTimeout(ctx, redisKeyTimeout)
	defer cancel()
	vals, err := k.rdb.HMGet(ctx, k.hash, ids...).Result()
	if err != nil {
		return err
	}
	var bad error
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, v := range vals {
		id := ids[i]
		s, ok := v.(string)
		if !ok {
			delete(k.cache, id)
			continue
		}
		var rec KeyRecord
		if err := json.Unmarshal([]byte(s), &rec); err != nil {
			bad = &badRecordError{fmt.Errorf("auth: key %s in redis: %w", id, err)}
			continue
		}
		if err := rec.Validate(); err != nil {
			bad = &badRecordError{err}
			continue
		}
		k.cache[id] = cachedKey{rec: rec, at: now}
		out[id] = rec
	}
	return bad
}

func (k *RedisKeys) forget(id string) {
	k.mu.Lock()
	delete(k.cache, id)
	k.mu.Unlock()
}

// Add implements KeyAdmin.
func (k *RedisKeys) Add(ctx context.Context, rec KeyRecord) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ok, err := k.rdb.HSetNX(ctx, k.hash, rec.ID, b).Result()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("auth: key %s exists", rec.ID)
	}
	return nil
}

// List implements KeyAdmin.
func (k *RedisKeys) List(ctx context.Context) ([]KeyRecord, error) {
	all, err := k.rdb.HGetAll(ctx, k.hash).Result()
	if err != nil {
		return nil, err
	}
	keys := make(map[string]KeyRecord, len(all))
	for id, v := range all {
		var rec KeyRecord
		if err := json.Unmarshal([]byte(v), &rec); err != nil {
			return nil, fmt.Errorf("auth: key %s in redis: %w", id, err)
		}
		keys[id] = rec
	}
	return sortedRecords(keys), nil
}

// Revoke implements KeyAdmin.
func (k *RedisKeys) Revoke(ctx context.Context, id string) (bool, error) {
	n, err := k.rdb.HDel(ctx, k.hash, id).Result()
	k.forget(id)
	return n > 0, err
}
