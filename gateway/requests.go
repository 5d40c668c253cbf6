package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// Headers of asynchronous and idempotent calls.
const (
	headerIdempotencyKey    = "Idempotency-Key"
	headerReplayed          = "Idempotent-Replayed"
	headerPreferenceApplied = "Preference-Applied"
)

// idempotencyPoll is the interval at which a retried call looks for the
// first call's answer.
const idempotencyPoll = 25 * time.Millisecond

// errStateUnavailable reports that the shared state a request needs (an
// asynchronous call's record, an idempotency key) cannot be reached.
var errStateUnavailable = errors.New("shared state unavailable")

// errKeyReused reports an Idempotency-Key sent again with another request.
var errKeyReused = errors.New("Idempotency-Key reused with a different request")

// errKeyInFlight reports an Idempotency-Key whose first call has not
// answered in time.
var errKeyInFlight = errors.New("the first request with this Idempotency-Key is still in progress")

// answer is an HTTP answer that can be stored and replayed.
type answer struct {
	status int
	header map[string]string
	body   []byte
}

func (a answer) write(w http.ResponseWriter) {
	h := w.Header()
	// One backing array for every value: a call's answer is on the hot
	// path, and Header.Set would allocate a slice per header.
	vals := make([]string, 0, len(a.header))
	for k, v := range a.header {
		vals = append(vals, v)
		h[textproto.CanonicalMIMEHeaderKey(k)] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// okAnswer is a 200 with a JSON body and the reply's headers; it takes
// header over.
func okAnswer(header map[string]string, body []byte) answer {
	if header == nil {
		header = make(map[string]string, 1)
	}
	header["Content-Type"] = "application/json"
	return answer{status: http.StatusOK, header: header, body: body}
}

// errorAnswer is the problem document of err, logged as writeError does.
func (s *Server) errorAnswer(r *http.Request, err error) answer {
	rec := newAnswerRecorder()
	s.writeError(rec, r, err)
	return rec.answer()
}

// serveCall answers a call: at once, or asynchronously when the client
// prefers (RFC 7240 respond-async), and only once per Idempotency-Key across
// every instance. Every call is recorded while in flight (method, instance,
// deadline).
//
// fingerprint identifies the request for its Idempotency-Key; it is computed
// only for requests that carry one.
func (s *Server) serveCall(w http.ResponseWriter, r *http.Request, method string, fingerprint func() (string, error), run func(context.Context) answer) {
	async := preferAsync(r)
	key := r.Header.Get(headerIdempotencyKey)
	owner := principalOf(r).ID
	rec := subscriptions.CallRecord{ID: newCallID(), Method: method, Instance: s.cfg.Instance, Owner: owner, Deadline: time.Now().Add(s.cfg.CallTimeout)}
	keep := time.Duration(0)
	if async || key != "" {
		keep = s.cfg.ResultTTL
	}
	if len(key) > 255 {
		s.writeError(w, r, badRequest("Idempotency-Key is longer than 255 characters"))
		return
	}
	// The call is recorded before its key is claimed: a retry that finds
	// the key bound, on any instance, then finds the call's record too,
	// and waits for its answer rather than take it for a call whose
	// instance died before answering.
	recorded := keep > 0 || !s.stateDown()
	if recorded {
		if err := s.cfg.Calls.Begin(s.stateContext(r.Context(), keep), rec, s.cfg.CallTimeout+time.Second); err != nil {
			if keep > 0 {
				s.writeError(w, r, fmt.Errorf("%w: %v", errStateUnavailable, err))
				return
			}
			// A plain call does not need the record: it goes on
			// without, and so do the next ones for a while.
			s.markStateDown()
			s.stateWarning("recording a call in flight", err)
			recorded = false
		}
	}
	if key != "" {
		fp, err := fingerprint()
		if err != nil {
			s.finish(r.Context(), rec, answer{}, 0)
			s.writeError(w, r, err)
			return
		}
		boundID, boundFP, claimed, err := s.cfg.Calls.Claim(r.Context(), idempotencyScope(owner, key), fp, rec.ID, s.cfg.IdempotencyTTL)
		if err != nil || !claimed {
			// This call will not run: forget its record.
			s.finish(r.Context(), rec, answer{}, 0)
		}
		if err != nil {
			s.writeError(w, r, fmt.Errorf("%w: %v", errStateUnavailable, err))
			return
		}
		if !claimed {
			s.replay(w, r, boundID, boundFP != fp, async)
			return
		}
	}
	scoped := ""
	if key != "" {
		scoped = idempotencyScope(owner, key)
	}
	if async {
		s.goAsync(r, rec, keep, scoped, run)
		location := "/requests/" + rec.ID
		w.Header().Set("Location", location)
		w.Header().Set(headerPreferenceApplied, "respond-async")
		writeJSON(w, http.StatusAccepted, RequestStatus{ID: rec.ID, Status: "pending", Method: method, Location: location})
		return
	}
	a := run(r.Context())
	switch {
	case scoped != "" && !final(a):
		// Not the module's answer (it may not have run): the key is
		// free again, and the answer not kept (IETF Idempotency-Key).
		s.releaseKey(r.Context(), scoped)
		s.finish(r.Context(), rec, a, 0)
	case recorded:
		s.finish(r.Context(), rec, a, keep)
		if scoped != "" {
			s.extendKey(r.Context(), scoped)
		}
	}
	a.write(w)
}

// final reports whether an answer is final, and so may be replayed for an
// Idempotency-Key: not a 503 (upstream or shared state unavailable), a 504
// (upstream timeout), a 502, nor a client gone (499). The IETF
// Idempotency-Key draft stores only answers a retry would not change.
func final(a answer) bool {
	switch a.status {
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusBadGateway, statusClientClosed, http.StatusTooManyRequests:
		return false
	}
	return true
}

// releaseKey frees an Idempotency-Key after a transient answer.
func (s *Server) releaseKey(ctx context.Context, key string) {
	if err := s.cfg.Calls.Release(context.WithoutCancel(ctx), key); err != nil {
		s.markStateDown()
		s.stateWarning("releasing an Idempotency-Key", err)
	}
}

// extendKey makes an Idempotency-Key live as long as the answer bound to
// it.
func (s *Server) extendKey(ctx context.Context, key string) {
	if err := s.cfg.Calls.Extend(context.WithoutCancel(ctx), key, s.cfg.ResultTTL); err != nil {
		s.markStateDown()
		s.stateWarning("extending an Idempotency-Key", err)
	}
}

// idempotencyScope is the name of an Idempotency-Key in the shared store:
// each credential has keys of its own, so that nobody replays another's
// answer by sending its key; anonymous callers share one space (they have
// no identity to tell them apart, and an address may change between a call
// and its retry).
func idempotencyScope(owner, key string) string {
	if owner == "" {
		return "anonymous " + key
	}
	return fingerprintOf(owner) + " " + key
}

// stateDownFor is how long plain calls skip their in-flight record after
// recording one failed: while Redis is away each would otherwise wait for
// its own timeout.
const stateDownFor = 2 * time.Second

// markStateDown notes that the shared state just failed.
func (s *Server) markStateDown() { s.stateDownAt.Store(time.Now().UnixNano()) }

// stateDown reports whether the shared state failed in the last
// stateDownFor.
func (s *Server) stateDown() bool {
	at := s.stateDownAt.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < stateDownFor
}

// plainStateWait bounds what a plain call waits for its in-flight record:
// the call needs no shared state, and must not wait on a slow Redis.
const plainStateWait = 100 * time.Millisecond

// stateContext is the context of a call's shared-state operation: a plain
// call's (keep 0) waits at most plainStateWait.
func (s *Server) stateContext(ctx context.Context, keep time.Duration) context.Context {
	if keep > 0 || s.stateLocal {
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, plainStateWait)
	context.AfterFunc(ctx, cancel) // released with ctx, whichever ends first
	return ctx
}

// finish stores a call's answer (or forgets the call).
func (s *Server) finish(ctx context.Context, rec subscriptions.CallRecord, a answer, keep time.Duration) {
	rec.Status, rec.Header, rec.Body = a.status, a.header, a.body
	if !s.stateLocal {
		// The answer is stored even if the client went away meanwhile.
		ctx = s.stateContext(context.WithoutCancel(ctx), keep)
	}
	if err := s.cfg.Calls.Finish(ctx, rec, keep); err != nil {
		s.markStateDown()
		s.stateWarning("storing a call's answer", err)
	}
}

// goAsync runs an asynchronous call on its own, owned by Run: shutdown waits
// for it to answer or time out.
func (s *Server) goAsync(r *http.Request, rec subscriptions.CallRecord, keep time.Duration, key string, run func(context.Context) answer) {
	s.async.Add(1)
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer s.async.Done()
		a := run(ctx)
		// The answer is kept for /requests/{id} whatever it is; a key is
		// bound to it only when it is final.
		s.finish(ctx, rec, a, keep)
		switch {
		case key == "":
		case final(a):
			s.extendKey(ctx, key)
		default:
			s.releaseKey(ctx, key)
		}
	}()
}

// replay answers a retried call with the first call's answer, waiting for it
// while it runs (on whatever instance).
func (s *Server) replay(w http.ResponseWriter, r *http.Request, id string, mismatch, async bool) {
	if mismatch {
		s.writeError(w, r, errKeyReused)
		return
	}
	if async {
		w.Header().Set("Location", "/requests/"+id)
		w.Header().Set(headerReplayed, "true")
		writeJSON(w, http.StatusAccepted, RequestStatus{ID: id, Status: "pending", Location: "/requests/" + id})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout+2*time.Second)
	defer cancel()
	t := time.NewTicker(idempotencyPoll)
	defer t.Stop()
	for {
		rec, ok, err := s.cfg.Calls.Get(ctx, id)
		switch {
		case err != nil && ctx.Err() == nil:
			s.writeError(w, r, fmt.Errorf("%w: %v", errStateUnavailable, err))
			return
		case ok && rec.Done:
			w.Header().Set(headerReplayed, "true")
			answer{status: rec.Status, header: rec.Header, body: rec.Body}.write(w)
			return
		case !ok && err == nil:
			// The first call's record is gone: its instance died
			// before answering. Whether the module ran it is unknown.
			s.writeError(w, r, errKeyInFlight)
			return
		}
		select {
		case <-ctx.Done():
			if r.Context().Err() != nil {
				return
			}
			s.writeError(w, r, errKeyInFlight)
			return
		case <-t.C:
		}
	}
}

// RequestStatus describes an asynchronous call that has not answered yet.
type RequestStatus struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Method   string `json:"method,omitempty"`
	Location string `json:"location,omitempty"`
}

