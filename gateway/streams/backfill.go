package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/gateway/sse"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// queryFromHeight is the newHeaders stream's query parameter that asks for
// the headers from a height on, before the live ones: a client that was
// away longer than the stream's retention, or that starts from where its
// own store ends.
const queryFromHeight = "fromHeight"

const (
	// maxBackfill bounds the headers one stream request is sent before
	// it goes live: beyond, the earliest are not sent, and a gap event
	// says from where they are.
	maxBackfill = 5000
	// backfillPerUnit is how many headers cost the caller's rate plan
	// one request.
	backfillPerUnit = 100
	// backfillWait bounds the wait for the topic's current state, and
	// for a turn to fetch headers.
	backfillWait = 10 * time.Second
)

// MaxConcurrentBackfills bounds the streams fetching and holding headers
// at once, whoever asks: at most this many times maxBackfill headers (a few
// MiB each) in memory, and as many calls to the node in flight for them.
const MaxConcurrentBackfills = 8

// Backfilling is how many streams fetch or hold headers now: at most
// MaxConcurrentBackfills.
func (s *Server) Backfilling() int { return len(s.backfills) }

// backfill is what a stream of heights sends before going live, when it
// starts from a height (fromHeight, or a Last-Event-ID carrying the
// client's last height that the log cannot resume exactly): the headers
// fetched from the node, then the first batch of the topic.
type backfill struct {
	// gap: headers were not sent before the first of headers (more than
	// maxBackfill, or the node could not give them).
	gap     bool
	gapFrom int64
	// rollback, when the chain's tip is below the client's last height.
	rollback *subscriptions.Event
	headers  []json.RawMessage
	// heights are the headers' heights, for their IDs.
	heights []int64
	first   subscriptions.Batch
	// release gives the turn to fetch headers back (see
	// Server.backfills); nil when none was taken.
	release func()
}

// free drops the headers and gives the turn back, once they are written
// or the stream ends before.
func (bf *backfill) free() {
	bf.headers, bf.heights = nil, nil
	if bf.release != nil {
		bf.release()
		bf.release = nil
	}
}

// fromHeight reads fromHeight from q, and removes it: it is no parameter
// of the method. Only newHeaders takes it.
func fromHeight(method string, q url.Values) (int64, bool, error) {
	v, ok := q[queryFromHeight]
	if !ok {
		return 0, false, nil
	}
	delete(q, queryFromHeight)
	if method != "newHeaders" {
		return 0, false, bad(queryFromHeight + " is a parameter of the newHeaders stream only")
	}
	h, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || h < 0 || len(v) > 1 {
		return 0, false, bad(queryFromHeight + ": want one block height, a non-negative integer")
	}
	return h, true, nil
}

// chainTopic reports whether key's events follow the chain's height: they
// can be resumed from a height.
func chainTopic(key subscriptions.Key) bool {
	_, ok := upstream.Heights{}.Height(key, json.RawMessage(`{"value":0,"height":0}`))
	return ok
}

