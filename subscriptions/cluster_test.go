package subscriptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
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

// testWriter writes a log to a test's.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// startInstance runs a hub sharing its topics through Redis. Its own
// client lets a test cut it off from Redis as a crash would.
func startInstance(t *testing.T, shared *redis.Client, prefix, name string) *instance {
	t.Helper()
	return startInstanceWith(t, shared, prefix, name, instanceOptions{})
}

// instanceOptions change an instance from the default of startInstance.
type instanceOptions struct {
	node          *fakeNode     // the node its feeds follow; nil: feeds of their own
	tick          time.Duration // upkeep rhythm; 100ms by default
	unannounced   bool          // no Pub/Sub announcements: its copy of the log lags
	firstPushWait time.Duration // how long Join waits for a first push; 50ms by default
	chain         Chain         // how its topics follow the chain; nil: none
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
	var upstream Source = up
	if o.node != nil {
		upstream = o.node.upstream(up)
	}
	// Its log goes to the test's: shown when the test fails, or with -v.
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil)).With("instance", name)
	h := NewHub(Config{Cluster: c, ClusterTick: o.tick, Grace: 300 * time.Millisecond, FirstPushWait: o.firstPushWait, Chain: o.chain}, upstream, logger)
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
	// b stands by with a subscription of its own; a third instance
	// with readers only mirrors.
	c := startInstance(t, rdb, prefix, "c")
	mc, err := c.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	takeIDs(t, mc, 1)
	time.Sleep(300 * time.Millisecond) // several upkeeps
	if a, b, c := a.up.open(), b.up.open(), c.up.open(); a != 1 || b != 1 || c != 0 {
		t.Fatalf("upstream feeds open: a %d, b %d, c %d; want 1 (holder), 1 (standby), 0", a, b, c)
	}
}

// fakeNode is the node the instances of a test cluster follow: every push
// goes to every open feed, and a new feed first gets the current state, as
// an event subscription's first answer.
type fakeNode struct {
	mu    sync.Mutex
	state int // 0: none yet
	ups   []*fakeUpstream
	muted map[*fakeFeed]bool // they get nothing, as dead subscriptions
}

// mute makes up's feeds open now silent for good; feeds made later are not.
func (n *fakeNode) mute(up *fakeUpstream) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.muted == nil {
		n.muted = map[*fakeFeed]bool{}
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, f := range up.feeds {
		n.muted[f] = true
	}
}

func (n *fakeNode) upstream(up *fakeUpstream) Source {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ups = append(n.ups, up)
	return nodeUpstream{n, up}
}

// push makes a new state and pushes it to every feed still open.
func (n *fakeNode) push(v int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.state = v
	for _, up := range n.ups {
		up.mu.Lock()
		for _, f := range up.feeds {
			if n.muted[f] {
				continue
			}
			select {
			case <-f.closed:
			default:
				f.push(v)
			}
		}
		up.mu.Unlock()
	}
}

type nodeUpstream struct {
	n  *fakeNode
	up *fakeUpstream
}

func (u nodeUpstream) Subscribe(ctx context.Context, k Key) (Feed, error) {
	u.n.mu.Lock()
	defer u.n.mu.Unlock()
	f, err := u.up.Subscribe(ctx, k)
	if err == nil && u.n.state != 0 {
		f.(*fakeFeed).push(u.n.state)
	}
	return f, err
}

// follower is an instance of a cluster on a fakeNode, with a reader.
type follower struct {
	*instance
	m *Member
}

// startFollowers starts instances on node, each with a reader of key, one
// after the other: the first holds the lease, the second stands by.
func startFollowers(t *testing.T, rdb *redis.Client, prefix string, node *fakeNode, names ...string) []*follower {
	t.Helper()
	var out []*follower
	for _, name := range names {
		in := startInstanceWith(t, rdb, prefix, name, instanceOptions{node: node})
		m, err := in.hub.Join(t.Context(), key, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		out = append(out, &follower{in, m})
		if len(out) <= 2 {
			waitFor(t, name+" subscribed upstream", func() bool { return in.up.open() == 1 })
		}
	}
	return out
}

// follow reads a member until it has the pushes up to want, and returns
// what it read: every event, and whether a batch said events were lost.
func follow(t *testing.T, m *Member, want int) (evs []Event, lost bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if n := len(evs); n > 0 && string(evs[n-1].Data) == strconv.Itoa(want) {
			return evs, lost
		}
		select {
		case <-m.Ready():
		case <-deadline:
			t.Fatalf("got %v, want up to %d", describeEvents(evs), want)
		}
		b, err := m.Take(100)
		if err != nil {
			t.Fatalf("Take: %v (got %v)", err, describeEvents(evs))
		}
		lost = lost || b.Gap || b.Lost
		evs = append(evs, b.Events...)
	}
}

