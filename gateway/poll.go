package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
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
// streams, and in a cluster only the lease holder runs it.

// pollFeed is an emulated subscription. Its goroutine ends when the feed
// is closed or its method fails for good.
type pollFeed struct {
	up    Upstream
	key   subscriptions.Key
	every time.Duration
	event bool // keep only changes, every key.EventCounter of them
	iv    bridge.Interval
	hasIv bool

	ch    chan subscriptions.Update
	stop  chan struct{}
	close sync.Once
	done  chan struct{}
	err   error // set before ch is closed
}

// pollTimeout bounds one call of a poller: at most its interval, at most
// the gateway's call timeout of 10 s.
func pollTimeout(every time.Duration) time.Duration { return min(every, defaultCallTimeout) }

func newPollFeed(up Upstream, k subscriptions.Key, every time.Duration, event bool) (*pollFeed, error) {
	iv, ok, err := bridge.ParseInterval(k.Range)
	if err != nil {
		return nil, err
	}
	f := &pollFeed{up: up, key: k, every: every, event: event, iv: iv, hasIv: ok,
		ch: make(chan subscriptions.Update, 16), stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f, nil
}

func (f *pollFeed) run() {
	defer close(f.done)
	defer close(f.ch)
	t := time.NewTicker(f.every)
	defer t.Stop()
	var last []byte
	changes := 0
	first := true
	for {
		u, ok := f.poll()
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
				f.send(u)
			}
		default:
			if f.inRange(u.Data) {
				f.send(u)
			}
		}
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
	}
}

// poll calls the method once; ok is false on a failure of the transport.
func (f *pollFeed) poll() (subscriptions.Update, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), pollTimeout(f.every))
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
		return toUpdate(f.key.Method, bridge.Push{Err: rpcErr}), true
	case err != nil:
		return subscriptions.Update{}, false
	}
	return toUpdate(f.key.Method, bridge.Push{Results: reply.Results}), true
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
