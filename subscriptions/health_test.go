package subscriptions

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestPushPathStalled: when a push path counts as wedged.
func TestPushPathStalled(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	period := &Key{Method: "getBalance", Period: 2}
	events := &Key{Method: "latestHeight", EventCounter: 1}
	for _, tc := range []struct {
		name                     string
		k                        *Key
		subscribed, fed, pending int64
		want                     string // a part of the error; "" for none
	}{
		{"period, on time", period, ago(time.Minute), ago(time.Second), 0, ""},
		{"period, late but within twice its period and the slack", period, ago(time.Minute), ago(8 * time.Second), 0, ""},
		{"period, silent", period, ago(time.Minute), ago(10 * time.Second), 0, "no push for 10s from a subscription every 2s"},
		{"period, never delivered", period, ago(10 * time.Second), 0, 0, "no push for 10s"},
		{"period, just subscribed", period, ago(time.Second), 0, 0, ""},
		{"period, not subscribed here (a mirror)", period, 0, ago(time.Hour), 0, ""},
		{"event subscription, silent: nothing to tell", events, ago(time.Hour), ago(time.Hour), 0, ""},
		{"a push waiting a moment", events, ago(time.Minute), ago(time.Second), ago(time.Second), ""},
		{"a push waiting too long", events, ago(time.Minute), ago(time.Second), ago(6 * time.Second), "waited 6s to be appended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p pushPath
			p.subscribed.Store(tc.subscribed)
			p.fed.Store(tc.fed)
			p.pending.Store(tc.pending)
			err := p.stalled(tc.k, now)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("stalled = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("stalled = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestHubStalled: the hub reports a period subscription that stopped
// delivering, and stops reporting it when it delivers again.
func TestHubStalled(t *testing.T) {
	t.Parallel()
	up := newFakeUpstream()
	h := startHub(t, Config{}, up)
	k := Key{Method: "getBalance", Period: 1}
	m, err := h.Join(context.Background(), k, "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	f := <-up.opened
	f.ch <- Update{Type: TypePush, Data: json.RawMessage(`1`)}
	waitFor(t, "the first push", func() bool { b, _ := m.Take(10); return len(b.Events) > 0 })
	if err := h.Stalled(); err != nil {
		t.Fatalf("Stalled with a subscription on time: %v", err)
	}

	// Make its last push 10 s old, as if the node had stopped pushing.
	tp, _, _ := h.topicFor(k.Topic(), &k)
	tp.path.fed.Store(time.Now().Add(-10 * time.Second).UnixNano())
	tp.path.subscribed.Store(time.Now().Add(-time.Minute).UnixNano())
	err = h.Stalled()
	if err == nil || !strings.Contains(err.Error(), "getBalance") || !strings.Contains(err.Error(), "no push for 10s") {
		t.Fatalf("Stalled = %v, want getBalance's silence", err)
	}

	f.ch <- Update{Type: TypePush, Data: json.RawMessage(`2`)}
	waitFor(t, "the topic fed again", func() bool { return h.Stalled() == nil })
}
