package sse

import (
	"bytes"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// errSlow ends a stream whose client took nothing of what it was sent for
// Config.WriteTimeout.
var errSlow = errors.New("sse: the client takes nothing of its stream")

// detached is one stream the pump serves. Its fields above mu are used by
// its group's goroutine only, but for closed, lost and unwatch; close may
// run on any goroutine (the hang-up watcher's, Shutdown's).
type detached struct {
	g       *group
	p       *Pump
	path    string // the request's path, for the end event's problem
	m       *subscriptions.Member
	release func()
	lastID  string
	resumed bool          // resumed with Last-Event-ID and not read yet
	queued  bool          // in its group's ready list; guarded by the group's mu
	opened  time.Duration // since the pump's epoch
	once    sync.Once
	closed  atomic.Bool
	// lost is why the caller's credential no longer holds, set by the
	// rights watcher; the group then ends the stream.
	lost atomic.Pointer[error]
	// unwatch ends the watch of the caller's rights, set before another
	// goroutine can close the stream.
	unwatch func()

	mu sync.Mutex // guards the fields below
	// fd is the stream's own descriptor of its connection's socket, taken
	// over from net/http (takeOver): written without blocking, watched by
	// the pump's hang-up watcher (watch). -1: closed, or the stream is
	// written through conn.
	fd    int
	watch uint64 // 0: not watched (a watch's id is never 0)
	// pending is what the socket did not take yet, written before
	// anything new; pendingSince is when the socket last took some.
	pending      []byte
	pendingSince time.Duration
	// conn is the connection when its socket could not be taken over
	// (TLS, or no poller on this system): written with a deadline, its
	// hang-up watched through hangup.Watch (unhang ends that watch).
	conn   net.Conn
	unhang func()
	ended  bool // closed: a watch set after is ended at once
}

// takeOver makes the stream write its socket itself, without blocking,
// when the pump's watcher can tell it when its client hangs up: it takes a
// descriptor of its own for the socket and closes conn, which frees Go's
// poller entry and net/http's structures for it. Otherwise the stream
// keeps conn.
func (d *detached) takeOver(conn net.Conn) {
	if w := d.p.watcher(); w != nil && w.Polls() {
		if fd, ok := dupSocket(conn); ok {
			_ = conn.Close() // the socket stays open: fd refers to it
			d.fd = fd
			return
		}
	}
	d.conn = conn
}

// lose records why the stream's credential no longer holds and wakes its
// group, which alone writes to it: its rights watch's callback.
func (d *detached) lose(err error) {
	d.lost.Store(&err)
	d.wake()
}

// wake has the stream's group run a round of this stream.
func (d *detached) wake() { d.g.queue(d) }

// Hangup closes the stream: its client hung up (hangup.Handler).
func (d *detached) Hangup() { d.close() }

// Writable wakes the stream's group, which writes what is pending
// (hangup.Handler).
func (d *detached) Writable() { d.wake() }

// testHookDeliver, when set by a test, is called at each deliver.
var testHookDeliver func()

// deliver writes the stream's next events; it reports whether more wait.
func (d *detached) deliver(rc *renderCache) bool {
	if testHookDeliver != nil {
		testHookDeliver()
	}
	if d.closed.Load() {
		return false
	}
	if why := d.lost.Load(); why != nil {
		d.end(appendEventBytes("", "end", d.p.cfg.EndData(*why, d.path)))
		return false
	}
	// A client that has not taken its last events gets no more until it
	// has: they wait in the topic's log, shared, rather than here.
	if blocked, err := d.flush(); err != nil || blocked {
		if err != nil {
			d.fail(err, rc)
		}
		return false
	}
	b, err := d.m.TakeAppend(rc.events[:0], TakeBatch, TakeBytes)
	rc.events = b.Events
	if b.Gap && !d.resumed {
		// A live reader fell out of the retention: it is too slow. It is
		// dropped; it may resume.
		d.end(appendEventBytes("", "gap", GapData(d.lastID)))
		rc.counts.Slow(true)
		return false
	}
	d.resumed = false
	if len(b.Events) > 0 || b.Gap || b.Lost {
		var text []byte
		if b.Gap || b.Lost {
			var buf bytes.Buffer
			AppendBatch(&buf, b, d.lastID)
			text = buf.Bytes()
		} else {
			text = rc.render(b)
		}
		if werr := d.send(text); werr != nil {
			d.fail(werr, rc)
			return false
		}
		rc.counts.Batch(b)
		if n := len(b.Events); n > 0 {
			d.lastID = b.Events[n-1].ID
		}
	}
	if err != nil {
		d.end(appendEventBytes("", "end", d.p.cfg.EndData(err, d.path)))
		return false
	}
	return b.More
}

// heartbeat writes a comment, which keeps proxies from closing an idle
// stream, and finds clients gone.
func (d *detached) heartbeat(rc *renderCache) bool {
	if d.closed.Load() {
		return false
	}
	blocked, err := d.flush()
	if err == nil && !blocked {
		err = d.send([]byte(": keep-alive\n\n"))
	}
	if err != nil {
		d.fail(err, rc)
	}
	return false
}

// fail closes a stream whose write failed, counting a client too slow.
func (d *detached) fail(err error, rc *renderCache) {
	if errors.Is(err, errSlow) || errors.Is(err, os.ErrDeadlineExceeded) {
		rc.counts.Slow(false)
	}
	d.close()
}

// end writes a last event and closes the stream.
func (d *detached) end(text []byte) {
	_ = d.sendWithin(fanOutWrite, text)
	d.close()
}

// send writes b after what is pending, as a fan-out round does: to the
// socket without blocking, what it does not take kept for later; through
// conn within fanOutWrite.
func (d *detached) send(b []byte) error { return d.sendWithin(fanOutWrite, b) }

// sendWithin is send, through conn within timeout.
func (d *detached) sendWithin(timeout time.Duration, b []byte) error {
	if d.conn != nil { // set before the stream is shared, never changed
		_, err := d.write(timeout, b)
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return net.ErrClosed
	}
	return d.sendFD(b)
}

// flush writes what is pending; blocked reports that some still is. A
// client that took nothing of it for Config.WriteTimeout is errSlow.
func (d *detached) flush() (blocked bool, err error) {
	if d.conn != nil {
		return false, nil // writes through conn leave nothing pending
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.pending) == 0 {
		return false, nil
	}
	if d.fd < 0 {
		return false, net.ErrClosed
	}
	if err := d.sendFD(nil); err != nil {
		return false, err
	}
	if len(d.pending) > 0 && d.p.now()-d.pendingSince > d.p.cfg.WriteTimeout {
		return true, errSlow
	}
	return len(d.pending) > 0, nil
}

// keep keeps what the socket did not take of pending then b, after n bytes
// were written: pending and then b.
func (d *detached) keep(n int, b []byte) {
	if n > 0 || len(d.pending) == 0 {
		d.pendingSince = d.p.now()
	}
	if k := len(d.pending); k > 0 {
		if n < k {
			d.pending = append(d.pending[:0], d.pending[n:]...)
			n = 0
		} else {
			d.pending = d.pending[:0]
			n -= k
		}
	}
	// b is the round's rendering, shared by the topic's streams: copied.
	d.pending = append(d.pending, b[n:]...)
	if len(d.pending) == 0 {
		d.pending = nil // a stream that caught up holds no buffer
	}
}

// write writes b through conn within timeout, then clears the deadline.
func (d *detached) write(timeout time.Duration, b []byte) (int, error) {
	if err := d.conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return 0, err
	}
	n, err := d.conn.Write(b)
	if err == nil {
		err = d.conn.SetWriteDeadline(time.Time{})
	}
	return n, err
}

