package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

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
		failFast(&o.DialTimeout, &o.MaxRetries)
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url (cluster): %w", err)
		}
		failFast(&o.DialTimeout, &o.MaxRetries)
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	failFast(&o.DialTimeout, &o.MaxRetries)
	return redis.NewClient(o), nil
}

// failFast shortens go-redis's defaults (5s dials, 3 retries) unless the URL
// set them: while Redis is away a call that records itself, or a stream
// that joins, should learn it in about a second, not a quarter of a minute.
func failFast(dialTimeout *time.Duration, maxRetries *int) {
	if *dialTimeout == 0 {
		*dialTimeout = time.Second
	}
	if *maxRetries == 0 {
		*maxRetries = 1
	}
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
