package subscriptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeUpstream hands out feeds the test drives.
type fakeUpstream struct {
	mu     sync.Mutex
	feeds  []*fakeFeed
	opened chan *fakeFeed
	fail   error // returned by Subscribe when set
}

func newFakeUpstream() *fakeUpstream { return &fakeUpstream{opened: make(chan *fakeFeed, 16)} }

func (u *fakeUpstream) Subscribe(_ context.Context, k Key) (Feed, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fail != nil {
		return nil, u.fail
	}
	f := &fakeFeed{key: k, ch: make(chan Update, 64), closed: make(chan struct{})}
	u.feeds = append(u.feeds, f)
	u.opened <- f
	return f, nil
}

func (u *fakeUpstream) open() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, f := range u.feeds {
		select {
		case <-f.closed:
		default:
			n++
		}
	}
	return n
}

type fakeFeed struct {
	key    Key
	ch     chan Update
	once   sync.Once
	closed chan struct{}
}

func (f *fakeFeed) Updates() <-chan Update { return f.ch }
func (f *fakeFeed) Err() error             { return nil }
func (f *fakeFeed) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}
func (f *fakeFeed) push(v int) { f.ch <- Update{Data: json.RawMessage(fmt.Sprint(v))} }

func startHub(t *testing.T, cfg Config, up Source) *Hub {
	t.Helper()
	if cfg.FirstPushWait == 0 {
		cfg.FirstPushWait = 20 * time.Millisecond
	}
	h := NewHub(cfg, up, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "hub running", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.ctx != nil })
	return h
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// read takes events until n have arrived.
func read(t *testing.T, m *Member, n int) (vals []string, gap bool) {
	t.Helper()
	evs, gap := take(t, m, n, 3*time.Second)
	for _, e := range evs {
		vals = append(vals, string(e.Data))
	}
	return vals, gap
}

// take reads at least n events of m within the given time, and reports
// whether a batch had a gap.
func take(t *testing.T, m *Member, n int, within time.Duration) (evs []Event, gap bool) {
	t.Helper()
	deadline := time.After(within)
	for len(evs) < n {
		select {
		case <-m.Ready():
		case <-deadline:
			t.Fatalf("got %v, want %d events", describeEvents(evs), n)
		}
		b, err := m.Take(100)
		if err != nil {
			t.Fatalf("Take: %v (got %v)", err, describeEvents(evs))
		}
		gap = gap || b.Gap
		evs = append(evs, b.Events...)
	}
	return evs, gap
}

var key = Key{Method: "latestHeight", Params: `{"chainId":2}`, EventCounter: 1}

// TestShareOneUpstream: many readers of one key share one feed, in order,
// and a new reader starts with the current state.
func TestShareOneUpstream(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{}, up)
	a, err := h.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f := <-up.opened
	f.push(1)
	f.push(2)
	if got, _ := read(t, a, 2); !cmp.Equal(got, []string{"1", "2"}) {
		t.Fatalf("a got %v", got)
	}
	b, err := h.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, _ := read(t, b, 1); !cmp.Equal(got, []string{"2"}) {
		t.Fatalf("late reader starts with %v, want the current state [2]", got)
	}
	f.push(3)
	if got, _ := read(t, a, 1); got[0] != "3" {
		t.Fatalf("a got %v", got)
	}
	if got, _ := read(t, b, 1); got[0] != "3" {
		t.Fatalf("b got %v", got)
	}
	if up.open() != 1 {
		t.Errorf("%d upstream feeds, want 1", up.open())
	}
	if s := h.Stats(); s.Topics != 1 || s.Members != 2 {
		t.Errorf("stats %+v", s)
	}
}

