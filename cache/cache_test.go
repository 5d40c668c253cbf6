package cache

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nuls-gateway/nuls-gateway/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// header is a getBlockHeaderByHeight answer of a header at height.
func header(height int64) json.RawMessage {
	b := make([]byte, 100)
	binary.LittleEndian.PutUint32(b[68:], uint32(height))
	return json.RawMessage(`{"value":"` + hex.EncodeToString(b) + `"}`)
}

func byHeight(h int64) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"chainId":2,"height":%d}`, h))
}

// node counts its calls and answers each read with the header of the
// height asked.
type node struct{ calls atomic.Int64 }

func (n *node) fetch(params json.RawMessage) Fetch {
	return func(context.Context) (json.RawMessage, error) {
		n.calls.Add(1)
		var p struct{ Height int64 }
		_ = json.Unmarshal(params, &p)
		return header(p.Height), nil
	}
}

func tipAt(h int64) func() (int64, bool) { return func() (int64, bool) { return h, true } }

func do(t *testing.T, c *Cache, n *node, method string, params json.RawMessage) Status {
	t.Helper()
	res, st, err := c.Do(t.Context(), method, params, n.fetch(params))
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Height int64 }
	_ = json.Unmarshal(params, &p)
	if string(res) != string(header(p.Height)) {
		t.Fatalf("answer %s", res)
	}
	return st
}

func TestFinalAnswersAreKept(t *testing.T) {
	c := New(Config{Depth: 20, Tip: tipAt(100)})
	n := &node{}
	if st := do(t, c, n, "getBlockHeaderByHeight", byHeight(80)); st.Hit || !st.Stored || st.Header() != "nuls-gateway; fwd=miss; stored" {
		t.Errorf("first read: %+v %q", st, st.Header())
	}
	// The same parameters in another order and spacing are the same read.
	if st := do(t, c, n, "getBlockHeaderByHeight", json.RawMessage(`{ "height": 80, "chainId": 2 }`)); !st.Hit || st.Header() != "nuls-gateway; hit" {
		t.Errorf("second read: %+v %q", st, st.Header())
	}
	if n.calls.Load() != 1 {
		t.Errorf("%d calls to the node, want 1", n.calls.Load())
	}
	// 81 is 19 blocks deep: it may still change.
	for range 2 {
		if st := do(t, c, n, "getBlockHeaderByHeight", byHeight(81)); st.Hit || st.Stored || !strings.Contains(st.Header(), `detail="not final"`) {
			t.Errorf("a read above the depth: %+v %q", st, st.Header())
		}
	}
	if n.calls.Load() != 3 {
		t.Errorf("%d calls to the node, want 3", n.calls.Load())
	}
	// Any other command goes to the node each time, without a status.
	if st := do(t, c, n, "latestBlockHeader", byHeight(5)); st.Applies || st.Header() != "" {
		t.Errorf("another command: %+v", st)
	}
	s := c.Stats()
	if s.Hits != 1 || s.Misses != 3 || s.Stored != 1 || s.Entries != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestWhatIsNeverKept(t *testing.T) {
	c := New(Config{Depth: 1, Tip: tipAt(100)})
	fail := errors.New("node failed")
	calls := 0
	for range 2 {
		_, st, err := c.Do(t.Context(), "getBlockByHeight", byHeight(5), func(context.Context) (json.RawMessage, error) {
			calls++
			return nil, fail
		})
		if !errors.Is(err, fail) || st.Stored {
			t.Fatalf("an error: %v %+v", err, st)
		}
	}
	answers := map[string]json.RawMessage{
		"getBlockByHeight": json.RawMessage(`{}`), // the node has no such block
		"tx_getTxClient":   json.RawMessage(`{"tx":"0200","height":-1,"status":0}`),
		"getBlockByHash":   json.RawMessage(`{"value":"00"}`),
	}
	for method, answer := range answers {
		for range 2 {
			_, st, err := c.Do(t.Context(), method, byHeight(5), func(context.Context) (json.RawMessage, error) {
				calls++
				return answer, nil
			})
			if err != nil || st.Stored || st.Hit {
				t.Errorf("%s %s: %+v %v", method, answer, st, err)
			}
		}
	}
	if calls != 8 {
		t.Errorf("%d calls, want 8", calls)
	}
	// Another chain's block: its depth below this chain's tip means
	// nothing.
	chain9 := New(Config{Tip: tipAt(100), ChainID: 9})
	for range 2 {
		if st := do(t, chain9, &node{}, "getBlockByHeight", byHeight(1)); st.Stored || st.Hit {
			t.Errorf("chain 2's block kept by a cache of chain 9: %+v", st)
		}
	}
	unknown := New(Config{Tip: func() (int64, bool) { return 0, false }})
	if st := do(t, unknown, &node{}, "getBlockByHeight", byHeight(1)); st.Stored {
		t.Error("kept while the tip is unknown")
	}
	// A confirmed transaction deep enough is kept.
	tx := json.RawMessage(`{"tx":"0200","height":3,"status":1}`)
	for i := range 2 {
		_, st, _ := c.Do(t.Context(), "tx_getTxClient", json.RawMessage(`{"chainId":2,"txHash":"ab"}`), func(context.Context) (json.RawMessage, error) { return tx, nil })
		if st.Hit != (i == 1) {
			t.Errorf("a confirmed transaction, read %d: %+v", i+1, st)
		}
	}
}

// TestCoalesced: 100 identical cold reads at once make one call to the
// node; the others wait on it (collapsed).
func TestCoalesced(t *testing.T) {
	c := New(Config{Tip: tipAt(1000)})
	release := make(chan struct{})
	var calls atomic.Int64
	var wg sync.WaitGroup
	var collapsed, stored atomic.Int64
	for range 100 {
		wg.Go(func() {
			_, st, err := c.Do(t.Context(), "getBlockByHeight", byHeight(7), func(context.Context) (json.RawMessage, error) {
				calls.Add(1)
				<-release
				return header(7), nil
			})
			if err != nil {
				t.Error(err)
			}
			if st.Collapsed {
				collapsed.Add(1)
			}
			if st.Stored {
				stored.Add(1)
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // all of them waiting
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("%d calls to the node, want 1", calls.Load())
	}
	if stored.Load() < 1 || collapsed.Load() < 1 {
		t.Errorf("stored %d, collapsed %d", stored.Load(), collapsed.Load())
	}
	// A caller that leaves does not fail the others' flight.
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	_, _, err := c.Do(ctx, "getBlockByHeight", byHeight(8), func(fctx context.Context) (json.RawMessage, error) {
		close(started)
		time.Sleep(50 * time.Millisecond)
		return header(8), fctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that left: %v", err)
	}
	waitFor(t, func() bool { return c.Stats().Stored == 2 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMemoryBound(t *testing.T) {
	one := (&entry{key: strings.Repeat("k", 32), result: header(1)}).size()
	c := New(Config{Tip: tipAt(1000), MaxBytes: 3 * one})
	n := &node{}
	for h := range int64(10) {
		do(t, c, n, "getBlockByHeight", byHeight(h))
	}
	if s := c.Stats(); s.Entries != 3 || s.Bytes > 3*one {
		t.Errorf("%d entries of %d bytes, want 3 of at most %d", s.Entries, s.Bytes, 3*one)
	}
	if st := do(t, c, n, "getBlockByHeight", byHeight(9)); !st.Hit {
		t.Error("the most recent entry is gone")
	}
	if st := do(t, c, n, "getBlockByHeight", byHeight(0)); st.Hit {
		t.Error("the least recent entry stayed")
	}
}

// TestSharedAndRollback: what one instance kept, another reads from Redis;
// a rollback drops the entries above the new tip from both layers, and the
// Redis layer keeps at most RedisEntries.
func TestSharedAndRollback(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	var tip atomic.Int64
	tip.Store(100)
	cfg := Config{Depth: 5, Tip: func() (int64, bool) { return tip.Load(), true }, Redis: rdb, Prefix: prefix, RedisEntries: 50}
	a, b := New(cfg), New(cfg)
	n := &node{}
	do(t, a, n, "getBlockHeaderByHeight", byHeight(40))
	if st := do(t, b, n, "getBlockHeaderByHeight", byHeight(40)); !st.Hit || !st.Shared || st.Header() != `nuls-gateway; hit; detail="shared"` {
		t.Errorf("the other instance: %+v %q", st, st.Header())
	}
	for h := int64(60); h < 70; h++ {
		do(t, a, n, "getBlockHeaderByHeight", byHeight(h))
	}
	tip.Store(62)
	a.Rollback(t.Context(), 62)
	calls := n.calls.Load()
	for _, c := range []*Cache{a, b} {
		if st := do(t, c, n, "getBlockHeaderByHeight", byHeight(63)); st.Hit {
			t.Error("an entry above the new tip survived")
		}
		if st := do(t, c, n, "getBlockHeaderByHeight", byHeight(62)); !st.Hit {
			t.Error("an entry at the new tip was dropped")
		}
	}
	if n.calls.Load() != calls+2 { // 63 by each, not kept: 5 blocks deep no more
		t.Errorf("%d calls after the rollback, want 2", n.calls.Load()-calls)
	}
	tip.Store(100)
	for h := int64(0); h < 80; h++ {
		do(t, a, n, "getBlockByHeight", byHeight(h))
	}
	if card := rdb.ZCard(t.Context(), prefix+":{cache}:index").Val(); card != 50 {
		t.Errorf("%d entries in Redis, want the bound, 50", card)
	}
}

// TestRedisAway: with Redis unreachable the cache answers from the node
// and memory, and leaves Redis alone for a while instead of waiting on it
// at every read.
func TestRedisAway(t *testing.T) {
	c := New(Config{Tip: tipAt(100), Redis: redistest.Unreachable(t), Prefix: "x"})
	n := &node{}
	start := time.Now()
	for range 5 {
		do(t, c, n, "getBlockByHeight", byHeight(1))
		do(t, c, n, "getBlockByHeight", byHeight(2))
	}
	if n.calls.Load() != 2 {
		t.Errorf("%d calls to the node, want 2 (memory kept them)", n.calls.Load())
	}
	if s := c.Stats(); s.RedisErrors != 1 {
		t.Errorf("%d Redis errors, want 1 (then paused)", s.RedisErrors)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}
