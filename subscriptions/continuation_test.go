package subscriptions

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// numberChain reads every push of a topic as a height (a JSON number) and
// fills the heights between with their numbers, up to limit of them;
// reached is the highest height another node is known at.
type numberChain struct {
	limit   int64
	reached int64
	calls   chan [2]int64
}

func (c numberChain) Reached(height int64) bool { return height <= c.reached }

func (numberChain) Height(_ Key, data json.RawMessage) (int64, bool) {
	h, err := strconv.ParseInt(string(data), 10, 64)
	return h, err == nil
}

func (c numberChain) Between(_ context.Context, _ Key, from, to int64) ([]json.RawMessage, error) {
	if c.calls != nil {
		c.calls <- [2]int64{from, to}
	}
	if to-from-1 > c.limit {
		return nil, errors.New("too many")
	}
	var out []json.RawMessage
	for h := from + 1; h < to; h++ {
		out = append(out, json.RawMessage(strconv.FormatInt(h, 10)))
	}
	return out, nil
}

func TestContinuationByHeight(t *testing.T) {
	now := time.Now()
	last := Event{ID: FormatID(now.Add(-time.Second).UnixMilli(), 7), Seq: 7, Data: json.RawMessage(`7`)}
	every3 := key
	every3.EventCounter = 3
	ahead := numberChain{reached: 100}
	tests := []struct {
		name  string
		k     Key
		chain numberChain
		u     Update
		want  next
	}{
		{"a node behind", key, ahead, Update{Data: json.RawMessage(`5`)}, next{drop: true, ordered: true}},
		{"a lower height and no node ahead: a rollback", key, numberChain{}, Update{Data: json.RawMessage(`5`)},
			next{ordered: true, rollback: &Event{Type: TypeRollback, Data: []byte(`{"height":5,"from":7}`)}}},
		{"the same height", key, ahead, Update{Data: json.RawMessage(`7`)}, next{drop: true, ordered: true}},
		{"the next height", key, ahead, Update{Data: json.RawMessage(`8`)}, next{ordered: true}},
		{"heights skipped", key, ahead, Update{Data: json.RawMessage(`11`)}, next{gap: true, from: 7, to: 11, ordered: true}},
		{"every 3 events, 3 later", every3, ahead, Update{Data: json.RawMessage(`10`)}, next{ordered: true}},
		{"every 3 events, 4 later", every3, ahead, Update{Data: json.RawMessage(`11`)}, next{gap: true, from: 7, to: 11, ordered: true}},
		{"an error is no height", key, ahead, Update{Type: TypeError, Data: json.RawMessage(`7`)}, next{gap: true}},
		{"not a height", key, ahead, Update{Data: json.RawMessage(`"x"`)}, next{gap: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := continuation(tt.k, tt.chain, last, true, tt.u, now)
			if !cmp.Equal(got, tt.want, cmp.AllowUnexported(next{}, Event{})) {
				t.Errorf("continuation = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestRenewedFeedByHeight: a feed renewed on a node behind the log's last
// height catches up without a push twice or a height going back, and the
// heights a node ahead skipped are filled in, without a gap event; only
// heights the chain cannot give are a gap.
func TestRenewedFeedByHeight(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	chain := numberChain{limit: 3, reached: 100, calls: make(chan [2]int64, 8)}
	h := startHub(t, Config{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Chain: chain}, up)
	m, _ := h.Join(t.Context(), key, "")
	defer m.Close()
	f := <-up.opened
	f.push(5)
	f.push(6)
	close(f.ch)
	f2 := <-up.opened // behind: 4, 5 and 6 were shown; 7 and 8 skipped
	for _, v := range []int{4, 5, 6, 9, 10} {
		f2.push(v)
	}
	close(f2.ch)
	f3 := <-up.opened // far ahead: 11 to 19 cannot be filled
	f3.push(20)
	f3.push(21)
	got := readEvents(t, m, 9)
	want := []string{"5", "6", "7", "8", "9", "10", "gap after #6", "20", "21"}
	if !cmp.Equal(describeEvents(got), want) {
		t.Fatalf("got %v, want %v", describeEvents(got), want)
	}
	for _, want := range [][2]int64{{6, 9}, {10, 20}} {
		if c := <-chain.calls; c != want {
			t.Errorf("Between%v, want %v", c, want)
		}
	}
}

// TestRenewedFeedWentBack: a feed renewed lower than the log's last height,
// no node being at that height (one node that came back with a shorter
// chain), is the chain going back: a rollback event, then its pushes, and
// the stream goes on instead of waiting for the new chain to pass the old.
func TestRenewedFeedWentBack(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Chain: numberChain{}}, up)
	m, _ := h.Join(t.Context(), key, "")
	defer m.Close()
	f := <-up.opened
	for _, v := range []int{5, 6, 7} {
		f.push(v)
	}
	close(f.ch)
	f2 := <-up.opened
	f2.push(2)
	f2.push(3)
	events := readEvents(t, m, 6)
	got := describeEvents(events)
	want := []string{"5", "6", "7", `{"height":2,"from":7}`, "2", "3"}
	if !cmp.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Each push knows its height, for its readers' IDs; the rollback to 2
	// stands for 1: a reader resumed after it is sent 2 on.
	for i, e := range events {
		want := string(e.Data)
		if e.Type == TypeRollback {
			want = "1"
		}
		if !e.HasHeight || strconv.FormatInt(e.Height, 10) != want {
			t.Errorf("event %d %s: height %d (%v), want %s", i, e.Data, e.Height, e.HasHeight, want)
		}
	}
}

// headerChain reads pushes "<height>/<hash>" (JSON strings), as headers
// of blocks: the same height can come with another hash.
type headerChain struct{ numberChain }

func (headerChain) Height(_ Key, data json.RawMessage) (int64, bool) {
	var s string
	if json.Unmarshal(data, &s) != nil {
		return 0, false
	}
	h, _, _ := strings.Cut(s, "/")
	v, err := strconv.ParseInt(h, 10, 64)
	return v, err == nil
}

// TestRollbackAnnounced: within one feed, a lower height, or the same
// height with another block, is the chain going back: the readers get a
// rollback event naming the new tip and the height they were shown, then
// the pushes of the new tip.
func TestRollbackAnnounced(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{Chain: headerChain{}}, up)
	m, _ := h.Join(t.Context(), key, "")
	defer m.Close()
	f := <-up.opened
	for _, s := range []string{"5/a", "6/a", "7/a", "5/a", "6/b", "6/c", "7/c"} {
		f.ch <- Update{Data: json.RawMessage(strconv.Quote(s))}
	}
	got := describeEvents(readEvents(t, m, 9))
	want := []string{`"5/a"`, `"6/a"`, `"7/a"`, `{"height":5,"from":7}`, `"5/a"`, `"6/b"`, `{"height":5,"from":6}`, `"6/c"`, `"7/c"`}
	if !cmp.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestSameFeedFillsSkippedHeights: within one feed, heights skipped (the
// node dropped pushes it could not send in time) are filled as a renewal's
// are, or announced by a gap event when they cannot be.
func TestSameFeedFillsSkippedHeights(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{Chain: numberChain{limit: 3, reached: 100}}, up)
	m, _ := h.Join(t.Context(), key, "")
	defer m.Close()
	f := <-up.opened
	for _, v := range []int{5, 6, 9, 20, 21} {
		f.push(v)
	}
	got := describeEvents(readEvents(t, m, 8))
	want := []string{"5", "6", "7", "8", "9", "gap after #5", "20", "21"}
	if !cmp.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
