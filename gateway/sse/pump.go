package sse

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/gateway/sse/hangup"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// fanOutChunk is the most streams one worker writes in a round: above it, a
// topic's streams are written by several workers.
const fanOutChunk = 256

// fanOutWrite bounds each write of the pump. A write into a socket with room
// in its send buffer never waits, whatever the deadline; one that waits is
// to a client already a whole buffer (hundreds of kilobytes) behind, which
// is dropped at once rather than let it hold up the others of its chunk. It
// may resume with Last-Event-ID.
const fanOutWrite = 50 * time.Millisecond

// shutdownWrite bounds the last write to each stream at shutdown: a client
// that cannot take it does not hold the shutdown.
const shutdownWrite = 50 * time.Millisecond

// Config configures a Pump.
type Config struct {
	// RetryHint is the retry: sent to clients. Required.
	RetryHint time.Duration
	// WriteTimeout bounds the first write of a stream (its head).
	// Required.
	WriteTimeout time.Duration
	// Heartbeat is the interval of the keep-alive comments. Required.
	Heartbeat time.Duration
	// Metrics counts the streams and what they delivered. Default:
	// nothing counted.
	Metrics Observer
	// Rights watches the callers' credentials while their streams are
	// open. Nil: nobody's.
	Rights Rights
	// EndData is the data of the end event of a stream that ended with
	// err (its topic's error, or the credential no longer holding), for
	// the request at path: the gateway's problem document. Default: the
	// error's text.
	EndData func(err error, path string) []byte
}

// Observer is what a Pump counts. Implementations are safe for concurrent
// use.
type Observer interface {
	// Opened and Closed count the streams open; Closed is told how long
	// the stream was open.
	Opened()
	Closed(open time.Duration)
	// Delivered adds what a round delivered, and zeroes c.
	Delivered(c *Counts)
}

// Rights watches a caller's credential: lose is called, once, when it no
// longer holds; stop ends the watch.
type Rights interface {
	Watch(caller *auth.Principal, lose func(error)) (stop func())
}

// NopObserver counts nothing.
type NopObserver struct{}

// Opened counts nothing.
func (NopObserver) Opened() {}

// Closed counts nothing.
func (NopObserver) Closed(time.Duration) {}

// Delivered zeroes c, as an Observer must, and counts nothing.
func (NopObserver) Delivered(c *Counts) { *c = Counts{} }

// Stream is a stream that joined its topic, which a Pump may serve.
type Stream struct {
	// Member reads the topic.
	Member *subscriptions.Member
	// Release frees what else the stream holds (its slot); the Pump
	// calls it once, when the stream ends.
	Release func()
	// LastID is the Last-Event-ID the stream resumes after; "" for none.
	LastID string
	// Caller is whose credential the stream ends with.
	Caller *auth.Principal
}

// TakeBatch is the most events one write carries.
const TakeBatch = 256

// Pump writes the events of detached streams. Its methods are safe for
// concurrent use; Shutdown ends every stream and waits for its goroutines.
//
// Lock order: Pump.mu, then group.mu.
type Pump struct {
	cfg Config

	mu      sync.Mutex // guards groups, stopped
	groups  map[string]*group
	stopped bool
	stop    chan struct{}
	wg      sync.WaitGroup // group goroutines and connection watchers
	// hangups tells when a stream's client hangs up, without a
	// goroutine per stream; started with the first stream (set under mu).
	hangups *hangup.Watcher
}

// NewPump returns a Pump.
func NewPump(cfg Config) *Pump {
	if cfg.Metrics == nil {
		cfg.Metrics = NopObserver{}
	}
	if cfg.EndData == nil {
		cfg.EndData = func(err error, _ string) []byte {
			b, _ := json.Marshal(map[string]string{"detail": err.Error()})
			return b
		}
	}
	return &Pump{cfg: cfg, groups: map[string]*group{}, stop: make(chan struct{})}
}

// detached is one stream the pump serves. Its fields but closed are used by
// its group's goroutine only.
type detached struct {
	g       *group
	p       *Pump
	path    string // the request's path, for the end event's problem
	conn    net.Conn
	m       *subscriptions.Member
	release func()
	lastID  string
	resumed bool // resumed with Last-Event-ID and not read yet
	opened  time.Time
	once    sync.Once
	closed  atomic.Bool
	// lost is why the caller's credential no longer holds, set by the
	// rights watcher; the group then ends the stream.
	lost atomic.Pointer[error]
	// unwatch ends the watch of the caller's rights, set before another
	// goroutine can close the stream.
	unwatch func()

	// raw is conn's socket for writeNow, looked up once (rawChecked);
	// nil: conn has none.
	raw        syscall.RawConn
	rawChecked bool

	hangMu sync.Mutex // guards unhang, ended
	// unhang ends the watch of the connection for the client hanging up.
	unhang func()
	ended  bool // closed: a watch set after is ended at once
}