// TestResume: Last-Event-ID gets exactly what was missed; beyond the
// retention, a gap.
func TestResume(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{Retention: 4}, up)
	a, err := h.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f := <-up.opened
	f.push(1)
	f.push(2)
	read(t, a, 2)
	// A reader saw event 2's ID, then went away.
	var lastID string
	{
		m, _ := h.Join(t.Context(), key, "")
		<-m.Ready()
		b, _ := m.Take(10)
		lastID = b.Events[0].ID
		m.Close()
	}
	f.push(3)
	f.push(4)
	read(t, a, 2)

	m, err := h.Join(t.Context(), key, lastID)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Exact() {
		t.Error("resumed within the retention: Exact is false")
	}
	got, gap := read(t, m, 2)
	m.Close()
	if !cmp.Equal(got, []string{"3", "4"}) || gap {
		t.Fatalf("resume got %v gap=%v, want [3 4] without gap", got, gap)
	}

	// Retention 4: after 4 more events, event 3 is gone.
	for i := 5; i <= 8; i++ {
		f.push(i)
	}
	_, _ = read(t, a, 4)
	m, err = h.Join(t.Context(), key, lastID)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Exact() {
		t.Error("resumed beyond the retention: Exact is true")
	}
	if e, ok := m.Latest(); !ok || string(e.Data) != "8" {
		t.Errorf("Latest = %s, %v; want 8", e.Data, ok)
	}
	got, gap = read(t, m, 4)
	if !gap || !cmp.Equal(got, []string{"5", "6", "7", "8"}) {
		t.Fatalf("resume beyond retention got %v gap=%v, want gap then [5 6 7 8]", got, gap)
	}

	// An ID the topic never issued: a gap, then live.
	m2, err := h.Join(t.Context(), key, "1-999")
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if m2.Exact() {
		t.Error("an unknown ID: Exact is true")
	}
	<-m2.Ready()
	if b, _ := m2.Take(10); !b.Gap || len(b.Events) != 0 {
		t.Fatalf("unknown ID: %+v", b)
	}
	if _, err := h.Join(t.Context(), key, "garbage"); !errors.Is(err, ErrBadEventID) {
		t.Fatalf("bad ID: %v", err)
	}
}

// TestResumeEarlierIncarnation: a Last-Event-ID whose sequence number the
// topic has issued, but with another time, is of an earlier incarnation of
// the topic (its numbers start over when it restarts, or when Redis loses
// the shared log): the reader gets a gap, not the events after that number.
func TestResumeEarlierIncarnation(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{}, up)
	a, err := h.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f := <-up.opened
	for i := 1; i <= 3; i++ {
		f.push(i)
	}
	read(t, a, 3)
	a.t.mu.Lock()
	second, _ := a.t.events.find(2)
	a.t.mu.Unlock()
	ms, seq, err := ParseID(second.ID)
	if err != nil || seq != 2 {
		t.Fatalf("event 2 has ID %q: %v", second.ID, err)
	}

	m, err := h.Join(t.Context(), key, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, gap := read(t, m, 1)
	m.Close()
	if gap || !cmp.Equal(got, []string{"3"}) {
		t.Fatalf("resume after %s got %v gap=%v, want [3] without gap", second.ID, got, gap)
	}

	earlier := FormatID(ms-1000, 2)
	m, err = h.Join(t.Context(), key, earlier)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	<-m.Ready()
	if b, _ := m.Take(10); !b.Gap || len(b.Events) != 0 {
		t.Fatalf("resume after %s (event 2 is %s): %+v, want a gap and no events", earlier, second.ID, b)
	}
	f.push(4)
	if got, gap := read(t, m, 1); gap || !cmp.Equal(got, []string{"4"}) {
		t.Fatalf("then got %v gap=%v, want [4]", got, gap)
	}
}

