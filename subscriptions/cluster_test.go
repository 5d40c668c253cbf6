package subscriptions

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/redistest"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// instance is one gateway instance's hub in a test cluster.
type instance struct {
	name    string
	hub     *Hub
	up      *fakeUpstream
	rdb     *redis.Client
	cluster *RedisCluster
	stop    func()
}

// startInstance runs a hub sharing its topics through Redis. Its own
// client lets a test cut it off from Redis as a crash would.
func startInstance(t *testing.T, shared *redis.Client, prefix, name string) *instance {
	t.Helper()
	return startInstanceWith(t, shared, prefix, name, instanceOptions{})
}

// instanceOptions change an instance from the default of startInstance.
type instanceOptions struct {
	tick          time.Duration // upkeep rhythm; 100ms by default
	unannounced   bool          // no Pub/Sub announcements: its copy of the log lags
	firstPushWait time.Duration // how long Join waits for a first push; 50ms by default
}

// startInstanceWith runs an instance with options.
func startInstanceWith(t *testing.T, shared *redis.Client, prefix, name string, o instanceOptions) *instance {
	t.Helper()
	rdb := redis.NewClient(shared.Options())
	c, err := NewRedisCluster(rdb, RedisClusterConfig{
		// Short, for quick takeovers, but 15 upkeep ticks long: a
		// loaded CI machine must not stall a renewal past it.
		Prefix: prefix, Instance: name, LeaseTTL: 1500 * time.Millisecond, PresenceTTL: 1500 * time.Millisecond, OpTimeout: time.Second,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	up := newFakeUpstream()
	if o.tick == 0 {
		o.tick = 100 * time.Millisecond
	}
	if o.firstPushWait == 0 {
		o.firstPushWait = 50 * time.Millisecond
	}
	h := NewHub(Config{Cluster: c, ClusterTick: o.tick, Grace: 300 * time.Millisecond, FirstPushWait: o.firstPushWait}, up, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() {
		if !o.unannounced {
			_ = c.Run(ctx)
		}
		done <- struct{}{}
	}()
	go func() { _ = h.Run(ctx); done <- struct{}{} }()
	stopped := false
	inst := &instance{name: name, hub: h, up: up, rdb: rdb, cluster: c}
	inst.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		<-done
		rdb.Close()
	}
	t.Cleanup(inst.stop)
	waitFor(t, "hub running", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.ctx != nil })
	return inst
}

// feedOf waits for the one feed an instance opened.
func feedOf(t *testing.T, in *instance) *fakeFeed {
	t.Helper()
	select {
	case f := <-in.up.opened:
		return f
	case <-time.After(5 * time.Second):
		t.Fatalf("%s opened no upstream feed", in.name)
	}
	return nil
}

// takeIDs reads n events and returns their ids and data.
func takeIDs(t *testing.T, m *Member, n int) (ids, vals []string) {
	t.Helper()
	evs, _ := take(t, m, n, 5*time.Second)
	for _, e := range evs {
		ids = append(ids, e.ID)
		vals = append(vals, string(e.Data))
	}
	return ids, vals
}

// TestClusterSharesOneSubscription: readers on two instances share one
// upstream subscription, and see the same events with the same IDs.
func TestClusterSharesOneSubscription(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	a := startInstance(t, rdb, prefix, "a")
	b := startInstance(t, rdb, prefix, "b")

	ma, err := a.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ma.Close()
	fa := feedOf(t, a)
	fa.push(1)
	idsA, _ := takeIDs(t, ma, 1)

	mb, err := b.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	idsB, vals := takeIDs(t, mb, 1)
	if idsB[0] != idsA[0] || vals[0] != "1" {
		t.Fatalf("b starts with %v %v, want a's current event %v", idsB, vals, idsA)
	}
	for i := 2; i <= 4; i++ {
		fa.push(i)
	}
	ia, va := takeIDs(t, ma, 3)
	ib, vb := takeIDs(t, mb, 3)
	if !cmp.Equal(ia, ib) || !cmp.Equal(va, []string{"2", "3", "4"}) || !cmp.Equal(vb, va) {
		t.Fatalf("a %v %v, b %v %v", ia, va, ib, vb)
	}
	time.Sleep(300 * time.Millisecond) // several upkeeps: b must not subscribe too
	if n := len(b.up.opened); n != 0 {
		t.Fatalf("b opened %d upstream feeds, want 0", n)
	}
}

// takeOver runs a topic that instance a produces, pushing values, with a
// reader on instance b that has read up to the last of them; then a dies
// (no lease renewal, no release) and b takes the lease over. It returns b's
// reader, the ID of the last event it read, and b's new feed.
func takeOver(t *testing.T, values ...int) (mb *Member, lastID string, fb *fakeFeed) {
	t.Helper()
	rdb, prefix := redistest.Client(t)
	a := startInstance(t, rdb, prefix, "a")
	b := startInstance(t, rdb, prefix, "b")
	ma, err := a.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	fa := feedOf(t, a)
	for _, v := range values {
		fa.push(v)
	}
	mb, err = b.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	// b joined at whichever event its copy had: read up to the last.
	want := strconv.Itoa(values[len(values)-1])
	for {
		ids, vals := takeIDs(t, mb, 1)
		if vals[len(vals)-1] == want {
			lastID = ids[len(ids)-1]
			break
		}
	}
	a.rdb.Close()
	ma.Close()
	return mb, lastID, feedOf(t, b)
}

// TestClusterFailover: the instance producing a topic dies (it loses Redis,
// as a killed process would); another instance with readers takes the lease
// within a few ticks and subscribes upstream, and its readers see every
// event once, in order, the IDs going on without a gap.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	mb, _, fb := takeOver(t, 1, 2)
	// The new subscription's first answer repeats the state: dropped.
	fb.push(2)
	fb.push(3)
	fb.push(4)
	ids, vals := takeIDs(t, mb, 2)
	if !cmp.Equal(vals, []string{"3", "4"}) {
		t.Fatalf("after failover: %v, want [3 4] (no duplicate of 2)", vals)
	}
	_, s3, _ := ParseID(ids[0])
	_, s4, _ := ParseID(ids[1])
	if s3 != 3 || s4 != 4 {
		t.Fatalf("sequence %v: want 3, 4 continuing a's log", ids)
	}
}

