package subscriptions

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of RedisClusterConfig.
const (
	defaultLeaseTTL    = 1500 * time.Millisecond
	defaultPresenceTTL = 5 * time.Second
	defaultLogTTL      = time.Hour
	defaultOpTimeout   = 2 * time.Second
)

var (
	//go:embed lua/append.lua
	appendLua string
	//go:embed lua/restore.lua
	restoreLua string
	//go:embed lua/claim.lua
	claimLua string
	//go:embed lua/release.lua
	releaseLua string
	//go:embed lua/displace.lua
	displaceLua string
	//go:embed lua/presence.lua
	presenceLua string

	appendScript   = redis.NewScript(appendLua)
	restoreScript  = redis.NewScript(restoreLua)
	claimScript    = redis.NewScript(claimLua)
	releaseScript  = redis.NewScript(releaseLua)
	displaceScript = redis.NewScript(displaceLua)
	presenceScript = redis.NewScript(presenceLua)
)

// RedisClusterConfig configures a RedisCluster.
type RedisClusterConfig struct {
	// Prefix starts every key: "<prefix>:{<topic>}:lease", ":standby",
	// ":log", ":members", ":readers", and the channel "<prefix>:events". The braces keep a
	// topic's keys in one Redis Cluster slot, as the scripts need.
	Prefix string
	// Instance names this gateway instance in leases and presence; it must
	// be unique in the cluster.
	Instance string
	// Retention is the approximate length each log is trimmed to. Default
	// 1024.
	Retention int
	// LeaseTTL is how long a lease (or a standby claim) outlives its
	// holder's last renewal: the standby takes over within about this
	// time. The hub renews every sixth of it. Default 1.5s.
	LeaseTTL time.Duration
	// PresenceTTL is how long an instance counts as having readers after
	// its last heartbeat. Default 5s.
	PresenceTTL time.Duration
	// LogTTL is how long a log outlives its last event. Default 1h.
	LogTTL time.Duration
	// OpTimeout bounds each Redis operation. Default 2s.
	OpTimeout time.Duration
}

// RedisCluster is the Cluster of instances sharing one Redis (standalone,
// Sentinel or Cluster, through go-redis's UniversalClient).
type RedisCluster struct {
	rdb    redis.UniversalClient
	cfg    RedisClusterConfig
	logger *slog.Logger
	ann    chan string
}

var _ Cluster = (*RedisCluster)(nil)

// NewRedisCluster returns a Cluster over rdb; Run receives announcements.
func NewRedisCluster(rdb redis.UniversalClient, cfg RedisClusterConfig, logger *slog.Logger) (*RedisCluster, error) {
	if cfg.Prefix == "" || cfg.Instance == "" {
		return nil, errors.New("subscriptions: RedisCluster needs a Prefix and an Instance")
	}
	if cfg.Retention <= 0 {
		cfg.Retention = defaultRetention
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = defaultLeaseTTL
	}
	if cfg.PresenceTTL <= 0 {
		cfg.PresenceTTL = defaultPresenceTTL
	}
	if cfg.LogTTL <= 0 {
		cfg.LogTTL = defaultLogTTL
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = defaultOpTimeout
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RedisCluster{rdb: rdb, cfg: cfg, logger: logger, ann: make(chan string, 256)}, nil
}

func (c *RedisCluster) key(topic, kind string) string {
	return c.cfg.Prefix + ":{" + topic + "}:" + kind
}

func (c *RedisCluster) channel() string { return c.cfg.Prefix + ":events" }

func (c *RedisCluster) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.OpTimeout)
}

// Claim implements Cluster.
func (c *RedisCluster) Claim(ctx context.Context, topic string, want Role, patient bool) (Role, error) {
	ctx, cancel := c.op(ctx)
	defer cancel()
	p := "0"
	if patient {
		p = "1"
	}
	r, err := claimScript.Run(ctx, c.rdb, []string{c.key(topic, "lease"), c.key(topic, "standby"), c.key(topic, "log")},
		c.cfg.Instance, c.cfg.LeaseTTL.Milliseconds(), int(want), p).Int()
	if err != nil {
		return RoleMirror, err
	}
	return Role(r), nil
}

// Displace implements Cluster.
func (c *RedisCluster) Displace(ctx context.Context, topic string) error {
	ctx, cancel := c.op(ctx)
	defer cancel()
	return displaceScript.Run(ctx, c.rdb, []string{c.key(topic, "lease"), c.key(topic, "standby")},
		c.cfg.Instance, c.cfg.LeaseTTL.Milliseconds()).Err()
}

// Release implements Cluster.
func (c *RedisCluster) Release(ctx context.Context, topic string) error {
	ctx, cancel := c.op(ctx)
	defer cancel()
	return releaseScript.Run(ctx, c.rdb, []string{c.key(topic, "lease"), c.key(topic, "standby")}, c.cfg.Instance).Err()
}

// LeaseTTL implements Cluster.
func (c *RedisCluster) LeaseTTL() time.Duration { return c.cfg.LeaseTTL }