// TestGracePeriod: the upstream subscription outlives its last reader by
// the grace period, then closes; a reader coming back in time finds it.
func TestGracePeriod(t *testing.T) {
	t.Parallel()
	// In a bubble: the grace timer runs on the fake clock, and
	// synctest.Wait lets the hub act before each look.
	synctest.Test(t, func(t *testing.T) {
		up := newFakeUpstream()
		h := startHub(t, Config{Grace: 100 * time.Millisecond}, up)
		a, _ := h.Join(t.Context(), key, "")
		f := <-up.opened
		a.Close()
		time.Sleep(30 * time.Millisecond)
		b, _ := h.Join(t.Context(), key, "")
		time.Sleep(150 * time.Millisecond)
		synctest.Wait()
		if up.open() != 1 {
			t.Fatal("topic closed while a reader was back")
		}
		b.Close()
		time.Sleep(99 * time.Millisecond)
		synctest.Wait()
		if up.open() != 1 {
			t.Fatal("topic closed before the grace period ended")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if up.open() != 0 {
			t.Fatal("upstream still subscribed after the grace period")
		}
		select {
		case <-f.closed:
		default:
			t.Fatal("feed not closed")
		}
		if h.Stats().Topics != 0 {
			t.Error("topic kept")
		}
	})
}

// TestSlowReaderDoesNotStall: a reader that never takes does not delay the
// others; it sees a gap once it falls out of retention.
func TestSlowReaderDoesNotStall(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{Retention: 8}, up)
	slow, _ := h.Join(t.Context(), key, "")
	defer slow.Close()
	fast, _ := h.Join(t.Context(), key, "")
	defer fast.Close()
	f := <-up.opened
	for i := 1; i <= 50; i++ {
		f.push(i)
		if got, _ := read(t, fast, 1); got[0] != fmt.Sprint(i) {
			t.Fatalf("fast got %v at %d", got, i)
		}
	}
	b, err := slow.Take(100)
	if err != nil || !b.Gap || len(b.Events) != 8 || string(b.Events[0].Data) != "43" {
		t.Fatalf("slow reader: %+v %v", b, err)
	}
}

// TestFinalFailure: an upstream rejection on a new topic is Join's error.
func TestFinalFailure(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{FirstPushWait: time.Second}, up)
	rejected := errors.New("Cmd not found")
	go func() {
		f := <-up.opened
		f.ch <- Update{Type: TypeError, Data: json.RawMessage(`{"title":"x"}`), Final: true, Err: rejected}
	}()
	_, err := h.Join(t.Context(), key, "")
	var te *TopicError
	if !errors.As(err, &te) || !errors.Is(err, rejected) {
		t.Fatalf("err = %v, want the rejection", err)
	}
	if h.Stats().Topics != 0 {
		t.Error("failed topic kept")
	}
	up.fail = errors.New("not connected")
	if _, err := h.Join(t.Context(), Key{Method: "other"}, ""); err == nil {
		t.Fatal("Join succeeded although Subscribe failed")
	}
}

// TestFinalFailureWakesReaders: a reader that took the final event, and
// waits on Changed for what follows, is woken for the end: the topic will
// never change again, so its channel is closed.
func TestFinalFailureWakesReaders(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{}, up)
	m, err := h.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	f := <-up.opened
	f.push(1)
	f.ch <- Update{Type: TypeError, Data: json.RawMessage(`{"title":"x"}`), Final: true, Err: errors.New("refused")}
	// The push and the final event may come in one batch or two.
	var events []Event
	deadline := time.After(5 * time.Second)
	for len(events) < 2 {
		select {
		case <-m.Changed():
		case <-deadline:
			t.Fatalf("%d events, want the push and the final event", len(events))
		}
		b, err := m.Take(10)
		if err != nil && len(events)+len(b.Events) < 2 {
			t.Fatalf("take: %+v %v before the final event", b, err)
		}
		events = append(events, b.Events...)
	}
	if len(events) != 2 || events[1].Type != TypeError {
		t.Fatalf("events %+v, want the push, then the final error", events)
	}
	select {
	case <-m.Changed():
	case <-time.After(time.Second):
		t.Fatal("a reader of an ended topic waits on Changed forever")
	}
	if _, err := m.Take(10); err == nil {
		t.Fatal("no end after the final event")
	}
}

// TestFeedEndsIsReopened: a feed that ends while readers remain is
// reopened; the new feed's first answer repeats the state the readers have
// (dropped), and the readers go on without a gap.
func TestFeedEndsIsReopened(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond}, up)
	m, _ := h.Join(t.Context(), key, "")
	defer m.Close()
	f := <-up.opened
	f.push(1)
	close(f.ch)
	f2 := <-up.opened
	f2.push(1)
	f2.push(2)
	if got := readEvents(t, m, 2); !cmp.Equal(describeEvents(got), []string{"1", "2"}) {
		t.Fatalf("got %v, want [1 2]", describeEvents(got))
	}
}