// getRequest answers for an asynchronous call, on any instance.
//
//	@Summary		The answer of an asynchronous call
//	@ID				getRequest
//	@Description	A call made with the header Prefer: respond-async answers 202 with Location: /requests/{id}. This route answers 202 while the call runs, then the call's own answer (200 with the result, or its problem document), on any instance, until the result expires.
//	@Tags			rpc
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			id	path		string	true	"Call ID"
//	@Success		200	{object}	object	"The call's result"
//	@Success		202	{object}	RequestStatus
//	@Failure		404	{object}	Problem
//	@Failure		503	{object}	Problem
//	@Router			/requests/{id} [get]
func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	rec, ok, err := s.cfg.Calls.Get(r.Context(), id)
	switch {
	case err != nil:
		s.writeError(w, r, fmt.Errorf("%w: %v", errStateUnavailable, err))
	case !ok || (rec.Owner != "" && rec.Owner != principalOf(r).ID):
		// Another credential's answer is not there for this caller.
		s.writeError(w, r, fmt.Errorf("%w: no call %s (or its result expired)", errUnknownRequest, id))
	case !rec.Done:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusAccepted, RequestStatus{ID: id, Status: "pending", Method: rec.Method, Location: "/requests/" + id})
	default:
		answer{status: rec.Status, header: rec.Header, body: rec.Body}.write(w)
	}
}

