package state

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

// TestAnswerBounds runs the bounds of the kept answers on both
// implementations: rooms per client and in all, by count and by bytes; a
// refusal changes nothing and says which bound and when to retry; a room
// freed, or expired, is room again; an answer larger than its room is not
// kept (memory).
func TestAnswerBounds(t *testing.T) {
	t.Parallel()
	impls := map[string]func(t *testing.T) Calls{
		"memory": func(*testing.T) Calls { return NewMemoryCalls() },
		"redis": func(t *testing.T) Calls {
			rdb, prefix := redistest.Client(t)
			return NewRedisCalls(rdb, prefix, 0)
		},
	}
	b := AnswerBounds{PerClient: 3, PerClientBytes: 4 * AnswerOverhead, Total: 4, TotalBytes: 6 * AnswerOverhead}
	for name, newCalls := range impls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newCalls(t)
			ctx := t.Context()
			rec := func(client string, i int) CallRecord {
				return CallRecord{ID: fmt.Sprintf("%s-%d", client, i), Client: client}
			}
			reserve := func(r CallRecord, bytes int64, ttl time.Duration) error {
				t.Helper()
				return c.Reserve(ctx, r, bytes, ttl, b)
			}
			quota := func(err error) *QuotaError {
				t.Helper()
				var qe *QuotaError
				if !errors.As(err, &qe) {
					t.Fatalf("%v: want a *QuotaError", err)
				}
				if qe.RetryAfter < time.Second {
					t.Fatalf("retry after %v", qe.RetryAfter)
				}
				return qe
			}
			for i := range 3 {
				if err := reserve(rec("a", i), 0, time.Minute); err != nil {
					t.Fatalf("room %d: %v", i, err)
				}
			}
			// The client's share, by count.
			if qe := quota(reserve(rec("a", 3), 0, time.Minute)); qe.Total {
				t.Fatal("the client's share refused as the total")
			}
			// Resizing a room within the client's bytes, and past them.
			if err := reserve(rec("a", 0), 2*AnswerOverhead, time.Minute); err != nil {
				t.Fatal(err)
			}
			if qe := quota(reserve(rec("a", 1), 3*AnswerOverhead, time.Minute)); qe.Total {
				t.Fatal("the client's bytes refused as the total")
			}
			// Another client: the total, by count.
			if err := reserve(rec("b", 0), 0, 200*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if qe := quota(reserve(rec("b", 1), 0, time.Minute)); !qe.Total {
				t.Fatal("the total refused as the client's share")
			}
			// A room freed is room again; so is one expired.
			if err := c.Finish(ctx, rec("a", 2), 0); err != nil {
				t.Fatal(err)
			}
			if err := reserve(rec("b", 1), 0, time.Minute); err != nil {
				t.Fatalf("after a room was freed: %v", err)
			}
			time.Sleep(300 * time.Millisecond) // b-0's room expires
			if err := reserve(rec("b", 2), 0, time.Minute); err != nil {
				t.Fatalf("after a room expired: %v", err)
			}
			// The total, by bytes: a 2, b-1 and b-2 1, a-1 1: 5 of 6.
			if qe := quota(reserve(rec("b", 1), 3*AnswerOverhead, time.Minute)); !qe.Total {
				t.Fatal("the total's bytes refused as the client's")
			}
			// An answer kept within its room; one larger is not (the
			// memory store checks; Redis keeps what the gateway sized).
			r := rec("a", 0)
			r.Body = make([]byte, 2*AnswerOverhead-100)
			if err := c.Finish(ctx, r, time.Minute); err != nil {
				t.Fatal(err)
			}
			if name == "memory" {
				r := rec("a", 1)
				r.Body = make([]byte, 2*AnswerOverhead)
				if err := c.Finish(ctx, r, time.Minute); !errors.Is(err, ErrNoRoom) {
					t.Fatalf("an answer larger than its room: %v", err)
				}
			}
		})
	}
}

// TestAnswerBoundsAcrossInstances: instances sharing Redis racing for the
// last rooms take exactly as many as the bounds allow.
func TestAnswerBoundsAcrossInstances(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	instances := []Calls{NewRedisCalls(rdb, prefix, 0), NewRedisCalls(rdb, prefix, 0), NewRedisCalls(rdb, prefix, 0)}
	b := AnswerBounds{PerClient: 7, Total: 100}
	var taken atomic.Int64
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			err := instances[i%3].Reserve(t.Context(), CallRecord{ID: fmt.Sprint(i), Client: "c"}, 0, time.Minute, b)
			var qe *QuotaError
			switch {
			case err == nil:
				taken.Add(1)
			case !errors.As(err, &qe):
				t.Errorf("reserve %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != 7 {
		t.Fatalf("%d rooms taken, want the bound 7", n)
	}
}
