package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// Defaults of Config.
const (
	DefaultDepth         = 20
	DefaultMaxBytes      = 64 << 20
	DefaultMaxEntryBytes = 1 << 20
	DefaultRedisEntries  = 100_000
	DefaultRedisTTL      = 24 * time.Hour
	defaultRedisTimeout  = 500 * time.Millisecond
	// redisPause is how long the cache leaves Redis alone after a failure:
	// a Redis away must not add its timeout to every read.
	redisPause = 5 * time.Second
)

// Config configures a Cache.
type Config struct {
	// Depth is how many blocks below the tip an answer's block must be to
	// be kept. Default DefaultDepth.
	Depth int64
	// Tip returns the chain's tip as the gateway last saw it; ok false
	// while unknown (nothing is kept then). Required.
	Tip func() (height int64, ok bool)
	// ChainID is the chain Tip follows: a read of another chain's data
	// (its chainId parameter) is never kept, since its depth cannot be
	// told. 0: any (Tip is every chain's).
	ChainID int
	// MaxBytes bounds the in-process layer. Default DefaultMaxBytes.
	MaxBytes int64
	// MaxEntryBytes bounds one answer kept. Default DefaultMaxEntryBytes.
	MaxEntryBytes int
	// Redis, when set, is the layer the instances share, under Prefix,
	// bounded to RedisEntries entries of RedisTTL each.
	Redis        redis.UniversalClient
	Prefix       string
	RedisEntries int
	RedisTTL     time.Duration
	Logger       *slog.Logger
}

// Status is what the cache did for one read, rendered as an RFC 9211
// Cache-Status header by Header.
type Status struct {
	// Applies: the command is one the cache keeps; false for any other
	// (no header).
	Applies bool
	// Hit: answered from the cache; Shared: from Redis.
	Hit, Shared bool
	// Stored: the node's answer was kept.
	Stored bool
	// Collapsed: the read waited on an identical one already in flight.
	Collapsed bool
	// Detail says why an answer was not kept, or that Redis was away.
	Detail string
}

// CacheName is the cache's name in Cache-Status.
const CacheName = "nuls-gateway"

// Header renders s as a Cache-Status field value; "" when the cache does
// not apply.
func (s Status) Header() string {
	if !s.Applies {
		return ""
	}
	v := CacheName
	if s.Hit {
		v += "; hit"
	} else {
		v += "; fwd=miss"
		if s.Stored {
			v += "; stored"
		}
		if s.Collapsed {
			v += "; collapsed"
		}
	}
	if s.Shared {
		v += `; detail="shared"`
	} else if s.Detail != "" {
		v += "; detail=" + quote(s.Detail)
	}
	return v
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// Stats are the cache's counters, for the metrics.
type Stats struct {
	Hits, SharedHits, Misses, Stored, Collapsed int64
	// BytesServed counts the answer bytes served from the cache.
	BytesServed int64
	// Entries and Bytes are the in-process layer's.
	Entries int
	Bytes   int64
	// RedisErrors counts failed Redis operations.
	RedisErrors int64
	// Dropped counts entries dropped by rollbacks.
	Dropped int64
}

// Cache is the answer cache.
type Cache struct {
	cfg    Config
	shared *shared
	flight singleflight.Group

	mu  sync.Mutex // guards mem
	mem *memory

	redisDownUntil atomic.Int64 // unix nanoseconds

	hits, sharedHits, misses, stored, collapsed, bytesServed, redisErrors, dropped atomic.Int64
}

// New returns a cache.
func New(cfg Config) *Cache {
	if cfg.Depth <= 0 {
		cfg.Depth = DefaultDepth
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxEntryBytes <= 0 {
		cfg.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if cfg.RedisEntries <= 0 {
		cfg.RedisEntries = DefaultRedisEntries
	}
	if cfg.RedisTTL <= 0 {
		cfg.RedisTTL = DefaultRedisTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cache{cfg: cfg, mem: newMemory(cfg.MaxBytes)}
	if cfg.Redis != nil {
		c.shared = newShared(cfg.Redis, cfg.Prefix, cfg.RedisEntries, cfg.RedisTTL, defaultRedisTimeout)
	}
	return c
}

// Fetch calls the node for a read.
type Fetch func(ctx context.Context) (json.RawMessage, error)

// flightResult is what one flight gives every caller that waited on it.
type flightResult struct {
	result json.RawMessage
	status Status
}

// Do answers the read of method with params: from the cache when it has
// it, else by fetch, which identical reads in flight share. A command the
// cache does not keep goes to fetch untouched.
func (c *Cache) Do(ctx context.Context, method string, params json.RawMessage, fetch Fetch) (json.RawMessage, Status, error) {
	r, ok := rules[method]
	if c == nil || !ok {
		res, err := fetch(ctx)
		return res, Status{}, err
	}
	canon, err := subscriptions.CanonicalParams(params)
	if err != nil {
		res, err := fetch(ctx) // the node says what is wrong with them
		return res, Status{Applies: true, Detail: "parameters not an object"}, err
	}
	sum := sha256.Sum256([]byte(method + "\x00" + canon))
	name := hex.EncodeToString(sum[:16])

	c.mu.Lock()
	e, ok := c.mem.get(name)
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
		c.bytesServed.Add(int64(len(e.result)))
		return e.result, Status{Applies: true, Hit: true}, nil
	}

	ch := c.flight.DoChan(name, func() (any, error) {
		// Only the first caller's runs. The flight outlives that caller
		// if it leaves (the others wait on it), not its deadline.
		fctx, cancel := detach(ctx)
		defer cancel()
		return c.miss(fctx, name, params, r, fetch)
	})
	return c.wait(ctx, ch)
}

// detach returns a context with ctx's values and deadline, not its
// cancellation.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(context.WithoutCancel(ctx))
	}
	return context.WithDeadline(context.WithoutCancel(ctx), d)
}

func (c *Cache) wait(ctx context.Context, ch <-chan singleflight.Result) (json.RawMessage, Status, error) {
	select {
	case <-ctx.Done():
		return nil, Status{Applies: true}, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, Status{Applies: true, Collapsed: res.Shared}, res.Err
		}
		fr := res.Val.(flightResult)
		st := fr.status
		if res.Shared && !st.Hit {
			st.Collapsed = true
			c.collapsed.Add(1)
		}
		if st.Hit {
			c.bytesServed.Add(int64(len(fr.result)))
		}
		return fr.result, st, nil
	}
}