var errUnknownRequest = errors.New("unknown request")

// preferAsync reports whether the request asks for an asynchronous answer.
func preferAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(strings.SplitN(p, ";", 2)[0]), "respond-async") {
				return true
			}
		}
	}
	return false
}

func newCallID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fingerprintOf identifies a request for idempotency: its route and its
// canonical parameters.
func fingerprintOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// stateWarning logs a failure of the shared state that a call survived,
// at most once a second so that Redis being away does not flood the log.
func (s *Server) stateWarning(what string, err error) {
	now := time.Now().Unix()
	if last := s.lastStateWarning.Load(); last == now || !s.lastStateWarning.CompareAndSwap(last, now) {
		return
	}
	s.logger.Warn("shared state unavailable; "+what+" skipped", slog.Any("err", err))
}

// answerRecorder captures what writeError writes.
type answerRecorder struct {
	h      http.Header
	status int
	body   []byte
}

func newAnswerRecorder() *answerRecorder { return &answerRecorder{h: http.Header{}} }

func (a *answerRecorder) Header() http.Header { return a.h }
func (a *answerRecorder) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}
func (a *answerRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	a.body = append(a.body, b...)
	return len(b), nil
}

func (a *answerRecorder) answer() answer {
	h := map[string]string{}
	for k, v := range a.h {
		h[k] = strings.Join(v, ", ")
	}
	status := a.status
	if status == 0 {
		status = statusClientClosed // writeError writes nothing for a client gone
	}
	return answer{status: status, header: h, body: a.body}
}

// replyHeaders are the headers of a reply, as an answer keeps them.
func replyHeaders(messageID, requestID, processingTime string) map[string]string {
	h := make(map[string]string, 5) // with okAnswer's Content-Type
	h[headerMessageID], h[headerRequestID] = messageID, requestID
	if processingTime != "" {
		h[headerProcessingTime] = processingTime
		if _, err := strconv.ParseFloat(processingTime, 64); err == nil {
			h["Server-Timing"] = "upstream;dur=" + processingTime
		}
	}
	return h
}
