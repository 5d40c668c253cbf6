package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
)

// BenchmarkAllow is what metering one request costs, in memory and in
// Redis (one EVALSHA round trip):
// go test -run='^$' -bench=Allow -benchmem ./ratelimit
func BenchmarkAllow(b *testing.B) {
	p := Plan{Name: "bench", Rate: 1_000_000, Period: time.Second, Burst: 1 << 30}
	run := func(b *testing.B, l Limiter) {
		b.ReportAllocs()
		ctx := context.Background()
		for b.Loop() {
			if r, err := l.Allow(ctx, "caller", p, 1); err != nil || !r.Allowed {
				b.Fatal(r, err)
			}
		}
	}
	b.Run("local", func(b *testing.B) { run(b, NewLocal()) })
	b.Run("redis", func(b *testing.B) {
		rdb, prefix := redistest.Client(b)
		run(b, NewRedis(rdb, prefix))
	})
}