// TestClusterTakeoverGap: when the new producer's first answer differs from
// the state the log ends with, the upstream changed while nobody was
// subscribed: the log gets a gap event naming its last event, then the push,
// and every instance's readers see both, in order.
func TestClusterTakeoverGap(t *testing.T) {
	t.Parallel()
	mb, lastOfA, fb := takeOver(t, 1)
	fb.push(4) // blocks 2 and 3 came while nobody was subscribed
	fb.push(5)
	evs := readEvents(t, mb, 3)
	if got, want := describeEvents(evs), []string{"gap after #1", "4", "5"}; !cmp.Equal(got, want) {
		t.Fatalf("after the takeover: %v, want %v", got, want)
	}
	if !strings.Contains(string(evs[0].Data), strconv.Quote(lastOfA)) {
		t.Errorf("gap event %s does not name the last event %s", evs[0].Data, lastOfA)
	}
	for i, e := range evs {
		if _, seq, _ := ParseID(e.ID); seq != uint64(i+2) {
			t.Errorf("event %d: ID %s, want sequence %d", i, e.ID, i+2)
		}
	}
}

// TestClusterResumeElsewhere: a reader of one instance resumes on another
// with Last-Event-ID and gets exactly what it missed.
func TestClusterResumeElsewhere(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	a := startInstance(t, rdb, prefix, "a")
	b := startInstance(t, rdb, prefix, "b")
	keepA, err := a.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer keepA.Close()
	fa := feedOf(t, a)
	fa.push(1)
	ids, _ := takeIDs(t, keepA, 1)
	seen := ids[0]
	for i := 2; i <= 5; i++ {
		fa.push(i)
	}
	takeIDs(t, keepA, 4)
	m, err := b.hub.Join(t.Context(), key, seen)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	<-m.Ready()
	batch, err := m.Take(100)
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, e := range batch.Events {
		vals = append(vals, string(e.Data))
	}
	if batch.Gap || !cmp.Equal(vals, []string{"2", "3", "4", "5"}) {
		t.Fatalf("resumed on b: gap=%v %v, want [2 3 4 5]", batch.Gap, vals)
	}
}

