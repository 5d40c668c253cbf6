package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/slots"
	"github.com/nuls-gateway/nuls-gateway/gateway/sse"
	"github.com/nuls-gateway/nuls-gateway/gateway/streamquery"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// headerSubscription says how a stream's subscription is served: pushed
// (by the upstream) or polled (the gateway calls the method).
const headerSubscription = "X-Nuls-Subscription"

// stream serves a method's pushes as Server-Sent Events.
//
//	@Summary		Stream a NULS subscription as Server-Sent Events
//	@ID				streamMethod
//	@Description	Subscribes to the method (every eventCounter events, or every period seconds) and streams each push as an SSE event whose data is the method's result and whose id resumes the stream (Last-Event-ID header or lastEventId query). Clients asking for the same method, parameters and mode share one upstream subscription. Event types: message (a push), upstream-error (the module reported a failure), gap (events were lost), rollback (latestHeight and newHeaders: the chain went back, {"height": the new tip, "from": the height shown last}), end (the subscription ended). On latestHeight and newHeaders, a push's id carries its height (<ms>-<seq>.<height>): resumed after the log lost its position, the stream sends what followed that height.
//	@Tags			streams
//	@Produce		text/event-stream
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Security		StreamTicket
//	@Param			method			path		string	true	"NULS method name, such as latestHeight"
//	@Param			params			query		string	false	"Parameters as a JSON object; or give them as individual query keys, typed by the method's declaration"
//	@Param			eventCounter	query		int		false	"Push every N events (default 1 when period is not given)"
//	@Param			period			query		int		false	"Push every N seconds"
//	@Param			range			query		string	false	"Only push numeric results inside this interval, such as [1000, )"
//	@Param			lastEventId		query		string	false	"Resume after this event (as the Last-Event-ID header)"
//	@Param			Last-Event-ID	header		string	false	"Resume after this event"
//	@Param			ticket			query		string	false	"A stream ticket (POST /stream-tickets), for EventSource, which cannot send Authorization"
//	@Success		200				{string}	string	"text/event-stream"
//	@Failure		400				{object}	Problem	"Bad parameters, an undeclared one, or a mode the method does not offer"
//	@Failure		401				{object}	Problem
//	@Failure		403				{object}	Problem
//	@Failure		404				{object}	Problem
//	@Failure		429				{object}	Problem	"Rate limited, or this client's share of streams or subscriptions is taken"
//	@Failure		503				{object}	Problem	"Too many streams or subscriptions on this instance"
//	@Router			/rpc/{method}/stream [get]
func (s *Server) stream(w http.ResponseWriter, r *http.Request) error {
	js, err := s.joinStream(w, r)
	if err != nil {
		return err
	}
	if js.backfill != nil {
		defer js.backfill.free() // if the stream ends before they are written
	}
	s.streaming(r)
	if js.backfill == nil && !s.cfg.HandlerStreams && s.pump.Detach(w, r, sse.Stream{Member: js.m, Release: js.slot.Release, LastID: js.lastID, Caller: js.p}) {
		return nil
	}
	defer js.slot.Release()
	defer js.m.Close()
	s.serveStream(w, r, js)
	return nil
}

// joined is a stream that has joined its topic: what serving it needs.
type joined struct {
	m      *subscriptions.Member
	slot   *slots.Slot
	lastID string
	// p is the caller: the stream ends when its credential no longer
	// holds (auth.Watcher).
	p *auth.Principal
	// backfill, for newHeaders with fromHeight, is sent before the
	// live events.
	backfill *backfill
}