// TestRenewedFeedGap: when a renewed feed's first answer differs from the
// last event, or the upstream says it subscribed again (Update.Gap), the
// readers get a gap event naming the last event they had, then the push.
func TestRenewedFeedGap(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond}, up)
	m, _ := h.Join(t.Context(), key, "")
	defer m.Close()
	f := <-up.opened
	f.push(1)
	close(f.ch)
	f2 := <-up.opened
	f2.push(5)
	f2.ch <- Update{Data: json.RawMessage("9"), Gap: true}
	f2.push(10)
	got := readEvents(t, m, 6)
	want := []string{"1", "gap after #1", "5", "gap after #3", "9", "10"}
	if !cmp.Equal(describeEvents(got), want) {
		t.Fatalf("got %v, want %v", describeEvents(got), want)
	}
}

// readEvents reads n events of m.
func readEvents(t *testing.T, m *Member, n int) []Event {
	t.Helper()
	evs, _ := take(t, m, n, 3*time.Second)
	return evs
}

// describeEvents renders pushes as their data and gap events as the
// sequence number of the event they follow.
func describeEvents(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		switch e.Type {
		case TypeGap:
			var g struct{ LastEventID string }
			_ = json.Unmarshal(e.Data, &g)
			_, seq, _ := ParseID(g.LastEventID)
			out[i] = fmt.Sprintf("gap after #%d", seq)
		default:
			out[i] = string(e.Data)
		}
	}
	return out
}

// TestContinuation: what the first answer of a renewed subscription means.
func TestContinuation(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	at := func(ago time.Duration) string { return FormatID(now.Add(-ago).UnixMilli(), 7) }
	last := Event{ID: at(time.Second), Seq: 7, Data: json.RawMessage(`{"value":7}`)}
	period := Key{Method: "getBalance", Period: 10}
	tests := []struct {
		name      string
		k         Key
		last      Event
		hasLast   bool
		u         Update
		drop, gap bool
	}{
		{"empty log", key, Event{}, false, Update{Data: json.RawMessage(`1`)}, false, false},
		{"event: the same state", key, last, true, Update{Data: json.RawMessage(`{"value":7}`)}, true, false},
		{"event: a new state", key, last, true, Update{Data: json.RawMessage(`{"value":9}`)}, false, true},
		{"event: an error after a push", key, last, true, Update{Type: TypeError, Data: json.RawMessage(`{"value":7}`)}, false, true},
		{"event: the log ended", key, Event{ID: at(time.Second), Final: true}, true, Update{Data: json.RawMessage(`1`)}, false, false},
		{"period: the next tick", period, Event{ID: at(12 * time.Second)}, true, Update{Data: json.RawMessage(`1`)}, false, false},
		{"period: ticks missed", period, Event{ID: at(21 * time.Second)}, true, Update{Data: json.RawMessage(`1`)}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := continuation(tt.k, nil, tt.last, tt.hasLast, tt.u, now)
			if n.drop != tt.drop || n.gap != tt.gap {
				t.Errorf("drop, gap = %v, %v; want %v, %v", n.drop, n.gap, tt.drop, tt.gap)
			}
		})
	}
}

// TestLocalTopic: Publish and JoinLocal, for notifications.
func TestLocalTopic(t *testing.T) {
	t.Parallel()
	h := startHub(t, Config{}, newFakeUpstream())
	m, err := h.JoinLocal("notifications", "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := h.Publish("notifications", "Notification", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(t, m, 1); got[0] != `{"n":1}` {
		t.Fatalf("got %v", got)
	}
}

