// Package redistest gives tests a client of the test Redis server and a key
// prefix of their own.
package redistest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Env names the Redis server of the tests. The README's test command starts
// one and sets it; by hand, without it, the tests that need it skip.
const Env = "NULSGW_TEST_REDIS_URL"

// Client returns a client of the test Redis server and a key prefix of
// this test alone; the test skips, loudly, when Env is not set.
func Client(t testing.TB) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv(Env)
	if url == "" {
		t.Skipf("SKIPPING REDIS TEST: %s is not set (make test starts a Redis server and sets it)", Env)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s does not answer: %v", url, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb, fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), rand.IntN(1<<30)) //nolint:gosec // G404: unique, not secret
}

// Unreachable returns a client of an address where no Redis answers: a
// port just bound and closed again.
func Unreachable(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond,
		MaxRetries: -1, ReadTimeout: 50 * time.Millisecond, WriteTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
