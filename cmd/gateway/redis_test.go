package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

func TestNewRedis(t *testing.T) {
	tests := []struct {
		url  string
		want string // the client type
	}{
		{"redis://:pw@127.0.0.1:6379/2", "*redis.Client"},
		{"redis://127.0.0.1:26379?master_name=mymaster&addr=127.0.0.2:26379", "*redis.Client"}, // a failover client is a *redis.Client
		{"redis://127.0.0.1:7000?addr=127.0.0.2:7000&addr=127.0.0.3:7000", "*redis.ClusterClient"},
	}
	for _, tt := range tests {
		rdb, err := newRedis(tt.url)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		switch c := rdb.(type) {
		case *redis.Client:
			if tt.want != "*redis.Client" {
				t.Errorf("%s: a single-server client, want %s", tt.url, tt.want)
			}
			if o := c.Options(); o.DialTimeout != time.Second || o.MaxRetries != 1 {
				t.Errorf("%s: dial timeout %v, retries %d: want the fail-fast defaults", tt.url, o.DialTimeout, o.MaxRetries)
			}
		case *redis.ClusterClient:
			if tt.want != "*redis.ClusterClient" || len(c.Options().Addrs) != 3 {
				t.Errorf("%s: cluster %v", tt.url, c.Options().Addrs)
			}
		}
		rdb.Close()
	}
	// A timeout given in the URL is kept.
	rdb, err := newRedis("redis://127.0.0.1:6379?dial_timeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if d := rdb.(*redis.Client).Options().DialTimeout; d != 3*time.Second {
		t.Errorf("dial timeout %v, want the URL's 3s", d)
	}
	for _, bad := range []string{"http://x", "redis://h:1?nonsense=1", "::"} {
		if c, err := newRedis(bad); err == nil {
			c.Close()
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestRedisErrors: nuls_gateway_redis_errors_total counts the operations
// that failed, by command, and not the answers that are no failure.
func TestRedisErrors(t *testing.T) {
	ctx := t.Context()
	rdb, prefix := redistest.Client(t)
	errs := instrumentRedis(rdb).(*prometheus.CounterVec)
	if err := rdb.Get(ctx, prefix+":missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET of a missing key: %v", err)
	}
	if err := rdb.HSet(ctx, prefix+":h", "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	defer rdb.Del(context.Background(), prefix+":h")
	if err := rdb.Get(ctx, prefix+":h").Err(); err == nil { // WRONGTYPE
		t.Fatal("GET of a hash answered")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_ = rdb.Get(cctx, prefix+":missing").Err()
	if got := testutil.ToFloat64(errs.WithLabelValues("get")); got != 1 {
		t.Errorf("get errors %v, want 1 (the WRONGTYPE answer only)", got)
	}

	down := redistest.Unreachable(t)
	downErrs := instrumentRedis(down).(*prometheus.CounterVec)
	_ = down.Ping(ctx).Err()
	pipe := down.Pipeline()
	pipe.Get(ctx, "a")
	pipe.Get(ctx, "b")
	_, _ = pipe.Exec(ctx)
	if got := testutil.ToFloat64(downErrs.WithLabelValues("dial")); got < 2 {
		t.Errorf("dial errors %v, want one per attempt (2)", got)
	}
	if got := testutil.ToFloat64(downErrs.WithLabelValues("ping")); got != 1 {
		t.Errorf("ping errors %v, want 1", got)
	}
	if got := testutil.ToFloat64(downErrs.WithLabelValues("get")); got != 2 {
		t.Errorf("get errors %v, want 2 (a failed pipeline counts each of its commands)", got)
	}
}
