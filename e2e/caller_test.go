package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// call is one POST /rpc/latestHeight a caller made.
type call struct {
	At       time.Time // when it was sent
	Took     time.Duration
	Instance int
	Status   int   // 0 when no answer came
	Err      error // the transport's error, if any
	Body     string
}

// caller posts latestHeight to the instances in turn, a call every
// interval whether or not the previous ones have answered (a stalled call
// holds up no other), and records every answer.
type caller struct {
	mu    sync.Mutex // guards calls
	calls []call
}

// startCaller calls until ctx ends; wait for it and its calls with the
// returned function.
func startCaller(ctx context.Context, bases []string, every time.Duration) (*caller, func()) {
	c := &caller{}
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			inst := i % len(bases)
			wg.Go(func() {
				start := time.Now()
				cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				defer cancel()
				a, err := post(cctx, bases[inst]+"/rpc/latestHeight", `{"chainId":2}`)
				if ctx.Err() != nil {
					return
				}
				c.mu.Lock()
				defer c.mu.Unlock()
				c.calls = append(c.calls, call{At: start, Took: time.Since(start), Instance: inst, Status: a.Status, Err: err, Body: string(a.Body)})
			})
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return c, wg.Wait
}

// between returns the calls sent in [from, to).
func (c *caller) between(from, to time.Time) []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []call
	for _, k := range c.calls {
		if !k.At.Before(from) && k.At.Before(to) {
			out = append(out, k)
		}
	}
	return out
}

// statuses counts calls by status ("err" for no answer).
func statuses(calls []call) string {
	n := map[string]int{}
	for _, k := range calls {
		s := fmt.Sprint(k.Status)
		if k.Err != nil {
			s = "err"
		}
		n[s]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ""
	for _, k := range keys {
		out += fmt.Sprintf("%s×%d ", k, n[k])
	}
	return out
}

// slowest returns the longest a call took.
func slowest(calls []call) time.Duration {
	var d time.Duration
	for _, k := range calls {
		d = max(d, k.Took)
	}
	return d
}