// group is the streams of one topic and the goroutine that writes to them.
type group struct {
	p    *Pump
	name string
	wake chan struct{} // a stream joined

	mu      sync.Mutex // guards streams
	streams map[*detached]struct{}
}

// Detach takes the stream's connection over from net/http, writes the
// response head, and hands the stream to the pump. It reports false, having
// written nothing, when the connection cannot be taken over (HTTP/2); the
// caller then serves the stream itself. On true the pump owns the stream:
// its member, and what Release frees.
func (p *Pump) Detach(w http.ResponseWriter, r *http.Request, js Stream) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	h := w.Header().Clone() // what the middleware set (CORS)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	// No length and no chunking: the body is the connection's life
	// (RFC 9112, 6.3).
	h.Set("Connection", "close")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	_ = h.Write(&head)
	head.WriteString("\r\nretry: ")
	head.WriteString(strconv.FormatInt(p.cfg.RetryHint.Milliseconds(), 10))
	head.WriteString("\n\n")
	if js.Release == nil {
		js.Release = func() {}
	}
	d := &detached{p: p, path: r.URL.Path, conn: conn, m: js.Member, release: js.Release, lastID: js.LastID, resumed: js.LastID != "",
		opened: time.Now(), unwatch: func() {}}
	p.cfg.Metrics.Opened()
	if _, err := d.write(p.cfg.WriteTimeout, head.Bytes()); err != nil || !p.add(d, js.Caller) {
		d.close()
	}
	return true
}

// lose records why the stream's credential no longer holds and wakes its
// group, which alone writes to it: its rightsWatch callback.
func (d *detached) lose(err error) {
	d.lost.Store(&err)
	select {
	case d.g.wake <- struct{}{}:
	default:
	}
}

// add gives a stream to its topic's group, starting the group if needed,
// and has the rights of its caller watched.
func (p *Pump) add(d *detached, caller *auth.Principal) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	if p.hangups == nil {
		p.hangups = hangup.New()
	}
	name := d.m.Topic()
	g, ok := p.groups[name]
	if !ok {
		g = &group{p: p, name: name, wake: make(chan struct{}, 1), streams: map[*detached]struct{}{}}
		p.groups[name] = g
		p.wg.Add(1)
		go g.run()
	}
	d.g = g
	// Before the stream is in its group: from there on, another goroutine
	// may close it, and read d.rights.
	if p.cfg.Rights != nil && caller != nil {
		d.unwatch = p.cfg.Rights.Watch(caller, d.lose)
	}
	g.mu.Lock()
	g.streams[d] = struct{}{}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	d.watchHangup()
	return true
}

// Shutdown ends every detached stream cleanly: the clients reconnect (to
// another instance) after the retry hint, with Last-Event-ID.
func (p *Pump) Shutdown() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	close(p.stop)
	var all []*detached
	for _, g := range p.groups {
		all = append(all, g.snapshot()...)
	}
	p.mu.Unlock()
	for _, d := range all {
		_, _ = d.write(shutdownWrite, []byte(": server shutting down\n\n"))
		d.close()
	}
	p.wg.Wait()
	if p.hangups != nil {
		_ = p.hangups.Close()
	}
}

func (g *group) snapshot() []*detached {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*detached, 0, len(g.streams))
	for d := range g.streams {
		out = append(out, d)
	}
	return out
}

// run writes the topic's events to its streams until it has none left or
// the pump stops.
func (g *group) run() {
	defer g.p.wg.Done()
	heartbeat := time.NewTicker(g.p.cfg.Heartbeat)
	defer heartbeat.Stop()
	// changed is the topic's channel, taken before the last round: an
	// append while the round ran, after some streams were written, closes
	// it, and the next round writes the event to those. (Waiting instead
	// on one member's Ready, after the round, would miss the event for the
	// others when that member happened to take it: a stream would lag one
	// push behind until the next.) Nil until the first stream wakes the
	// group; a stream that joins, with events of its own, wakes it too.
	var changed <-chan struct{}
	for {
		streams := g.snapshot()
		if len(streams) == 0 && g.retire() {
			return
		}
		select {
		case <-g.p.stop:
			return
		case <-g.wake:
		case <-heartbeat.C:
			g.fanOut(streams, (*detached).heartbeat)
			continue
		case <-changed:
		}
		round := g.snapshot()
		if len(round) > 0 {
			changed = round[0].m.Changed()
		}
		// Readers further behind than one batch need more rounds.
		for g.fanOut(round, (*detached).deliver) {
			round = g.snapshot()
		}
	}
}

