package subscriptions

import (
	"strconv"
	"testing"
	"time"
)

// TestAlign lines tapes up with logs as a new holder does: what the tape
// has beyond the log's last push is appended, nothing the log has is
// appended twice.
func TestAlign(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	// log builds a log's tail of pushes of the values given ("gap" is a
	// gap event), one a second from t0.
	log := func(vals ...string) []Event {
		var out []Event
		for i, v := range vals {
			e := Event{ID: FormatID(t0.Add(time.Duration(i)*time.Second).UnixMilli(), uint64(i+1)), Type: TypePush, Data: []byte(v)}
			if v == "gap" {
				e.Type, e.Data = TypeGap, []byte(`{}`)
			}
			out = append(out, e)
		}
		return out
	}
	// tape builds tape entries of the values given, received one a second
	// from t0 plus offset.
	tape := func(offset time.Duration, vals ...string) []tapeEntry {
		var out []tapeEntry
		for i, v := range vals {
			out = append(out, tapeEntry{u: Update{Type: TypePush, Data: []byte(v)}, at: t0.Add(offset + time.Duration(i)*time.Second)})
		}
		return out
	}
	events := Key{Method: "m", EventCounter: 1}
	period := Key{Method: "m", Period: 1}
	for _, tc := range []struct {
		name    string
		key     Key
		tail    []Event
		entries []tapeEntry
		first   uint64
		fresh   bool
		want    alignment
	}{
		{"empty log, fresh tape: all of it", events, nil, tape(0, "1", "2"), 0, true, alignment{start: 0, exact: true}},
		{"empty log, empty tape", events, nil, nil, 5, false, alignment{start: 5, exact: true}},
		{"empty log, standby's tape: the current state", events, nil, tape(0, "1", "2", "3"), 10, false, alignment{start: 12, exact: true}},
		{"only a gap in the log: as empty", events, log("gap"), tape(0, "1", "2"), 0, false, alignment{start: 1, exact: true}},
		{"tape ahead of the log", events, log("1", "2", "3"), tape(0, "1", "2", "3", "4", "5"), 0, false, alignment{start: 3, exact: true}},
		{"tape level with the log", events, log("1", "2", "3"), tape(0, "1", "2", "3"), 0, false, alignment{start: 3, exact: true}},
		{"numbering carries on", events, log("1", "2"), tape(0, "1", "2", "3"), 40, false, alignment{start: 42, exact: true}},
		{"gap events of the log are skipped", events, log("1", "2", "gap"), tape(0, "1", "2", "3"), 0, false, alignment{start: 2, exact: true}},
		{"a value that came back is not the log's last push", events, log("A", "B", "A"), tape(0, "B", "A", "B", "A", "C"), 0, false, alignment{start: 4, exact: true}},
		{"tape behind: it has an earlier push only", events, log("1", "2", "3"), tape(0, "1", "2"), 0, false, alignment{start: 2, behind: true}},
		{"nothing in common: what came after the log's last push", events, log("1", "2"), tape(1500*time.Millisecond, "7", "8"), 0, false, alignment{start: 0}},
		{"nothing in common, all older", events, log("1", "2", "3"), tape(-10*time.Second, "7", "8"), 0, false, alignment{start: 2}},
		{"period: ticks after the log's last", period, log("1", "2"), tape(500*time.Millisecond, "1", "2", "3"), 0, false, alignment{start: 1}},
		{"period: none after", period, log("1", "2"), tape(-5*time.Second, "1"), 3, false, alignment{start: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := align(tc.key, tc.tail, tc.entries, tc.first, tc.fresh); got != tc.want {
				t.Errorf("align = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestTapeKeepsTheLast records past a tape's size: the oldest go, the
// numbering goes on, and since reports where what it returns starts.
func TestTapeKeepsTheLast(t *testing.T) {
	tp := newTape(4)
	for i := range 23 {
		tp.record(tapeEntry{u: Update{Type: TypePush, Data: []byte(strconv.Itoa(i))}})
	}
	if n := tp.next(); n != 23 {
		t.Fatalf("next = %d, want 23", n)
	}
	entries, first, _ := tp.since(0)
	if first+uint64(len(entries)) != 23 || len(entries) < 4 || len(entries) > 8 {
		t.Fatalf("since(0): %d entries from %d, want the last 4 to 8 of 23", len(entries), first)
	}
	for i, en := range entries {
		if want := strconv.Itoa(int(first) + i); string(en.u.Data) != want {
			t.Fatalf("entry %d is %s, want %s", int(first)+i, en.u.Data, want)
		}
	}
	if entries, first, _ := tp.since(21); first != 21 || len(entries) != 2 {
		t.Errorf("since(21): %d entries from %d, want 2 from 21", len(entries), first)
	}
	if entries, first, _ := tp.since(30); first != 23 || len(entries) != 0 {
		t.Errorf("since(30): %d entries from %d, want none from 23", len(entries), first)
	}
}
