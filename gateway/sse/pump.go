package sse

import (
	"bytes"
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/gateway/sse/hangup"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// fanOutChunk is the most streams one worker writes in a round: above it, a
// topic's streams are written by several workers.
const fanOutChunk = 256

// fanOutWrite bounds each write of a stream the pump cannot write without
// blocking (its connection's socket could not be taken over: TLS). A write
// into a socket with room in its send buffer never waits, whatever the
// deadline; one that waits is to a client already a whole buffer (hundreds
// of kilobytes) behind, which is dropped at once rather than let it hold up
// the others of its chunk. It may resume with Last-Event-ID.
const fanOutWrite = 50 * time.Millisecond

// shutdownWrite bounds the last write to each stream at shutdown: a client
// that cannot take it does not hold the shutdown.
const shutdownWrite = 50 * time.Millisecond

// Config configures a Pump.
type Config struct {
	// RetryHint is the retry: sent to clients. Required.
	RetryHint time.Duration
	// WriteTimeout bounds how long a stream waits for its client to take
	// what it was sent: the head, or what its socket did not take at once.
	// A client that takes nothing for that long is dropped as too slow.
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

// TakeBytes bounds the data of the events one write carries, unless a
// single event has more: a stream whose client does not read keeps what
// its socket did not take of one write, so 100 streams of one client hold
// at most 3 MiB.
const TakeBytes = 32 << 10

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
	// hangups tells when a stream's client hangs up, and when its socket
	// has room again, without a goroutine per stream; started with the
	// first stream (set under mu).
	hangups *hangup.Watcher
	// epoch is what the streams' times count from: a Duration is 8 bytes
	// a stream, a time.Time 24.
	epoch time.Time
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
	return &Pump{cfg: cfg, groups: map[string]*group{}, stop: make(chan struct{}), epoch: time.Now()}
}

// now is the time since the pump's epoch.
func (p *Pump) now() time.Duration { return time.Since(p.epoch) }

// watcher returns the pump's hang-up watcher, started at the first call;
// nil once the pump stopped.
func (p *Pump) watcher() *hangup.Watcher {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return nil
	}
	if p.hangups == nil {
		p.hangups = hangup.New()
	}
	return p.hangups
}

// group is the streams of one topic and the goroutine that writes to them.
type group struct {
	p    *Pump
	name string
	wake chan struct{} // ready has a stream

	mu      sync.Mutex // guards streams, ready and the streams' queued
	streams map[*detached]struct{}
	// ready are the streams that need a round of their own: one that
	// joined (its first events), whose socket has room again, or whose
	// caller lost its rights. A round of the whole topic is for its
	// events; one stream's business costs a round of that stream only.
	ready []*detached
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
	d := &detached{p: p, path: strings.Clone(r.URL.Path), fd: -1, m: js.Member, release: js.Release, lastID: js.LastID,
		resumed: js.LastID != "", opened: p.now(), unwatch: func() {}}
	p.cfg.Metrics.Opened()
	d.takeOver(conn)
	if err := d.sendWithin(p.cfg.WriteTimeout, head.Bytes()); err != nil || !p.add(d, js.Caller) {
		d.close()
	}
	return true
}

// add gives a stream to its topic's group, starting the group if needed,
// and has the rights of its caller watched.
func (p *Pump) add(d *detached, caller *auth.Principal) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
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
	// may close it, and read d.unwatch. Anonymous callers have nothing to
	// lose.
	if p.cfg.Rights != nil && caller != nil && !caller.Anonymous() {
		d.unwatch = p.cfg.Rights.Watch(caller, d.lose)
	}
	g.mu.Lock()
	g.streams[d] = struct{}{}
	g.mu.Unlock()
	d.wake()
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
		_ = d.sendWithin(shutdownWrite, []byte(": server shutting down\n\n"))
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

// empty reports whether the group has no stream left.
func (g *group) empty() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.streams) == 0
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
	// group; a stream that joins, with events of its own, has a round of
	// its own (the ready list).
	var changed <-chan struct{}
	for {
		if g.empty() && g.retire() {
			return
		}
		select {
		case <-g.p.stop:
			return
		case <-g.wake:
			for ready := g.takeReady(); len(ready) > 0; ready = g.takeReady() {
				if changed == nil {
					// The first stream: from now on, the topic's
					// events wake the group.
					changed = ready[0].m.Changed()
				}
				for g.fanOut(ready, (*detached).deliver) {
				}
			}
			continue
		case <-heartbeat.C:
			g.fanOut(g.snapshot(), (*detached).heartbeat)
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

// queue puts d in the ready list, once, and wakes the group.
func (g *group) queue(d *detached) {
	g.mu.Lock()
	if !d.queued {
		d.queued = true
		g.ready = append(g.ready, d)
	}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// takeReady empties the ready list and returns what it had.
func (g *group) takeReady() []*detached {
	g.mu.Lock()
	defer g.mu.Unlock()
	ready := g.ready
	g.ready = nil
	for _, d := range ready {
		d.queued = false
	}
	return ready
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
	// events is the worker's batch, taken for one stream after another
	// into the same array.
	events []subscriptions.Event
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
