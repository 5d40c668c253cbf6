package subscriptions

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// envTestRedis names the Redis server of the tests. The README's test
// command starts one and sets it; by hand, without it, these tests skip.
const envTestRedis = "NULSGW_TEST_REDIS_URL"

// testRedis returns a client of the test Redis server and a key prefix of
// this test alone.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv(envTestRedis)
	if url == "" {
		t.Skipf("SKIPPING REDIS TEST: %s is not set (make test starts a Redis server and sets it)", envTestRedis)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", envTestRedis, err)
	}
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s does not answer: %v", url, err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb, fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), rand.IntN(1<<30))
}
