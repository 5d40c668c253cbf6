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

// instrumentRedis counts the failed Redis operations of rdb by command
// ("dial" for connections that could not be made) in
// nuls_gateway_redis_errors_total, and returns the counter to register.
//
// Answers that are not failures are left out: a missing key (redis.Nil), a
// script not cached yet (NOSCRIPT, which go-redis answers by sending the
// script), a lease held by another instance (NOTOWNER), an operation whose
// caller gave up (context.Canceled).
func instrumentRedis(rdb redis.UniversalClient) prometheus.Collector {
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nuls_gateway_redis_errors_total", Help: "Failed Redis operations by command (dial: a connection that could not be made).",
	}, []string{"op"})
	rdb.AddHook(redisErrors{errs})
	return errs
}

type redisErrors struct{ errs *prometheus.CounterVec }

func (h redisErrors) count(op string, err error) {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return
	}
	if msg := err.Error(); strings.HasPrefix(msg, "NOSCRIPT") || strings.Contains(msg, "NOTOWNER") {
		return
	}
	h.errs.WithLabelValues(op).Inc()
}

func (h redisErrors) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		h.count("dial", err)
		return conn, err
	}
}

func (h redisErrors) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.count(cmd.Name(), err)
		return err
	}
}

func (h redisErrors) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			h.count(cmd.Name(), cmd.Err())
		}
		return err
	}
}
