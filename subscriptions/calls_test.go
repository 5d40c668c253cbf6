package subscriptions

import (
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
)

// TestCalls runs the Calls contract on both implementations: a record and
// its answer, an idempotency key claimed once, released, and living as
// long as Extend says.
func TestCalls(t *testing.T) {
	t.Parallel()
	impls := map[string]func(t *testing.T) Calls{
		"memory": func(*testing.T) Calls { return NewMemoryCalls() },
		"redis": func(t *testing.T) Calls {
			rdb, prefix := redistest.Client(t)
			return NewRedisCalls(rdb, prefix, 0)
		},
	}
	for name, newCalls := range impls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newCalls(t)
			ctx := t.Context()
			rec := CallRecord{ID: "c1", Method: "latestHeight", Instance: "a", Owner: "key:1", Deadline: time.Now().Add(time.Second)}
			if err := c.Begin(ctx, rec, time.Minute); err != nil {
				t.Fatal(err)
			}
			rec.Status, rec.Body, rec.Header = 200, []byte(`{"value":1}`), map[string]string{"Content-Type": "application/json"}
			if err := c.Finish(ctx, rec, time.Minute); err != nil {
				t.Fatal(err)
			}
			got, ok, err := c.Get(ctx, "c1")
			if err != nil || !ok || !got.Done || got.Owner != "key:1" || string(got.Body) != `{"value":1}` {
				t.Fatalf("Get: %+v %v %v", got, ok, err)
			}

			if _, _, claimed, err := c.Claim(ctx, "k", "fp", "c1", time.Minute); !claimed || err != nil {
				t.Fatalf("first claim: %v %v", claimed, err)
			}
			if id, fp, claimed, _ := c.Claim(ctx, "k", "fp2", "c2", time.Minute); claimed || id != "c1" || fp != "fp" {
				t.Fatalf("second claim: %s %s %v", id, fp, claimed)
			}
			if err := c.Release(ctx, "k"); err != nil {
				t.Fatal(err)
			}
			if _, _, claimed, _ := c.Claim(ctx, "k", "fp3", "c3", time.Minute); !claimed {
				t.Fatal("a released key is still bound")
			}
			if err := c.Extend(ctx, "k", 100*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(250 * time.Millisecond)
			if _, _, claimed, _ := c.Claim(ctx, "k", "fp4", "c4", time.Minute); !claimed {
				t.Fatal("a key outlived the time Extend gave it")
			}
		})
	}
}
