package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// newRedis connects to the Redis of --redis-url through go-redis's universal
// client: a plain URL is one server; a master_name query parameter means
// Sentinel (the URL's host and each addr= are sentinels); addr= parameters
// without master_name mean a Redis Cluster (the seeds).
//
//	redis://:pw@10.0.0.1:6379/0
//	redis://10.0.0.1:26379?master_name=mymaster&addr=10.0.0.2:26379
//	redis://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000
func newRedis(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url (sentinel): %w", err)
		}
		failFast(&o.DialTimeout, &o.MaxRetries, &o.ContextTimeoutEnabled)
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url (cluster): %w", err)
		}
		failFast(&o.DialTimeout, &o.MaxRetries, &o.ContextTimeoutEnabled)
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	failFast(&o.DialTimeout, &o.MaxRetries, &o.ContextTimeoutEnabled)
	return redis.NewClient(o), nil
}

// failFast shortens go-redis's defaults (5s dials, 3 retries) unless the URL
// set them: while Redis is away a call that records itself, or a stream
// that joins, should learn it in about a second, not a quarter of a minute.
// And it makes go-redis honour the deadlines of contexts: without that, it
// waits for its read timeout (3s) whatever the caller's deadline, and a
// plain call that allows its in-flight record 100 ms waits seconds on a slow
// Redis.
func failFast(dialTimeout *time.Duration, maxRetries *int, contextTimeout *bool) {
	if *dialTimeout == 0 {
		*dialTimeout = time.Second
	}
	if *maxRetries == 0 {
		*maxRetries = 1
	}
	*contextTimeout = true
}

// redisLog sends go-redis's own messages (one per failed dial while Redis
// is away) to the structured log at debug level instead of stderr.
type redisLog struct{ logger *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	if l.logger.Enabled(ctx, slog.LevelDebug) {
		l.logger.DebugContext(ctx, fmt.Sprintf(format, v...))
	}
}

// redisPing is the readiness check of Redis.
func redisPing(rdb redis.UniversalClient) func(context.Context) error {
	return func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
}

// instanceName names this process among the gateway instances sharing a
// Redis: host name and a random suffix, as a restarted process is another
// instance.
func instanceName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%d", host, hex.EncodeToString(b[:]), time.Now().Unix()%100000)
}

// instrumentRedis observes the Redis operations of rdb, and returns their
// metrics to register:
//
//   - nuls_gateway_redis_command_duration_seconds{op}: how long each
//     command took, failed or not (a pipeline or a transaction as one
//     operation, op "pipeline"; a connection made, op "dial");
//   - nuls_gateway_redis_errors_total{op}: the operations that failed
//     (each command of a pipeline apart).
//
// The op label is the command's name among redisOps, else "other": the
// gateway's code chooses its commands, but the set is bounded all the same.
//
// Answers that are not failures are not errors: a missing key (redis.Nil),
// a script not cached yet (NOSCRIPT, which go-redis answers by sending the
// script), a lease held by another instance (NOTOWNER), an operation whose
// caller gave up (context.Canceled).
func instrumentRedis(rdb redis.UniversalClient) *redisMetrics {
	m := &redisMetrics{
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nuls_gateway_redis_errors_total", Help: "Failed Redis operations by command (dial: a connection that could not be made; each command of a pipeline counts apart).",
		}, []string{"op"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nuls_gateway_redis_command_duration_seconds", Help: "Redis operation latency by command (pipeline: a pipeline or a transaction as a whole; dial: a new connection), failed operations included.",
			Buckets: redisBuckets,
		}, []string{"op"}),
	}
	// Series from the start, for rates and alerts.
	m.errs.WithLabelValues(opDial)
	for _, op := range []string{opDial, opPipeline} {
		m.latency.WithLabelValues(op)
	}
	rdb.AddHook(m)
	return m
}

// redisBuckets are a Redis operation's latency: a tenth of a millisecond on
// a local server, up to the fail-fast dial timeout (failFast) and beyond.
var redisBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// The op labels that are not commands.
const (
	opDial     = "dial"
	opPipeline = "pipeline"
	opOther    = "other"
)

// redisOps are the commands with an op label of their own: what the
// gateway sends (strings, hashes, keys, streams, scripts, pub/sub, server)
// and their neighbours.
var redisOps = func() map[string]bool {
	ops := map[string]bool{}
	for _, c := range strings.Fields(`append decr decrby get getdel getex getset incr incrby incrbyfloat mget mset msetnx
		psetex set setex setnx setrange strlen
		hdel hexists hget hgetall hincrby hkeys hlen hmget hmset hscan hset hsetnx hvals
		copy del dump exists expire expireat expiretime keys persist pexpire pexpireat pexpiretime pttl
		randomkey rename renamenx scan touch ttl type unlink
		lindex linsert llen lmove lpop lpos lpush lpushx lrange lrem lset ltrim rpop rpush rpushx
		sadd scard sismember smembers smismember spop srem sscan
		zadd zcard zcount zincrby zpopmin zrange zrangebyscore zrank zrem zremrangebyrank zremrangebyscore zscore
		xack xadd xautoclaim xclaim xdel xgroup xinfo xlen xpending xrange xread xreadgroup xrevrange xtrim
		eval evalsha eval_ro evalsha_ro script fcall function
		publish pubsub subscribe unsubscribe psubscribe punsubscribe
		auth client cluster command config dbsize echo hello info multi exec discard watch unwatch ping quit readonly select time wait`) {
		ops[c] = true
	}
	return ops
}()

// redisOp is the op label of a command named name.
func redisOp(name string) string {
	if redisOps[name] {
		return name
	}
	return opOther
}

// redisMetrics is a go-redis hook that times and counts operations.
type redisMetrics struct {
	errs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

var (
	_ redis.Hook           = (*redisMetrics)(nil)
	_ prometheus.Collector = (*redisMetrics)(nil)
)

// Describe implements prometheus.Collector.
func (m *redisMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.errs.Describe(ch)
	m.latency.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *redisMetrics) Collect(ch chan<- prometheus.Metric) {
	m.errs.Collect(ch)
	m.latency.Collect(ch)
}

func (m *redisMetrics) count(op string, err error) {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return
	}
	if msg := err.Error(); strings.HasPrefix(msg, "NOSCRIPT") || strings.Contains(msg, "NOTOWNER") {
		return
	}
	m.errs.WithLabelValues(op).Inc()
}

// DialHook implements redis.Hook.
func (m *redisMetrics) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		start := time.Now()
		conn, err := next(ctx, network, addr)
		m.latency.WithLabelValues(opDial).Observe(time.Since(start).Seconds())
		m.count(opDial, err)
		return conn, err
	}
}

// ProcessHook implements redis.Hook.
func (m *redisMetrics) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		op := redisOp(cmd.Name())
		m.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
		m.count(op, err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook: the pipeline is timed as one
// operation, and each of its failed commands counted.
func (m *redisMetrics) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		m.latency.WithLabelValues(opPipeline).Observe(time.Since(start).Seconds())
		for _, cmd := range cmds {
			m.count(redisOp(cmd.Name()), cmd.Err())
		}
		return err
	}
}
