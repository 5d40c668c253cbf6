package hangup

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// ErrClosed is Watch's error after Close.
var ErrClosed = errors.New("hangup: watcher closed")

// Watcher watches connections for their clients hanging up.
type Watcher struct {
	poller poller // nil: a goroutine per connection

	mu     sync.Mutex // guards closed, wg.Add
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// New returns a Watcher, with its goroutine running where the system has a
// poller for it; without one, each watch is a goroutine reading its
// connection.
func New() *Watcher {
	w := &Watcher{done: make(chan struct{})}
	p, err := newPoller()
	if err != nil {
		p = nil // no poller (out of descriptors): a reading goroutine per watch
	}
	w.poller = p
	if p != nil {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			p.run()
		}()
	}
	return w
}

// Watch calls onHangup once when c's client hangs up or sends anything. stop
// ends the watch; call it before closing c. A connection that is not a
// socket of this system's poller is watched by a goroutine reading it.
func (w *Watcher) Watch(c net.Conn, onHangup func()) (stop func(), err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, ErrClosed
	}
	if w.poller != nil {
		if stop, ok := w.poller.add(c, onHangup); ok {
			return stop, nil
		}
	}
	return w.reader(c, onHangup), nil
}

// reader is the fallback: a goroutine blocked in a read of c, which ends
// when c's client hangs up or c is closed (the owner closes it after stop).
func (w *Watcher) reader(c net.Conn, onHangup func()) (stop func()) {
	var done atomic.Bool
	go func() {
		var b [1]byte
		_, _ = c.Read(b[:])
		if done.CompareAndSwap(false, true) {
			onHangup()
		}
	}()
	return func() { done.Store(true) }
}

// Close stops watching every connection (none is told) and waits for the
// poller's goroutine. The connections stay open; a fallback goroutine ends
// with its connection.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.done)
	w.mu.Unlock()
	var err error
	if w.poller != nil {
		err = w.poller.close()
	}
	w.wg.Wait()
	return err
}

// Watching returns how many connections the poller watches (the fallback's
// are not counted).
func (w *Watcher) Watching() int {
	if w.poller == nil {
		return 0
	}
	return w.poller.len()
}
