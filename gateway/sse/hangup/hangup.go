package hangup

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// ErrClosed is the error of a watch asked for after Close.
var ErrClosed = errors.New("hangup: watcher closed")

// errNoPoller is WatchSocket's error where the system has no poller.
var errNoPoller = errors.New("hangup: no poller on this system")

// Handler is told what happens to a watched socket. Its methods are called
// from the Watcher's goroutine and must not block.
type Handler interface {
	// Hangup: the client hung up, reset the connection or sent
	// something. The watch has ended; called at most once.
	Hangup()
	// Writable: the socket has room again in its send buffer, after a
	// write it did not take whole. Only for WatchSocket's watches.
	Writable()
}

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

// Polls reports whether the Watcher has a poller: whether WatchSocket can
// watch a socket.
func (w *Watcher) Polls() bool { return w.poller != nil }

// WatchSocket watches the socket fd, which the caller owns and writes to
// without blocking: h.Hangup when its client hangs up or sends anything,
// h.Writable when its send buffer has room again. The watch's id is never
// 0. Call Unwatch before closing fd.
func (w *Watcher) WatchSocket(fd int, h Handler) (id uint64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if w.poller == nil {
		return 0, errNoPoller
	}
	id, ok := w.poller.add(fd, h, true)
	if !ok {
		return 0, ErrClosed // the poller ended, or fd is not a socket
	}
	return id, nil
}

// Unwatch ends the watch id of the socket fd, which is still open: after
// it returns, h is not told anything new (a call under way may finish).
func (w *Watcher) Unwatch(id uint64, fd int) {
	if w.poller != nil {
		w.poller.del(id, fd)
	}
}

// hangupFunc is a Handler told of the hang-up only.
type hangupFunc func()

func (f hangupFunc) Hangup()   { f() }
func (f hangupFunc) Writable() {}

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
		if stop, ok := w.watchConn(c, onHangup); ok {
			return stop, nil
		}
	}
	return w.reader(c, onHangup), nil
}

// watchConn has the poller watch c's socket, through its RawConn.
func (w *Watcher) watchConn(c net.Conn, onHangup func()) (stop func(), ok bool) {
	sc, isSys := c.(syscall.Conn)
	if !isSys {
		return nil, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	var id uint64
	if err := raw.Control(func(fd uintptr) {
		id, ok = w.poller.add(int(fd), hangupFunc(onHangup), false)
	}); err != nil || !ok {
		return nil, false
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = raw.Control(func(fd uintptr) { w.poller.del(id, int(fd)) })
		})
	}, true
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