// TestClusterEndsWhenNobodyReads: once no instance has readers (after the
// grace period), the producer gives up the lease and unsubscribes upstream.
func TestClusterEndsWhenNobodyReads(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	a := startInstance(t, rdb, prefix, "a")
	b := startInstance(t, rdb, prefix, "b")
	ma, err := a.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	fa := feedOf(t, a)
	fa.push(1)
	mb, err := b.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	takeIDs(t, mb, 1)
	ma.Close()
	// b still reads: a goes on producing without local readers.
	time.Sleep(700 * time.Millisecond)
	select {
	case <-fa.closed:
		t.Fatal("a unsubscribed while b still had readers")
	default:
	}
	fa.push(2)
	if _, vals := takeIDs(t, mb, 1); vals[0] != "2" {
		t.Fatalf("b got %v", vals)
	}
	mb.Close()
	select {
	case <-fa.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream subscription kept after every reader left")
	}
	lease := fmt.Sprintf("%s:{%s}:lease", prefix, key.Topic())
	waitFor(t, "lease released", func() bool { return rdb.Exists(t.Context(), lease).Val() == 0 })
}

// TestClusterFinalFailure: a rejection appended by the producer ends the
// topic on every instance, with the producer's problem document.
func TestClusterFinalFailure(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	// The rejection comes at once, but goes through Redis before Join
	// sees it: on a loaded machine that takes more than the default 50ms.
	a := startInstanceWith(t, rdb, prefix, "a", instanceOptions{firstPushWait: 5 * time.Second})
	go func() {
		f := feedOf(t, a)
		f.ch <- Update{Type: TypeError, Data: []byte(`{"status":404}`), Final: true, Err: errors.New("Cmd not found")}
	}()
	_, err := a.hub.Join(t.Context(), Key{Method: "nope", Params: "{}", EventCounter: 1}, "")
	var fe *FinalError
	if !errors.As(err, &fe) || string(fe.Data) != `{"status":404}` {
		t.Fatalf("Join = %v, want the FinalError", err)
	}
}

// TestClusterRedisDown: without Redis a new shared topic cannot be joined
// (ErrUnavailable, not a hang), and the hub stops cleanly.
func TestClusterRedisDown(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	a := startInstance(t, rdb, prefix, "a")
	a.rdb.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := a.hub.Join(ctx, key, ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Join = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Join took %v", d)
	}
	a.stop()
}

// TestClusterResumeOnLaggingInstance: a reader resuming on an instance
// whose copy of the log is behind its Last-Event-ID gets exactly the events
// after it, without a spurious gap or events it already has.
func TestClusterResumeOnLaggingInstance(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	a := startInstance(t, rdb, prefix, "a")
	b := startInstanceWith(t, rdb, prefix, "b", instanceOptions{tick: time.Hour, unannounced: true}) // reads the log only when asked
	keepA, err := a.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer keepA.Close()
	fa := feedOf(t, a)
	fa.push(1)
	takeIDs(t, keepA, 1)
	keepB, err := b.hub.Join(t.Context(), key, "") // b's copy: event 1
	if err != nil {
		t.Fatal(err)
	}
	defer keepB.Close()
	takeIDs(t, keepB, 1)
	for i := 2; i <= 5; i++ {
		fa.push(i)
	}
	ids, _ := takeIDs(t, keepA, 4)
	// A reader saw event 4 on a, and resumes on b.
	m, err := b.hub.Join(t.Context(), key, ids[2])
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	<-m.Ready()
	batch, err := m.Take(100)
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, e := range batch.Events {
		vals = append(vals, string(e.Data))
	}
	if batch.Gap || !cmp.Equal(vals, []string{"5"}) {
		t.Fatalf("resumed on the lagging instance: gap=%v %v, want [5] without gap", batch.Gap, vals)
	}
}