// checkExactly checks that evs are the pushes from, to, each once, in
// order, with sequence numbers without a hole, and nothing else.
func checkExactly(t *testing.T, who string, evs []Event, lost bool, from, to int) {
	t.Helper()
	var want []string
	for v := from; v <= to; v++ {
		want = append(want, strconv.Itoa(v))
	}
	if got := describeEvents(evs); lost || !cmp.Equal(got, want) {
		t.Fatalf("%s read %v (events lost: %v), want %v", who, got, lost, want)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq != evs[i-1].Seq+1 {
			t.Fatalf("%s: sequence %d after %d", who, evs[i].Seq, evs[i-1].Seq)
		}
	}
}

// TestClusterCrashWithoutLoss: the holder dies (cut off from Redis, as a
// killed process is) while the node goes on pushing; the standby takes the
// lease over within the lease TTL and appends what its own subscription
// recorded meanwhile: the readers get every push once, in order, without a
// gap.
func TestClusterCrashWithoutLoss(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	node := &fakeNode{}
	node.push(1)
	fs := startFollowers(t, rdb, prefix, node, "a", "b", "c")
	for v := 2; v <= 5; v++ {
		node.push(v)
	}
	for _, f := range fs {
		follow(t, f.m, 5)
	}
	fs[0].rdb.Close()
	crashed := time.Now()
	for v := 6; v <= 15; v++ {
		node.push(v)
		time.Sleep(50 * time.Millisecond)
	}
	for _, f := range fs[1:] {
		evs, lost := follow(t, f.m, 15)
		checkExactly(t, f.name, evs, lost, 6, 15)
	}
	took := time.Since(crashed)
	t.Logf("takeover: every push after the crash read %v after it", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("takeover took %v, want about the lease TTL (1.5s)", took)
	}
	// c is the standby now, with a subscription of its own.
	waitFor(t, "c standing by", func() bool { return fs[2].up.open() == 1 })
}

// TestClusterHolderFeedDiesSilently: the holder's subscription stops
// delivering while its connection, and its lease, stay up. The standby,
// whose subscription goes on, sees the log stop moving and takes the lease
// from it, appending what it recorded: the readers lose nothing. The former
// holder stands by, sees its own subscription silent while the log moves,
// and subscribes again.
func TestClusterHolderFeedDiesSilently(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	node := &fakeNode{}
	node.push(1)
	fs := startFollowers(t, rdb, prefix, node, "a", "b")
	for v := 2; v <= 3; v++ {
		node.push(v)
	}
	for _, f := range fs {
		follow(t, f.m, 3)
	}
	node.mute(fs[0].up)
	wedged := time.Now()
	const last = 90 // pushes 100 ms apart: past stallAfter and a tick
	for v := 4; v <= last; v++ {
		node.push(v)
		time.Sleep(100 * time.Millisecond)
	}
	for _, f := range fs {
		evs, lost := follow(t, f.m, last)
		checkExactly(t, f.name, evs[len(evs)-(last-3):], lost, 4, last)
	}
	t.Logf("every push read %v after the holder's feed died", time.Since(wedged).Round(100*time.Millisecond))
	if _, holder, err := leaseOf(t, rdb, prefix); err != nil || holder != "b" {
		t.Fatalf("lease held by %q (%v), want b", holder, err)
	}
	waitFor(t, "a subscribing again", func() bool {
		fs[0].up.mu.Lock()
		made := len(fs[0].up.feeds)
		fs[0].up.mu.Unlock()
		return made >= 2 && fs[0].up.open() == 1
	})
}

// leaseOf returns the one topic lease under prefix and its holder.
func leaseOf(t *testing.T, rdb *redis.Client, prefix string) (string, string, error) {
	t.Helper()
	keys, err := rdb.Keys(t.Context(), prefix+":*:lease").Result()
	if err != nil || len(keys) != 1 {
		return "", "", fmt.Errorf("lease keys %v, %v", keys, err)
	}
	holder, err := rdb.Get(t.Context(), keys[0]).Result()
	return keys[0], holder, err
}