// backfillHeaders takes the topic's first batch from m and fetches what
// came after the client's last height (from-1) before it, charged to p's
// rate plan. exact: m resumed from a position in the log, which, unless
// the log no longer has it, is all the stream needs (nil, nil).
func (s *Server) backfillHeaders(ctx context.Context, w http.ResponseWriter, r *http.Request, p *auth.Principal,
	key subscriptions.Key, m *subscriptions.Member, from int64, exact bool) (*backfill, error) {
	if !exact {
		wait, cancel := context.WithTimeout(ctx, backfillWait)
		defer cancel()
		select {
		case <-m.Ready():
		case <-wait.Done():
			return nil, fmt.Errorf("%w: no header yet to start from", subscriptions.ErrUnavailable)
		}
	}
	if exact && m.Exact() {
		return nil, nil // the log has the client's position
	}
	b, err := m.Take(sse.TakeBatch)
	bf := &backfill{first: b}
	switch {
	case exact && err != nil:
		return bf, nil // the topic ended: the stream's next Take says so
	case err != nil:
		return nil, err
	}
	heights := upstream.Heights{Feeds: upstream.Feeds{Upstream: s.cfg.Upstream, CallTimeout: s.cfg.CallTimeout}, MaxFill: maxBackfill}
	heightOf := func(e subscriptions.Event) (int64, bool) {
		if e.Type != subscriptions.TypePush {
			return 0, false
		}
		if e.HasHeight {
			return e.Height, true
		}
		return heights.Height(key, e.Data)
	}
	// end: the height the topic's events go on from, the headers before
	// it to send. A resumed reader whose position the log lost has no
	// event yet: the log's latest is its current state.
	end, known := int64(0), false
	for _, e := range b.Events {
		if h, ok := heightOf(e); ok {
			end, known = h, true
			break
		}
	}
	if !known {
		if latest, ok := m.Latest(); ok {
			if h, ok := heightOf(latest); ok {
				end, known = h+1, true
			}
		}
	}
	if !known {
		return bf, nil // nothing to start from: the batch says what is known
	}
	// The heights close the log's gap, if any: the client misses nothing.
	bf.first.Gap, bf.first.Lost = false, false
	if last := from - 1; end <= last {
		bf.first.Events = s.afterHeight(bf, b.Events, last, end, heightOf)
		return bf, nil
	}
	if end-from > maxBackfill {
		bf.gap, bf.gapFrom, from = true, from, end-maxBackfill
	}
	n := end - from
	if n == 0 {
		return bf, nil
	}
	if err := s.g.Admit(w, r, p, int((n+backfillPerUnit-1)/backfillPerUnit)); err != nil {
		return nil, err
	}
	turn, cancel := context.WithTimeout(ctx, backfillWait)
	defer cancel()
	select {
	case s.backfills <- struct{}{}:
		bf.release = func() { <-s.backfills }
	case <-turn.Done():
		return nil, fmt.Errorf("%w: %d streams are fetching headers; retry", subscriptions.ErrUnavailable, MaxConcurrentBackfills)
	}
	headers, err := heights.Between(ctx, key, from-1, end)
	if err != nil {
		// The node no longer has them, or cannot say: the stream goes
		// live, after a gap event.
		s.logger.Warn("newHeaders from a height: the headers could not be fetched", "from", from, "to", end, "err", err)
		bf.gap, bf.gapFrom = true, from
		return bf, nil
	}
	bf.headers = headers
	bf.heights = make([]int64, len(headers))
	for i := range headers {
		bf.heights[i] = from + int64(i)
	}
	return bf, nil
}

// afterHeight returns the events of the first batch the client has not
// seen, its last height being last and the topic's first height end-1 or
// end: the pushes up to last are dropped. When the topic's latest height is
// below last, the chain went back: bf gets a rollback event, and the
// current state is kept.
func (s *Server) afterHeight(bf *backfill, events []subscriptions.Event, last, end int64,
	heightOf func(subscriptions.Event) (int64, bool)) []subscriptions.Event {
	for i, e := range events {
		if h, ok := heightOf(e); ok && h > last {
			return events[i:]
		}
	}
	// Nothing above last: the client is at the tip, or above it.
	tip := end - 1
	if len(events) > 0 {
		if h, ok := heightOf(events[len(events)-1]); ok {
			tip = h
		}
	}
	if tip < last {
		rb := subscriptions.RollbackEvent(tip, last)
		bf.rollback = &rb
		if len(events) > 0 {
			return events[len(events)-1:]
		}
	}
	return nil
}

// writeBackfill writes bf to the stream: a gap event if headers are
// missing, the headers (with IDs of only their height: they are not in the
// stream's log), then the first batch of the live topic.
func (st *streamState) writeBackfill(bf *backfill) error {
	if bf.gap {
		st.sw.Event("", subscriptions.TypeGap, subscriptions.GapData(
			fmt.Sprintf("headers from height %d on could not all be sent: at most %d per request, and only those the node has", bf.gapFrom, maxBackfill), ""))
		st.counts.Events++
		st.counts.ResumeGaps++
	}
	if bf.rollback != nil {
		st.sw.Event("", bf.rollback.Type, bf.rollback.Data)
		st.counts.Events++
	}
	for i, h := range bf.headers {
		st.sw.Event(sse.HeightID(bf.heights[i]), "", h)
		st.counts.Events++
		if i%backfillPerUnit == backfillPerUnit-1 {
			if err := st.sw.Flush(); err != nil {
				return err
			}
		}
	}
	bf.free() // off the stream's life
	st.sw.WriteBatch(bf.first, st.lastID)
	st.counts.Batch(bf.first)
	if n := len(bf.first.Events); n > 0 {
		st.lastID = bf.first.Events[n-1].ID
	}
	return st.sw.Flush()
}
