package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
)

// A stream or a socket is authorized when it opens, and then lasts: its
// credential may expire or be revoked meanwhile. So the rights of every
// open stream and socket are checked again, all together, every
// recheckInterval, by one goroutine: the pump serves idle streams without
// a goroutine or a timer each, and keeps doing so. Anonymous callers have
// nothing to lose and are not watched.

// recheckInterval is how often the rights of open streams and sockets are
// checked again: a stream ends within it of its credential's expiry, and
// within it of the moment the key stores show a revocation (the key file's
// reload, 2s; RedisKeys' cache, 5s).
const recheckInterval = time.Second

// recheckTimeout bounds one round of checks (a Redis round trip per
// thousand keys whose cache is stale).
const recheckTimeout = 2 * time.Second

// rightsWatch is one watched stream or socket.
type rightsWatch struct {
	p *auth.Principal
	// lost is called once, from the watcher's goroutine, when p's
	// credential no longer holds; it must not block.
	lost func(error)
}

// rightsWatcher checks the rights of open streams and sockets again.
type rightsWatcher struct {
	recheck func(context.Context, []*auth.Principal, time.Time) []error

	mu      sync.Mutex // guards watches
	watches map[*rightsWatch]struct{}
}

func newRightsWatcher(recheck func(context.Context, []*auth.Principal, time.Time) []error) *rightsWatcher {
	return &rightsWatcher{recheck: recheck, watches: map[*rightsWatch]struct{}{}}
}

// watch calls lost, once, when p's credential no longer holds, until
// unwatch. It returns nil for anonymous callers, whom nothing ends.
func (rw *rightsWatcher) watch(p *auth.Principal, lost func(error)) *rightsWatch {
	if p.Anonymous() {
		return nil
	}
	w := &rightsWatch{p: p, lost: lost}
	rw.mu.Lock()
	rw.watches[w] = struct{}{}
	rw.mu.Unlock()
	return w
}

// Watch implements sse.Rights.
func (rw *rightsWatcher) Watch(p *auth.Principal, lose func(error)) (stop func()) {
	w := rw.watch(p, lose)
	return func() { rw.unwatch(w) }
}

// unwatch stops watching w (nil: nothing).
func (rw *rightsWatcher) unwatch(w *rightsWatch) {
	if w == nil {
		return
	}
	rw.mu.Lock()
	delete(rw.watches, w)
	rw.mu.Unlock()
}

// run checks every recheckInterval until ctx ends.
func (rw *rightsWatcher) run(ctx context.Context) {
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
func (rw *rightsWatcher) sweep(ctx context.Context) {
	rw.mu.Lock()
	if len(rw.watches) == 0 {
		rw.mu.Unlock()
		return
	}
	ws := make([]*rightsWatch, 0, len(rw.watches))
	ps := make([]*auth.Principal, 0, len(rw.watches))
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