// watchHangup has the pump's watcher tell when the stream's client hangs
// up, and, for a socket written without blocking, when it has room again.
func (d *detached) watchHangup() {
	w := d.p.hangups
	d.mu.Lock()
	if d.ended {
		d.mu.Unlock()
		return
	}
	if d.conn == nil {
		id, err := w.WatchSocket(d.fd, d)
		if err == nil {
			d.watch = id
		}
		d.mu.Unlock()
		if err != nil { // the pump is shutting down
			d.close()
		}
		return
	}
	d.mu.Unlock()
	stop, err := w.Watch(d.conn, d.close)
	if err != nil { // the pump is shutting down
		d.close()
		return
	}
	d.mu.Lock()
	if d.ended {
		d.mu.Unlock()
		stop()
		return
	}
	d.unhang = stop
	d.mu.Unlock()
}

// close ends the stream once: the socket (or connection), the member, the
// slot.
func (d *detached) close() {
	d.once.Do(func() {
		d.closed.Store(true)
		d.mu.Lock()
		d.ended = true
		if d.fd >= 0 {
			if d.watch != 0 {
				// Before the close, while the descriptor is the stream's.
				d.p.hangups.Unwatch(d.watch, d.fd)
			}
			closeFD(d.fd)
			d.fd = -1
		}
		d.pending = nil
		unhang := d.unhang
		d.mu.Unlock()
		if unhang != nil {
			unhang() // before the close, while the descriptor is the stream's
		}
		if d.conn != nil {
			_ = d.conn.Close()
		}
		d.m.Close()
		d.unwatch()
		if g := d.g; g != nil {
			g.mu.Lock()
			delete(g.streams, d)
			g.mu.Unlock()
		}
		d.release()
		d.p.cfg.Metrics.Closed(d.p.now() - d.opened)
	})
}

func appendEventBytes(id, typ string, data []byte) []byte {
	var buf bytes.Buffer
	AppendEvent(&buf, id, typ, data)
	return buf.Bytes()
}