// miss looks in Redis, then asks the node and keeps what may be kept.
func (c *Cache) miss(ctx context.Context, name string, params json.RawMessage, r rule, fetch Fetch) (any, error) {
	st := Status{Applies: true}
	if c.redisUp() {
		e, found, err := c.shared.get(ctx, name)
		switch {
		case err != nil:
			c.redisFailed("reading the cache", err)
			st.Detail = "shared layer unavailable"
		case found:
			c.sharedHits.Add(1)
			c.hits.Add(1)
			c.mu.Lock()
			c.mem.put(e)
			c.mu.Unlock()
			return flightResult{result: e.result, status: Status{Applies: true, Hit: true, Shared: true}}, nil
		}
	}
	c.misses.Add(1)
	res, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	height, ok := r(params, res)
	tip, known := c.cfg.Tip()
	switch {
	case !c.ofChain(params):
		st.Detail = "another chain"
	case !ok:
		st.Detail = "not an answer to keep"
	case !known:
		st.Detail = "tip unknown"
	case height > tip-c.cfg.Depth:
		st.Detail = "not final"
	case len(res) > c.cfg.MaxEntryBytes:
		st.Detail = "too large"
	default:
		e := &entry{key: name, result: res, height: height}
		c.mu.Lock()
		c.mem.put(e)
		c.mu.Unlock()
		if c.redisUp() {
			if err := c.shared.put(ctx, e); err != nil {
				c.redisFailed("filling the cache", err)
			}
		}
		c.stored.Add(1)
		st.Stored = true
	}
	return flightResult{result: res, status: st}, nil
}

// ofChain reports whether params read the chain whose tip the cache
// follows.
func (c *Cache) ofChain(params json.RawMessage) bool {
	if c.cfg.ChainID == 0 {
		return true
	}
	var p struct {
		ChainID json.Number `json:"chainId"`
	}
	return json.Unmarshal(params, &p) == nil && p.ChainID.String() == strconv.Itoa(c.cfg.ChainID)
}

func (c *Cache) redisUp() bool {
	return c.shared != nil && time.Now().UnixNano() >= c.redisDownUntil.Load()
}

func (c *Cache) redisFailed(what string, err error) {
	c.redisErrors.Add(1)
	c.redisDownUntil.Store(time.Now().Add(redisPause).UnixNano())
	c.cfg.Logger.Warn("cache: Redis failed; answering from the node meanwhile", "what", what, "err", err, "pause", redisPause)
}

// Rollback drops every entry above height, the chain's new tip, from both
// layers.
func (c *Cache) Rollback(ctx context.Context, height int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	n := int64(c.mem.dropAbove(height))
	c.mu.Unlock()
	if c.shared != nil {
		m, err := c.shared.dropAbove(ctx, height)
		if err != nil {
			// Not paused: a rollback must reach Redis; the entries it
			// keeps above the tip expire with their TTL at worst.
			c.redisErrors.Add(1)
			c.cfg.Logger.Error("cache: dropping the entries above a rollback's tip from Redis failed", "height", height, "err", err)
		}
		n += m
	}
	c.dropped.Add(n)
	c.cfg.Logger.Warn("cache: chain rolled back; entries above its new tip dropped", "tip", height, "dropped", n)
}

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	entries, bytes := c.mem.len(), c.mem.bytes
	c.mu.Unlock()
	return Stats{
		Hits: c.hits.Load(), SharedHits: c.sharedHits.Load(), Misses: c.misses.Load(), Stored: c.stored.Load(),
		Collapsed: c.collapsed.Load(), BytesServed: c.bytesServed.Load(), Entries: entries, Bytes: bytes,
		RedisErrors: c.redisErrors.Load(), Dropped: c.dropped.Load(),
	}
}
