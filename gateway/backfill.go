package gateway

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
	// backfillWait bounds the wait for the topic's current state.
	backfillWait = 10 * time.Second
)

// backfill is what a stream with fromHeight sends before going live: the
// headers fetched from the node, then the first batch of the topic.
type backfill struct {
	// gap: headers were not sent before the first of headers (more than
	// maxBackfill, or the node could not give them).
	gap     bool
	gapFrom int64
	headers []json.RawMessage
	first   subscriptions.Batch
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
		return 0, false, badRequest(queryFromHeight + " is a parameter of the newHeaders stream only")
	}
	h, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || h < 0 || len(v) > 1 {
		return 0, false, badRequest(queryFromHeight + ": want one block height, a non-negative integer")
	}
	return h, true, nil
}

// backfillHeaders takes the topic's current state from m and fetches the
// headers from height from up to it, charged to p's rate plan.
func (s *Server) backfillHeaders(ctx context.Context, w http.ResponseWriter, r *http.Request, p *auth.Principal,
	key subscriptions.Key, m *subscriptions.Member, from int64) (*backfill, error) {
	wait, cancel := context.WithTimeout(ctx, backfillWait)
	defer cancel()
	select {
	case <-m.Ready():
	case <-wait.Done():
		return nil, fmt.Errorf("%w: no header yet to start from", subscriptions.ErrUnavailable)
	}
	b, err := m.Take(sse.TakeBatch)
	if err != nil {
		return nil, err
	}
	bf := &backfill{first: b}
	heights := upstream.Heights{Feeds: upstream.Feeds{Upstream: s.cfg.Upstream, CallTimeout: s.cfg.CallTimeout}, MaxFill: maxBackfill}
	top := int64(-1)
	for _, e := range b.Events {
		if h, ok := heights.Height(key, e.Data); ok && e.Type == subscriptions.TypePush {
			top = h
			break
		}
	}
	if top <= from {
		return bf, nil // nothing before the current state to send
	}
	if top-from > maxBackfill {
		bf.gap, bf.gapFrom, from = true, from, top-maxBackfill
	}
	n := top - from
	if err := s.admit(w, r, p, int((n+backfillPerUnit-1)/backfillPerUnit)); err != nil {
		return nil, err
	}
	headers, err := heights.Between(ctx, key, from-1, top)
	if err != nil {
		// The node no longer has them, or cannot say: the stream goes
		// live, after a gap event.
		s.logger.Warn("newHeaders from a height: the headers could not be fetched", "from", from, "to", top, "err", err)
		bf.gap, bf.gapFrom = true, from
		return bf, nil
	}
	bf.headers = headers
	return bf, nil
}

// writeBackfill writes bf to the stream: a gap event if headers are
// missing, the headers (without IDs: they are not in the stream's log),
// then the first batch of the live topic.
func (st *streamState) writeBackfill(bf *backfill) error {
	if bf.gap {
		st.sw.Event("", subscriptions.TypeGap, subscriptions.GapData(
			fmt.Sprintf("headers from height %d on could not all be sent: at most %d per request, and only those the node has", bf.gapFrom, maxBackfill), ""))
		st.counts.Events++
		st.counts.ResumeGaps++
	}
	for i, h := range bf.headers {
		st.sw.Event("", "", h)
		st.counts.Events++
		if i%backfillPerUnit == backfillPerUnit-1 {
			if err := st.sw.Flush(); err != nil {
				return err
			}
		}
	}
	bf.headers = nil // off the stream's life
	st.sw.WriteBatch(bf.first, st.lastID)
	st.counts.Batch(bf.first)
	if n := len(bf.first.Events); n > 0 {
		st.lastID = bf.first.Events[n-1].ID
	}
	return st.sw.Flush()
}