// TestClusterHandoverWithoutLoss: the holder stops (a rolling restart): it
// gives the lease up, the standby takes it at once and appends what the log
// lacks.
func TestClusterHandoverWithoutLoss(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	node := &fakeNode{}
	node.push(1)
	fs := startFollowers(t, rdb, prefix, node, "a", "b")
	node.push(2)
	follow(t, fs[1].m, 2)
	stopped := make(chan time.Time, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		fs[0].m.Close()
		fs[0].stop()
		stopped <- time.Now()
	}()
	for v := 3; v <= 20; v++ {
		node.push(v)
		time.Sleep(20 * time.Millisecond)
	}
	evs, lost := follow(t, fs[1].m, 20)
	checkExactly(t, "b", evs, lost, 3, 20)
	t.Logf("handover: stopped at %s", (<-stopped).Format("15:04:05.000"))
}

// TestClusterRedisLostTheLog: Redis restarts without its data (no
// persistence) under the instances: the holder puts the events back from
// its copy, with their IDs, and goes on; the readers see no end, no gap and
// no event twice, and a Last-Event-ID from before resumes exactly.
func TestClusterRedisLostTheLog(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	node := &fakeNode{}
	node.push(1)
	fs := startFollowers(t, rdb, prefix, node, "a", "b")
	for v := 2; v <= 4; v++ {
		node.push(v)
	}
	evs, _ := follow(t, fs[1].m, 4)
	resumeAfter := evs[len(evs)-3].ID // after 2
	keys, err := rdb.Keys(t.Context(), prefix+":*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys %v %v", keys, err)
	}
	if err := rdb.Del(t.Context(), keys...).Err(); err != nil {
		t.Fatal(err)
	}
	for v := 5; v <= 8; v++ {
		node.push(v)
		time.Sleep(30 * time.Millisecond)
	}
	for _, f := range fs {
		evs, lost := follow(t, f.m, 8)
		from := 5
		if f == fs[0] {
			from = 1
		}
		checkExactly(t, f.name, evs[len(evs)-(8-from+1):], lost, from, 8)
	}
	c := startInstance(t, rdb, prefix, "c")
	m, err := c.hub.Join(t.Context(), key, resumeAfter)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got, lost := follow(t, m, 8)
	checkExactly(t, "a reader resuming on c", got, lost, 3, 8)
}

// takeOver runs a topic that instance a produces, pushing values, with a
// reader on instance b that has read up to the last of them; then a dies
// (no lease renewal, no release) and b takes the lease over. It returns b's
// reader, the ID of the last event it read, and b's new feed.
func takeOver(t *testing.T, values ...int) (mb *Member, lastID string, fb *fakeFeed) {
	t.Helper()
	return takeOverWith(t, instanceOptions{}, values...)
}

// takeOverWith is takeOver with instances started with o.
func takeOverWith(t *testing.T, o instanceOptions, values ...int) (mb *Member, lastID string, fb *fakeFeed) {
	t.Helper()
	rdb, prefix := redistest.Client(t)
	a := startInstanceWith(t, rdb, prefix, "a", o)
	b := startInstanceWith(t, rdb, prefix, "b", o)
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

// TestClusterTakeoverByHeight: where the events follow heights, the new
// producer's node behind the log's last height (another node is there)
// shows nothing twice, and the heights it skipped are filled in, not a gap:
// the log goes on 3, 4, 5, 6.
func TestClusterTakeoverByHeight(t *testing.T) {
	t.Parallel()
	mb, _, fb := takeOverWith(t, instanceOptions{chain: numberChain{limit: 10, reached: 100}}, 1, 2)
	// Its node is behind (0), then ahead (5). Whether these reach its
	// tape before it holds the lease or after, the tape does not line up
	// with the log exactly, so its first entries are judged by height.
	for _, v := range []int{0, 5, 6} {
		fb.push(v)
	}
	evs := readEvents(t, mb, 4)
	if got, want := describeEvents(evs), []string{"3", "4", "5", "6"}; !cmp.Equal(got, want) {
		t.Fatalf("after the takeover: %v, want %v", got, want)
	}
	for i, e := range evs {
		if _, seq, _ := ParseID(e.ID); seq != uint64(i+3) {
			t.Errorf("event %d: ID %s, want sequence %d", i, e.ID, i+3)
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

// TestClusterRollbackAnnounced: the shared log of a stream of heights
// announces the chain going back, as a lone hub's does.
func TestClusterRollbackAnnounced(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.Client(t)
	a := startInstanceWith(t, rdb, prefix, "a", instanceOptions{chain: headerChain{}})
	m, err := a.hub.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	f := feedOf(t, a)
	for _, s := range []string{"5/a", "6/a", "4/a", "5/b"} {
		f.ch <- Update{Data: json.RawMessage(strconv.Quote(s))}
	}
	got := describeEvents(readEvents(t, m, 5))
	want := []string{`"5/a"`, `"6/a"`, `{"height":4,"from":6}`, `"4/a"`, `"5/b"`}
	if !cmp.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