// Append implements Cluster, atomically with the lease check and the check
// of the log's end (a Lua script).
func (c *RedisCluster) Append(ctx context.Context, topic, after string, e Event) (Event, error) {
	ctx, cancel := c.op(ctx)
	defer cancel()
	final := "0"
	if e.Final {
		final = "1"
	}
	r, err := appendScript.Run(ctx, c.rdb, []string{c.key(topic, "lease"), c.key(topic, "log")},
		c.cfg.Instance, c.cfg.Retention, c.cfg.LogTTL.Milliseconds(),
		e.Type, string(e.Data), final, c.channel(), topic, after).StringSlice()
	if err != nil {
		return Event{}, scriptError(err)
	}
	if len(r) != 2 {
		return Event{}, fmt.Errorf("subscriptions: append answered %q", r)
	}
	_, seq, err := ParseID(r[0])
	if err != nil {
		return Event{}, err
	}
	e.ID, e.Seq = r[0], seq
	e.Epoch, _ = strconv.ParseInt(r[1], 10, 64)
	return e, nil
}

// Restore implements Cluster.
func (c *RedisCluster) Restore(ctx context.Context, topic string, evs []Event) (Event, bool, error) {
	if len(evs) == 0 {
		return Event{}, false, errors.New("subscriptions: nothing to restore")
	}
	ctx, cancel := c.op(ctx)
	defer cancel()
	args := []any{c.cfg.Instance, c.cfg.Retention, c.cfg.LogTTL.Milliseconds(), c.channel(), topic, strconv.FormatInt(evs[0].Epoch, 10)}
	for _, e := range evs {
		final := "0"
		if e.Final {
			final = "1"
		}
		args = append(args, e.ID, e.Type, string(e.Data), final)
	}
	r, err := restoreScript.Run(ctx, c.rdb, []string{c.key(topic, "lease"), c.key(topic, "log")}, args...).StringSlice()
	if err != nil {
		return Event{}, false, scriptError(err)
	}
	if len(r) != 2 {
		return Event{}, false, nil
	}
	tail, err := c.Tail(ctx, topic, 1)
	if err != nil || len(tail) == 0 {
		return Event{}, false, err
	}
	return tail[0], true, nil
}

// scriptError maps the scripts' error replies.
func scriptError(err error) error {
	switch msg := err.Error(); {
	case strings.Contains(msg, "NOTOWNER"):
		return ErrNotOwner
	case strings.Contains(msg, "DIVERGED"):
		return ErrDiverged
	}
	return err
}

// Range implements Cluster.
func (c *RedisCluster) Range(ctx context.Context, topic, afterID string, count int) ([]Event, error) {
	ctx, cancel := c.op(ctx)
	defer cancel()
	start := "-"
	if afterID != "" {
		start = "(" + afterID // exclusive
	}
	msgs, err := c.rdb.XRangeN(ctx, c.key(topic, "log"), start, "+", int64(count)).Result()
	if err != nil {
		return nil, err
	}
	return toEvents(msgs)
}

// Tail implements Cluster.
func (c *RedisCluster) Tail(ctx context.Context, topic string, count int) ([]Event, error) {
	ctx, cancel := c.op(ctx)
	defer cancel()
	msgs, err := c.rdb.XRevRangeN(ctx, c.key(topic, "log"), "+", "-", int64(count)).Result()
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return toEvents(msgs)
}

func toEvents(msgs []redis.XMessage) ([]Event, error) {
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		_, seq, err := ParseID(m.ID)
		if err != nil {
			return nil, fmt.Errorf("subscriptions: log entry %s: %w", m.ID, err)
		}
		e := Event{ID: m.ID, Seq: seq}
		if v, ok := m.Values["e"].(string); ok {
			e.Epoch, _ = strconv.ParseInt(v, 10, 64)
		}
		e.Type, _ = m.Values["t"].(string)
		data, _ := m.Values["d"].(string)
		e.Data = []byte(data)
		e.Final = m.Values["f"] == "1"
		out = append(out, e)
	}
	return out, nil
}

// Present implements Cluster.
func (c *RedisCluster) Present(ctx context.Context, topic string, here, reading bool) (int, int, error) {
	ctx, cancel := c.op(ctx)
	defer cancel()
	now := time.Now().UnixMilli()
	expiry := func(on bool) string {
		if !on {
			return "0"
		}
		return strconv.FormatInt(now+c.cfg.PresenceTTL.Milliseconds(), 10)
	}
	counts, err := presenceScript.Run(ctx, c.rdb, []string{c.key(topic, "members"), c.key(topic, "readers")},
		c.cfg.Instance, now, expiry(here), (2 * c.cfg.PresenceTTL).Milliseconds(), expiry(here && reading)).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(counts) != 2 {
		return 0, 0, fmt.Errorf("subscriptions: presence.lua answered %v", counts)
	}
	return int(counts[0]), int(counts[1]), nil
}

// Announcements implements Cluster.
func (c *RedisCluster) Announcements() <-chan string { return c.ann }

// Run owns the one Pub/Sub connection of this instance until ctx ends.
// go-redis resubscribes by itself when Redis comes back; announcements lost
// meanwhile are made up by the topics' polls.
func (c *RedisCluster) Run(ctx context.Context) error {
	ps := c.rdb.Subscribe(ctx, c.channel())
	defer func() { _ = ps.Close() }()
	msgs := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-msgs:
			if !ok {
				return nil
			}
			select {
			case c.ann <- msg.Payload:
			default: // the hub is busy: its poll will find the event
			}
		}
	}
}

// Ping checks that Redis answers.
func (c *RedisCluster) Ping(ctx context.Context) error {
	ctx, cancel := c.op(ctx)
	defer cancel()
	return c.rdb.Ping(ctx).Err()
}