// joinStream authorizes the subscription a stream asks for, takes the
// caller's stream slot and joins the topic, or returns the error. On
// success the caller owns the slot and the member. It is apart from stream
// so that its locals are off the stack while the stream lasts (see
// serveStream).
func (s *Server) joinStream(w http.ResponseWriter, r *http.Request) (joined, error) {
	p := principalOf(r)
	method := chi.URLParam(r, "method")
	if err := s.admit(w, r, p, s.weight(method)); err != nil {
		return joined{}, err
	}
	q := r.URL.Query()
	from, hasFrom, err := fromHeight(method, q)
	if err != nil {
		return joined{}, err
	}
	key, err := s.streamKey(r.Context(), p, method, q)
	if err != nil {
		return joined{}, err
	}
	// How the subscription is served: pushed by the upstream, or polled
	// by the gateway (see upstream.Polled).
	mode := "pushed"
	if upstream.Polled(s.cfg.Upstream, s.cfg.EventPollInterval, key.Method, key.Period) {
		mode = "polled"
	}
	w.Header().Set(headerSubscription, mode)
	js := joined{lastID: lastEventID(r), p: p}
	pos, last, err := sse.SplitID(js.lastID)
	if err != nil {
		return joined{}, badRequest(err.Error())
	}
	byHeight := last >= 0 && chainTopic(key)
	if !byHeight {
		pos = js.lastID // a height is a part of no other stream's IDs
	}
	if js.slot, err = s.slots.Acquire(s.clientKey(r, p), key.Topic()); err != nil {
		return joined{}, err
	}
	if js.m, err = s.cfg.Hub.Join(r.Context(), key, pos); err != nil {
		js.slot.Release()
		return joined{}, err
	}
	if js.lastID != "" {
		s.metrics.Resumed()
	}
	// A Last-Event-ID (a reconnection) resumes from the log, or from
	// its height where the log cannot; without one, fromHeight asks for
	// the headers from a height.
	switch {
	case byHeight:
		js.backfill, err = s.backfillHeaders(r.Context(), w, r, p, key, js.m, last+1, pos != "")
	case js.lastID == "" && hasFrom:
		js.backfill, err = s.backfillHeaders(r.Context(), w, r, p, key, js.m, from, false)
	}
	if err != nil {
		js.m.Close()
		js.slot.Release()
		return joined{}, err
	}
	return js, nil
}

// notifications streams the Notifications of the Manager and modules (D15).
//
//	@Summary		Stream the Manager's notifications
//	@ID				streamNotifications
//	@Description	Each Notification message the upstream sends (D15) becomes an SSE event of type notification, with {"type", "comment", "data"}. They tell of the module network's health: a credential with the admin scope is needed.
//	@Tags			streams
//	@Produce		text/event-stream
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			Last-Event-ID	header		string	false	"Resume after this event"
//	@Success		200				{string}	string	"text/event-stream"
//	@Failure		401				{object}	Problem
//	@Failure		403				{object}	Problem
//	@Failure		429				{object}	Problem
//	@Failure		503				{object}	Problem
//	@Router			/notifications [get]
func (s *Server) notifications(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if !p.HasScope(bridge.ScopeAdmin) {
		return s.denied(&accessError{method: "the notifications", scope: bridge.ScopeAdmin, anonymous: p.Anonymous()})
	}
	if err := s.admit(w, r, p, 1); err != nil {
		return err
	}
	js := joined{lastID: lastEventID(r), p: p}
	var err error
	if js.slot, err = s.slots.Acquire(s.clientKey(r, p), upstream.NotificationsTopic); err != nil {
		return err
	}
	if js.m, err = s.cfg.Hub.JoinLocal(upstream.NotificationsTopic, js.lastID); err != nil {
		js.slot.Release()
		return err
	}
	if js.lastID != "" {
		s.metrics.Resumed()
	}
	s.streaming(r)
	if !s.cfg.HandlerStreams && s.pump.Detach(w, r, sse.Stream{Member: js.m, Release: js.slot.Release, LastID: js.lastID, Caller: js.p}) {
		return nil
	}
	defer js.slot.Release()
	defer js.m.Close()
	s.serveStream(w, r, js)
	return nil
}

func lastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	return r.URL.Query().Get("lastEventId")
}

