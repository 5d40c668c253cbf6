package e2e

import (
	"context"
	"encoding/json"
	"testing"
)

// TestClusterNewHeaders reads the newHeaders stream on two instances
// sharing Redis: one topic lease, and every client, whichever instance it
// reads, gets the same events (the same ID, the same decoded header) for
// consecutive heights.
func TestClusterNewHeaders(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2)
	ctx, cancel := context.WithCancel(t.Context())
	var cs []*followingClient
	var waits []func()
	for i := range 4 {
		fc, wait := follow(ctx, c.bases(), "/rpc/newHeaders/stream?chainId=2", i%len(c.Gateways), 0)
		cs = append(cs, fc)
		waits = append(waits, wait)
	}
	defer func() {
		cancel()
		for _, w := range waits {
			w()
		}
	}()
	if err := waitStreaming(t.Context(), cs, 6); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.lease(t.Context()); err != nil {
		t.Fatal(err)
	}
	byID := map[string]string{}
	for i, fc := range cs {
		var last int64 = -1
		for _, ev := range fc.events() {
			var h struct {
				Hash   string
				Height *int64
			}
			if err := json.Unmarshal([]byte(ev.Data), &h); err != nil || h.Height == nil || h.Hash == "" || ev.Type != "" {
				t.Fatalf("client %d: event %s %q: not a header", i, ev.ID, ev.Data)
			}
			if last >= 0 && *h.Height != last+1 {
				t.Errorf("client %d: height %d after %d", i, *h.Height, last)
			}
			last = *h.Height
			if other, ok := byID[ev.ID]; ok && other != ev.Data {
				t.Errorf("event %s differs between clients:\n%s\n%s", ev.ID, other, ev.Data)
			}
			byID[ev.ID] = ev.Data
		}
	}
}
