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
	errs := instrumentRedis(rdb).errs
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
	downErrs := instrumentRedis(down).errs
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

// TestRedisLatency: nuls_gateway_redis_command_duration_seconds times each
// command under its name, a pipeline as one, a command the gateway does not
// send under "other", and a dial.
func TestRedisLatency(t *testing.T) {
	ctx := t.Context()
	rdb, prefix := redistest.Client(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(instrumentRedis(rdb))
	count := func(op string) uint64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "nuls_gateway_redis_command_duration_seconds" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == op {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
		return 0
	}
	for range 3 {
		if err := rdb.Set(ctx, prefix+":k", "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	defer rdb.Del(context.Background(), prefix+":k")
	// go-redis may set a new connection up with a pipeline of its own
	// (HELLO, CLIENT SETINFO): count from here.
	pipelines := count(opPipeline)
	pipe := rdb.Pipeline()
	pipe.Get(ctx, prefix+":k")
	pipe.Get(ctx, prefix+":k")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(opPipeline) - pipelines; got < 1 {
		t.Errorf("a pipeline observed %d times", got)
	}
	if err := rdb.Do(ctx, "lastsave").Err(); err != nil {
		t.Fatal(err)
	}
	for op, want := range map[string]uint64{"set": 3, "get": 0, opOther: 1} {
		if got := count(op); got != want {
			t.Errorf("op %s: %d observations, want %d", op, got, want)
		}
	}
	if got := count(opDial); got < 1 {
		t.Errorf("no dial observed")
	}
	if got, want := redisOp("lastsave"), opOther; got != want {
		t.Errorf("redisOp(lastsave) = %q, want %q", got, want)
	}
}
