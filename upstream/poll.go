package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// A subscription the gateway emulates by calling its method (pollFeed):
//
//   - a period subscription, always: at its period, whatever the
//     upstream's own cadence (a Java module pushes every ~6 s whatever the
//     period; a Nulstar Connector never pushes);
//   - an event subscription, when Feeds.PollEvents is set (an upstream that
//     cannot push): every PollEvents, keeping only the answers that differ
//     from the last one (D21), every EventCounter of them.
//
// The first answer is sent at once (D10, D11), the range filters the
// others (D12). One poller per topic: the hub shares it among the
// streams, and in a cluster only the lease holder runs it (and the
// standby, for its record).
//
// A poller calls nobody's method: while its topic has no reader (the grace
// period after the last one left, on every instance), the hub pauses it
// (subscriptions.Pausable). Resumed, it calls again at once if a period
// has passed since its last call, else when it has: never more often than
// its period. An event poller's first change after a pause that skipped
// calls is marked Gap, since changes between may have been missed (the
// hub then writes a gap event first); a period poller's readers get its
// next answer, the state then, as after any period.

// pollFeed is an emulated subscription. Its goroutine ends when the feed
// is closed or its method fails for good.
type pollFeed struct {
	up      Upstream
	timeout time.Duration // of one call: at most the period, at most Feeds.CallTimeout
	render  func(method string, err error) json.RawMessage
	key     subscriptions.Key
	every   time.Duration
	event   bool // keep only changes, every key.EventCounter of them
	iv      bridge.Interval
	hasIv   bool

	ch    chan subscriptions.Update
	stop  chan struct{}
	close sync.Once
	done  chan struct{}
	err   error // set before ch is closed
	// paused is set while the hub pauses the poller; wake tells the
	// poller it changed.
	paused atomic.Bool
	wake   chan struct{}
}

func newPollFeed(fs Feeds, k subscriptions.Key, every time.Duration, event bool) (*pollFeed, error) {
	iv, ok, err := bridge.ParseInterval(k.Range)
	if err != nil {
		return nil, err
	}
	f := &pollFeed{up: fs.Upstream, timeout: min(every, fs.CallTimeout), render: fs.RenderError, key: k, every: every, event: event, iv: iv, hasIv: ok,
		ch: make(chan subscriptions.Update, 16), stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go f.run()
	return f, nil
}

// Pause implements subscriptions.Pausable.
func (f *pollFeed) Pause(paused bool) {
	f.paused.Store(paused)
	select {
	case f.wake <- struct{}{}:
	default: // a wake is already due
	}
}

// waitResumed waits while the poller is paused; false when it is closed.
func (f *pollFeed) waitResumed() bool {
	for f.paused.Load() {
		select {
		case <-f.stop:
			return false
		case <-f.wake:
		}
	}
	return true
}

func (f *pollFeed) run() {
	defer close(f.done)
	defer close(f.ch)
	// A timer rather than a ticker: a pause stops it, and a resume sets it
	// to a period after the last call.
	t := time.NewTimer(0)
	defer t.Stop()
	var last []byte
	var lastCall time.Time
	changes := 0
	first, skipped := true, false
	// pause waits out a pause; false when the feed is closed.
	pause := func() bool {
		t.Stop()
		if !f.waitResumed() {
			return false
		}
		skipped = skipped || time.Since(lastCall) > f.every
		t.Reset(time.Until(lastCall.Add(f.every)))
		return true
	}
	for {
		select {
		case <-f.stop:
			return
		case <-f.wake:
			if f.paused.Load() && !pause() {
				return
			}
			continue
		case <-t.C:
		}
		if f.paused.Load() {
			if !pause() {
				return
			}
			continue
		}
		lastCall = time.Now()
		u, ok := f.poll()
		gap := false
		if ok {
			gap, skipped = skipped, false
		}
		switch {
		case !ok:
			// A transport failure (the upstream away): the next tick
			// tries again.
		case u.Final:
			f.err = u.Err
			f.send(u)
			return
		case first || u.Type == subscriptions.TypeError:
			f.send(u)
			first = false
			last = u.Data
		case f.event:
			if bytes.Equal(u.Data, last) {
				break // no change: not an event
			}
			last = u.Data
			if changes++; changes%max(f.key.EventCounter, 1) == 0 && f.inRange(u.Data) {
				u.Gap = gap
				f.send(u)
			}
		default:
			if f.inRange(u.Data) {
				f.send(u)
			}
		}
		t.Reset(time.Until(lastCall.Add(f.every)))
	}
}

// poll calls the method once; ok is false on a failure of the transport.
func (f *pollFeed) poll() (subscriptions.Update, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	go func() {
		select {
		case <-f.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	reply, err := f.up.Call(ctx, []bridge.MethodCall{{Method: f.key.Method, Params: json.RawMessage(f.key.Params)}})
	var rpcErr *bridge.RPCError
	switch {
	case errors.As(err, &rpcErr):
		return toUpdate(f.key.Method, bridge.Push{Err: rpcErr}, f.render), true
	case err != nil:
		return subscriptions.Update{}, false
	}
	return toUpdate(f.key.Method, bridge.Push{Results: reply.Results}, f.render), true
}

func (f *pollFeed) send(u subscriptions.Update) {
	select {
	case f.ch <- u:
	case <-f.stop:
	}
}

// inRange applies the subscription's range (D12) to a result: the number
// itself, or its value field.
func (f *pollFeed) inRange(data json.RawMessage) bool {
	if !f.hasIv {
		return true
	}
	var v struct {
		Value json.Number `json:"value"`
	}
	s := string(bytes.TrimSpace(data))
	if json.Unmarshal(data, &v) == nil && v.Value != "" {
		s = v.Value.String()
	}
	x, err := strconv.ParseFloat(s, 64)
	return err == nil && f.iv.Contains(x)
}

func (f *pollFeed) Updates() <-chan subscriptions.Update { return f.ch }

func (f *pollFeed) Err() error {
	select {
	case <-f.done:
		return f.err
	default:
		return nil
	}
}

// Close stops the poller.
func (f *pollFeed) Close() error {
	f.close.Do(func() { close(f.stop) })
	<-f.done
	return nil
}