// retire removes an empty group, unless a stream joined meanwhile.
func (g *group) retire() bool {
	g.p.mu.Lock()
	defer g.p.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.streams) > 0 {
		return false
	}
	delete(g.p.groups, g.name)
	return true
}

// fanOut runs f on every stream, in parallel chunks when there are many,
// and reports whether f reported more to do for any of them.
func (g *group) fanOut(streams []*detached, f func(*detached, *renderCache) bool) bool {
	if len(streams) <= fanOutChunk {
		more := false
		rc := &renderCache{}
		for _, d := range streams {
			more = f(d, rc) || more
		}
		g.p.cfg.Metrics.Delivered(&rc.counts)
		return more
	}
	workers := min(runtime.GOMAXPROCS(0), (len(streams)+fanOutChunk-1)/fanOutChunk)
	var more atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := &renderCache{}
			for i := w; i < len(streams); i += workers {
				if f(streams[i], rc) {
					more.Store(true)
				}
			}
			g.p.cfg.Metrics.Delivered(&rc.counts)
		}()
	}
	wg.Wait()
	return more.Load()
}

// renderCache keeps the rendering of the last batch a worker wrote: the
// streams of a topic mostly get the same events.
type renderCache struct {
	first, last uint64
	text        []byte
	// counts are the worker's deliveries of the round.
	counts Counts
}

func (rc *renderCache) render(b subscriptions.Batch) []byte {
	first, last := b.Events[0].Seq, b.Events[len(b.Events)-1].Seq
	if rc.text == nil || rc.first != first || rc.last != last {
		var buf bytes.Buffer
		AppendBatch(&buf, subscriptions.Batch{Events: b.Events}, "")
		rc.first, rc.last, rc.text = first, last, buf.Bytes()
	}
	return rc.text
}

// deliver writes the stream's next events; it reports whether more wait.
func (d *detached) deliver(rc *renderCache) bool {
	if d.closed.Load() {
		return false
	}
	if why := d.lost.Load(); why != nil {
		d.end(appendEventBytes("", "end", d.p.cfg.EndData(*why, d.path)))
		return false
	}
	b, err := d.m.Take(TakeBatch)
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
		if _, werr := d.writeNow(text); werr != nil {
			if errors.Is(werr, os.ErrDeadlineExceeded) {
				rc.counts.Slow(false)
			}
			d.close()
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
	return len(b.Events) == TakeBatch
}

// heartbeat writes a comment, which keeps proxies from closing an idle
// stream, and finds clients gone.
func (d *detached) heartbeat(rc *renderCache) bool {
	if d.closed.Load() {
		return false
	}
	if _, err := d.writeNow([]byte(": keep-alive\n\n")); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			rc.counts.Slow(false)
		}
		d.close()
	}
	return false
}

// end writes a last event and closes the stream.
func (d *detached) end(text []byte) {
	_, _ = d.write(fanOutWrite, text)
	d.close()
}

// write writes b within timeout, then clears the deadline: writeNow's
// system call must not find it passed.
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

// watchHangup closes the stream when its client hangs up, as the pump's
// hangup.Watcher tells.
func (d *detached) watchHangup() {
	stop, err := d.p.hangups.Watch(d.conn, d.close)
	if err != nil { // the pump is shutting down
		d.close()
		return
	}
	d.hangMu.Lock()
	if d.ended {
		d.hangMu.Unlock()
		stop()
		return
	}
	d.unhang = stop
	d.hangMu.Unlock()
}

// close ends the stream once: the connection, the member, the slot.
func (d *detached) close() {
	d.once.Do(func() {
		d.closed.Store(true)
		d.hangMu.Lock()
		d.ended = true
		unhang := d.unhang
		d.hangMu.Unlock()
		if unhang != nil {
			unhang() // before the close, while the descriptor is the stream's
		}
		_ = d.conn.Close()
		d.m.Close()
		d.unwatch()
		if g := d.g; g != nil {
			g.mu.Lock()
			delete(g.streams, d)
			g.mu.Unlock()
		}
		d.release()
		d.p.cfg.Metrics.Closed(time.Since(d.opened))
	})
}

func appendEventBytes(id, typ string, data []byte) []byte {
	var buf bytes.Buffer
	AppendEvent(&buf, id, typ, data)
	return buf.Bytes()
}