// serveStream copies a hub member to the client until the client leaves,
// the server shuts down, or the topic ends.
//
// Its goroutine's stack is most of a stream's memory: it grows past 8 KiB
// while the request is set up, and the garbage collector halves it again
// only while less than a quarter of it is in use (runtime shrinkstack). So
// the frames under the select below are kept small: what is not needed
// while waiting lives in the functions it calls.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, js joined) {
	sw, err := sse.Start(w, s.cfg.RetryHint, s.cfg.WriteTimeout)
	if err != nil {
		return
	}
	s.metrics.Opened()
	defer s.streamClosed(time.Now())
	st := streamState{m: js.m, sw: sw, lastID: js.lastID, resumed: js.lastID != ""}
	defer s.metrics.Delivered(&st.counts)
	if js.backfill != nil {
		err := st.writeBackfill(js.backfill)
		s.metrics.Delivered(&st.counts)
		st.resumed = false // the first batch is taken
		if err != nil {
			s.dropStream(r, err)
			return
		}
	}
	heartbeat := time.NewTimer(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	rl := &rightsLost{ch: make(chan struct{})}
	defer s.rights.Watch(js.p, rl.lose)()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-rl.ch:
			sw.Event("", "end", endData(rl.err, r.URL.Path))
			_ = sw.Flush()
			return
		case <-s.streamsDone:
			// Shutdown: end cleanly; the client reconnects (to another
			// instance) after the retry hint, with Last-Event-ID.
			sw.Comment("server shutting down")
			_ = sw.Flush()
			return
		case <-heartbeat.C:
			sw.Comment("keep-alive")
		case <-js.m.Ready():
			ok := st.take(r)
			s.metrics.Delivered(&st.counts)
			if !ok {
				return
			}
		}
		if err := sw.Flush(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				st.counts.Slow(false)
			}
			s.dropStream(r, err)
			return
		}
		heartbeat.Reset(s.cfg.Heartbeat)
	}
}

// streamState is what serveStream keeps between events.
type streamState struct {
	m       *subscriptions.Member
	sw      *sse.Writer
	lastID  string
	resumed bool // the stream resumed with Last-Event-ID and has not read yet
	counts  sse.Counts
}

// take queues the member's next events. It reports false when the stream
// is over: the reader fell out of the retention, or the topic ended (the
// last events and the end are then written).
func (st *streamState) take(r *http.Request) bool {
	b, err := st.m.Take(sse.TakeBatch)
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

// dropStream logs a stream whose write failed.
func (s *Server) dropStream(r *http.Request, err error) {
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

// endData describes why a stream ended.
func endData(err error, path string) []byte {
	if errors.Is(err, subscriptions.ErrClosed) {
		return []byte(`{"detail":"the subscription ended"}`)
	}
	b, _ := json.Marshal(problemAt(err, path, ""))
	return b
}

// streamKey reads the subscription a stream asks for and checks it.
func (s *Server) streamKey(ctx context.Context, p *auth.Principal, method string, q url.Values) (subscriptions.Key, error) {
	key := subscriptions.Key{Method: method}
	var (
		info  bridge.MethodInfo
		known bool
		d     policy.Decision
		err   error
	)
	source := method
	if src, dinfo, ok := upstream.Derived(method); ok {
		// Who may stream the source may stream what is made of it.
		source = src
		if _, _, d, err = s.access(ctx, p, src); err != nil {
			return key, err
		}
		info, known = dinfo, true
	} else if info, known, d, err = s.access(ctx, p, method); err != nil {
		return key, err
	}
	mode, err := streamquery.ParseMode(q)
	if err != nil {
		return key, err
	}
	key.EventCounter, key.Period, key.Range = mode.EventCounter, mode.Period, mode.Range
	if known {
		if err := streamquery.CheckMode(info, mode); err != nil {
			return key, err
		}
	}
	// The gateway calls a method again and again for a period stream, and
	// for an event stream it emulates: only the reads the policy lets it
	// poll, so that no stream repeats a write or an unbounded read.
	polled := upstream.Polled(s.cfg.Upstream, s.cfg.EventPollInterval, source, key.Period)
	if !d.Streamable() {
		return key, badRequest(method + " is not a read the gateway streams: it offers no stream here")
	}
	if polled && !d.Poll {
		return key, badRequest(method + " is not a read the gateway calls again and again: it offers no period stream here, nor an event stream the upstream does not push")
	}
	params, err := streamquery.Params(q, info, known)
	if err != nil {
		return key, err
	}
	if err := s.checkSecretParams(p, method, d, params); err != nil {
		return key, err
	}
	if err := d.CheckParams(params); err != nil {
		return key, err
	}
	if known {
		if err := info.CheckDeclaredParams(params); err != nil {
			return key, err
		}
	}
	if key.Params, err = subscriptions.CanonicalParams(params); err != nil {
		return key, badRequest(err.Error())
	}
	return key, nil
}

// lingers reports whether a topic outlives its last stream: a hub topic
// fed from upstream, not the notifications' nor a socket's slot.
func lingers(topic string) bool { return topic != upstream.NotificationsTopic && topic != socketTopic }