// TestRunEndsTopics: stopping the hub closes the upstream feeds and ends the
// readers.
func TestRunEndsTopics(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := NewHub(Config{FirstPushWait: time.Millisecond}, up, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	waitFor(t, "hub running", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.ctx != nil })
	m, err := h.Join(t.Context(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	<-up.opened
	cancel()
	<-done
	<-m.Ready()
	if _, err := m.Take(10); !errors.Is(err, ErrClosed) {
		t.Fatalf("Take after Run = %v, want ErrClosed", err)
	}
	if up.open() != 0 {
		t.Error("feed left open")
	}
	if _, err := h.Join(t.Context(), key, ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("Join after Run = %v", err)
	}
}

func TestCanonicalParams(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{``, `{}`},
		{`null`, `{}`},
		{`{"b":1, "a":{"d":[1,2.50,"x"],"c":null}}`, `{"a":{"c":null,"d":[1,2.50,"x"]},"b":1}`},
		{`{"big":12345678901234567890}`, `{"big":12345678901234567890}`},
	}
	for _, tt := range tests {
		got, err := CanonicalParams(json.RawMessage(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("CanonicalParams(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := CanonicalParams(json.RawMessage(`[1]`)); err == nil {
		t.Error("array accepted")
	}
	a := Key{Method: "m", Params: `{"a":1}`, EventCounter: 1}
	b := a
	b.Period = 5
	if a.Topic() == b.Topic() || a.Topic() != (Key{Method: "m", Params: `{"a":1}`, EventCounter: 1}).Topic() {
		t.Error("Topic is not a function of the whole key")
	}
}

// TestTakeAppend: a member's batches taken into one reused array are
// Take's, and cost no allocation once the array is large enough.
func TestTakeAppend(t *testing.T) {
	h := NewHub(Config{Retention: 16}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for h.Publish("local", TypePush, []byte(`0`)) != nil {
		runtime.Gosched() // Run has not started yet
	}
	a, err := h.JoinLocal("local", "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := h.JoinLocal("local", "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	buf := make([]Event, 0, 8)
	for i := 1; i <= 3; i++ {
		if err := h.Publish("local", TypePush, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	want, err := a.Take(8)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.TakeAppend(buf[:0], 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 4 || &got.Events[0] != &buf[:1][0] {
		t.Fatalf("TakeAppend: %d events, in the array given: %v", len(got.Events), len(got.Events) > 0 && &got.Events[0] == &buf[:1][0])
	}
	for i := range want.Events {
		if w, g := want.Events[i], got.Events[i]; w.Seq != g.Seq || string(w.Data) != string(g.Data) || w.ID != g.ID {
			t.Errorf("event %d: TakeAppend %+v, Take %+v", i, g, w)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		b.mu.Lock()
		b.cursor = 0 // the same four events again
		b.mu.Unlock()
		if got, _ := b.TakeAppend(buf[:0], 8, 0); len(got.Events) != 4 {
			t.Fatalf("%d events", len(got.Events))
		}
	})
	if allocs != 0 {
		t.Errorf("TakeAppend of 4 events into an array of 8: %v allocations", allocs)
	}
}

// TestTakeAppendBytes: a batch stops before the event that would take its
// data past the bound, and says more follow; an event larger than the
// bound is taken alone.
func TestTakeAppendBytes(t *testing.T) {
	h := NewHub(Config{Retention: 16}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	kib := []byte(`"` + strings.Repeat("x", 1022) + `"`)
	for h.Publish("local", TypePush, kib) != nil {
		runtime.Gosched() // Run has not started yet
	}
	m, err := h.JoinLocal("local", "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	big := []byte(`"` + strings.Repeat("y", 4094) + `"`)
	for _, data := range [][]byte{kib, kib, big, kib} {
		if err := h.Publish("local", TypePush, data); err != nil {
			t.Fatal(err)
		}
	}
	var sizes [][]int
	var mores []bool
	for range 4 {
		b, err := m.TakeAppend(nil, 16, 2560)
		if err != nil {
			t.Fatal(err)
		}
		var s []int
		for _, e := range b.Events {
			s = append(s, len(e.Data))
		}
		sizes, mores = append(sizes, s), append(mores, b.More)
	}
	want := [][]int{{1024, 1024}, {1024}, {4096}, {1024}}
	if !cmp.Equal(sizes, want) || !cmp.Equal(mores, []bool{true, true, true, false}) {
		t.Errorf("batches %v, more %v; want %v, more [true true true false]", sizes, mores, want)
	}
}
