package streams

import (
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/nuls-gateway/nuls-gateway/gateway/sse"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// serve copies a hub member to the client until the client leaves, the
// server shuts down, or the topic ends.
//
// Its goroutine's stack is most of a stream's memory: it grows past 8 KiB
// while the request is set up, and the garbage collector halves it again
// only while less than a quarter of it is in use (runtime shrinkstack). So
// the frames under the select below are kept small: what is not needed
// while waiting lives in the functions it calls.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, js joined) {
	sw, err := sse.Start(w, s.cfg.RetryHint, s.cfg.WriteTimeout)
	if err != nil {
		return
	}
	s.cfg.Metrics.Opened()
	defer s.closed(time.Now())
	st := streamState{m: js.m, sw: sw, lastID: js.lastID, resumed: js.lastID != ""}
	defer s.cfg.Metrics.Delivered(&st.counts)
	if js.backfill != nil {
		err := st.writeBackfill(js.backfill)
		s.cfg.Metrics.Delivered(&st.counts)
		st.resumed = false // the first batch is taken
		if err != nil {
			s.drop(r, err)
			return
		}
	}
	heartbeat := time.NewTimer(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	rl := &rightsLost{ch: make(chan struct{})}
	defer s.cfg.Rights.Watch(js.p, rl.lose)()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-rl.ch:
			sw.Event("", "end", s.cfg.EndData(rl.err, r.URL.Path))
			_ = sw.Flush()
			return
		case <-s.cfg.Done:
			// Shutdown: end cleanly; the client reconnects (to another
			// instance) after the retry hint, with Last-Event-ID.
			sw.Comment("server shutting down")
			_ = sw.Flush()
			return
		case <-heartbeat.C:
			sw.Comment("keep-alive")
		case <-js.m.Ready():
			ok := st.take(r, s.cfg.EndData)
			s.cfg.Metrics.Delivered(&st.counts)
			if !ok {
				return
			}
		}
		if err := sw.Flush(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				st.counts.Slow(false)
			}
			s.drop(r, err)
			return
		}
		heartbeat.Reset(s.cfg.Heartbeat)
	}
}

// closed counts the end of a stream served by its handler, opened at
// start.
func (s *Server) closed(start time.Time) { s.cfg.Metrics.Closed(time.Since(start)) }

// streamState is what serve keeps between events.
type streamState struct {
	m       *subscriptions.Member
	sw      *sse.Writer
	lastID  string
	resumed bool // the stream resumed with Last-Event-ID and has not read yet
	counts  sse.Counts
}

// take queues the member's next events. It reports false when the stream
// is over: the reader fell out of the retention, or the topic ended (the
// last events and the end, rendered by endData, are then written).
func (st *streamState) take(r *http.Request, endData func(err error, path string) []byte) bool {
	b, err := st.m.TakeAppend(nil, sse.TakeBatch, sse.TakeBytes)
	if b.Gap && !st.resumed {
		// A live reader fell out of the retention: it is too slow. It
		// is dropped; it may resume.
		st.sw.WriteBatch(subscriptions.Batch{Gap: true}, st.lastID)
		_ = st.sw.Flush()
		st.counts.Slow(true)
		return false
	}
	st.resumed = false
	st.sw.WriteBatch(b, st.lastID)
	st.counts.Batch(b)
	if n := len(b.Events); n > 0 {
		st.lastID = b.Events[n-1].ID
	}
	if err != nil {
		st.sw.Event("", "end", endData(err, r.URL.Path))
		_ = st.sw.Flush()
		return false
	}
	return true
}

// drop logs a stream whose write failed.
func (s *Server) drop(r *http.Request, err error) {
	s.logger.Debug("stream write failed; dropping client", "err", err, "path", r.URL.Path)
}

// rightsLost tells a stream served by its handler that its credential no
// longer holds: err is set before ch is closed.
type rightsLost struct {
	ch  chan struct{}
	err error
}

// lose is the stream's auth.Watcher callback.
func (rl *rightsLost) lose(err error) {
	rl.err = err
	close(rl.ch)
}
