package auth

import (
	"context"
	"sync"
	"time"
)

// A stream or a socket is authorized when it opens, and then lasts: its
// credential may expire or be revoked meanwhile. So the rights of every
// open stream and socket are checked again, all together, every
// recheckInterval, by one goroutine (Watcher.Run): a server of many idle
// streams keeps no goroutine or timer per stream for it. Anonymous callers
// have nothing to lose and are not watched.

// recheckInterval is how often the rights of open streams and sockets are
// checked again: a stream ends within it of its credential's expiry, and
// within it of the moment the key stores show a revocation (the key file's
// reload, 2s; RedisKeys' cache, 5s).
const recheckInterval = time.Second

// recheckTimeout bounds one round of checks (a Redis round trip per
// thousand keys whose cache is stale).
const recheckTimeout = 2 * time.Second

// watch is one watched stream or socket.
type watch struct {
	p *Principal
	// lost is called once, from the watcher's goroutine, when p's
	// credential no longer holds; it must not block.
	lost func(error)
}

// Watcher checks the rights of open streams and sockets again, all
// together, every second (Run). Its methods are safe for concurrent use.
type Watcher struct {
	recheck func(context.Context, []*Principal, time.Time) []error

	mu      sync.Mutex // guards watches
	watches map[*watch]struct{}
}

// NewWatcher returns a Watcher that checks credentials with recheck
// (Authenticator.Recheck).
func NewWatcher(recheck func(context.Context, []*Principal, time.Time) []error) *Watcher {
	return &Watcher{recheck: recheck, watches: map[*watch]struct{}{}}
}

// add calls lost, once, when p's credential no longer holds, until
// remove. It returns nil for anonymous callers, whom nothing ends.
func (rw *Watcher) add(p *Principal, lost func(error)) *watch {
	if p.Anonymous() {
		return nil
	}
	w := &watch{p: p, lost: lost}
	rw.mu.Lock()
	rw.watches[w] = struct{}{}
	rw.mu.Unlock()
	return w
}

// Watch calls lose, once, from the watcher's goroutine (it must not
// block), when p's credential no longer holds: expired, revoked, or
// narrowed. stop ends the watch. Anonymous callers are not watched.
func (rw *Watcher) Watch(p *Principal, lose func(error)) (stop func()) {
	w := rw.add(p, lose)
	return func() { rw.remove(w) }
}

// remove stops watching w (nil: nothing).
func (rw *Watcher) remove(w *watch) {
	if w == nil {
		return
	}
	rw.mu.Lock()
	delete(rw.watches, w)
	rw.mu.Unlock()
}

// Run checks every watched credential every recheckInterval until ctx
// ends.
func (rw *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(recheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rw.sweep(ctx)
	}
}

// sweep checks every watched credential once, and ends those that no
// longer hold.
func (rw *Watcher) sweep(ctx context.Context) {
	rw.mu.Lock()
	if len(rw.watches) == 0 {
		rw.mu.Unlock()
		return
	}
	ws := make([]*watch, 0, len(rw.watches))
	ps := make([]*Principal, 0, len(rw.watches))
	for w := range rw.watches {
		ws = append(ws, w)
		ps = append(ps, w.p)
	}
	rw.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, recheckTimeout)
	errs := rw.recheck(rctx, ps, time.Now())
	cancel()
	if ctx.Err() != nil {
		return // shutting down: the streams end anyway
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		w := ws[i]
		rw.mu.Lock()
		_, still := rw.watches[w]
		delete(rw.watches, w)
		rw.mu.Unlock()
		if still {
			w.lost(err)
		}
	}
}
