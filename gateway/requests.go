package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/state"
)

// Headers of asynchronous and idempotent calls.
const (
	headerIdempotencyKey    = "Idempotency-Key"
	headerReplayed          = "Idempotent-Replayed"
	headerPreferenceApplied = "Preference-Applied"
)

// errStateUnavailable reports that the shared state a request needs (an
// asynchronous call's record, an idempotency key) cannot be reached.
var errStateUnavailable = errors.New("shared state unavailable")

// errKeyReused reports an Idempotency-Key sent again with another request.
var errKeyReused = errors.New("Idempotency-Key reused with a different request")

// errKeyInFlight reports an Idempotency-Key whose first call has not
// answered (yet, or in time, or for good: its instance died).
var errKeyInFlight = errors.New("the first request with this Idempotency-Key is still in progress")

// errKeyFreed reports an Idempotency-Key whose first call got no final
// answer: the key is free again, for a retry to run the call.
var errKeyFreed = errors.New("the first request with this Idempotency-Key got no final answer; send it again")

// errAnswerNotKept is the answer kept in place of one the bounds of the
// kept answers leave no room for (see keepAnswer).
var errAnswerNotKept = errors.New("the call ran, but its answer was not kept")

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
// The answers of asynchronous and idempotent calls are kept for ResultTTL,
// within StoredAnswers: room for one is taken from the caller's share, and
// from the total, before the call runs (429 or 503 beyond, with
// Retry-After), and resized to the answer when it comes (see keepAnswer).
//
// fingerprint identifies the request for its Idempotency-Key; it is computed
// only for requests that carry one.
func (s *Server) serveCall(w http.ResponseWriter, r *http.Request, method string, fingerprint func() (string, error), run func(context.Context) answer) error {
	async := preferAsync(r)
	key := r.Header.Get(headerIdempotencyKey)
	if len(key) > 255 {
		return badRequest("Idempotency-Key is longer than 255 characters")
	}
	p := principalOf(r)
	rec := state.CallRecord{ID: newCallID(), Method: method, Instance: s.cfg.Instance, Owner: p.ID, Deadline: time.Now().Add(s.cfg.CallTimeout)}
	keep := time.Duration(0)
	if async || key != "" {
		keep = s.cfg.ResultTTL
		rec.Client = s.clientKey(r, p)
		// Room for the answer before anything: a call beyond the
		// bounds does not run.
		if err := s.cfg.Calls.Reserve(r.Context(), rec, state.AnswerOverhead, s.cfg.CallTimeout+time.Second+roomMargin, s.cfg.StoredAnswers); err != nil {
			return stateError(w, err)
		}
	}
	// The call is recorded before its key is claimed: a retry that finds
	// the key bound, on any instance, then finds the call's record too,
	// and waits for its answer rather than take it for a call whose
	// instance died before answering.
	recorded := keep > 0 || !s.stateDown()
	if recorded {
		if err := s.cfg.Calls.Begin(s.stateContext(r.Context(), keep), rec, s.cfg.CallTimeout+time.Second); err != nil {
			if keep > 0 {
				s.finish(r.Context(), rec, answer{}, 0) // its room
				return fmt.Errorf("%w: %v", errStateUnavailable, err)
			}
			// A plain call does not need the record: it goes on
			// without, and so do the next ones for a while.
			s.markStateDown()
			s.stateWarning("recording a call in flight", err)
			recorded = false
		}
	}
	scoped := ""
	var local *localCall
	if key != "" {
		fp, err := fingerprint()
		if err != nil {
			s.finish(r.Context(), rec, answer{}, 0)
			return err
		}
		// A retry on this instance waits for the call here (replay).
		local = s.inflight.start(rec.ID)
		scoped = idempotencyScope(rec.Client, key)
		boundID, boundFP, claimed, err := s.cfg.Calls.Claim(r.Context(), scoped, fp, rec.ID, s.cfg.IdempotencyTTL)
		if err != nil || !claimed {
			// This call will not run: forget its record.
			s.finish(r.Context(), rec, answer{}, 0)
			s.inflight.end(local, answer{}, false)
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errStateUnavailable, err)
		}
		if !claimed {
			return s.replay(w, r, boundID, boundFP != fp, async)
		}
	}
	if async {
		s.goAsync(r, rec, keep, scoped, local, run)
		location := "/requests/" + rec.ID
		w.Header().Set("Location", location)
		w.Header().Set(headerPreferenceApplied, "respond-async")
		writeJSON(w, http.StatusAccepted, RequestStatus{ID: rec.ID, Status: "pending", Method: method, Location: location})
		return nil
	}
	a := run(r.Context())
	switch {
	case scoped != "" && !final(a):
		// Not the module's answer (it may not have run): the key is
		// free again, and the answer not kept (IETF Idempotency-Key).
		s.releaseKey(r.Context(), scoped)
		s.finish(r.Context(), rec, a, 0)
		s.inflight.end(local, a, false)
	case recorded:
		kept, _ := s.finish(r.Context(), rec, a, keep)
		if scoped != "" {
			s.extendKey(r.Context(), scoped)
			// Final: replayed to the retries here even if the store
			// failed.
			s.inflight.end(local, kept, true)
		}
	}
	// The caller gets the answer itself, kept or not.
	a.write(w)
	return nil
}

// roomMargin is how much longer a room lives than the record it holds: in
// Redis they expire apart (the record's key and the script's), and the
// record must not outlive its room.
const roomMargin = time.Second

// stateError is a failure to reserve room for an answer: beyond the
// caller's share (429) or the total (503), with Retry-After set; or the
// shared state away (503).
func stateError(w http.ResponseWriter, err error) error {
	var qe *state.QuotaError
	if !errors.As(err, &qe) {
		return fmt.Errorf("%w: %v", errStateUnavailable, err)
	}
	w.Header().Set("Retry-After", strconv.Itoa(int((qe.RetryAfter+time.Second-1)/time.Second)))
	return err
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
// each client has keys of its own, so that nobody replays or blocks
// another's by sending its key. client is clientKey's: the credential, or
// the address of an anonymous caller (whose retry must then come from the
// same address, or the same IPv6 /64).
func idempotencyScope(client, key string) string {
	return fingerprintOf(client) + " " + key
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

// finish stores a call's answer for keep (or forgets the call, and frees
// its room, when keep is 0). It returns the answer kept, which is another
// one when a's size is beyond the bounds (see keepAnswer), and whether it
// was kept.
func (s *Server) finish(ctx context.Context, rec state.CallRecord, a answer, keep time.Duration) (answer, bool) {
	if !s.stateLocal {
		// The answer is stored even if the client went away meanwhile.
		ctx = s.stateContext(context.WithoutCancel(ctx), keep)
	}
	if keep > 0 && rec.Client != "" {
		var err error
		if a, err = s.keepAnswer(ctx, rec, a, keep); err != nil {
			s.markStateDown()
			s.stateWarning("keeping a call's answer", err)
			return a, false
		}
	}
	rec.Status, rec.Header, rec.Body = a.status, a.header, a.body
	if err := s.cfg.Calls.Finish(ctx, rec, keep); err != nil {
		s.markStateDown()
		s.stateWarning("storing a call's answer", err)
		return a, false
	}
	return a, keep > 0
}

// keepAnswer resizes the room of rec's answer to a, for keep, and returns
// the answer to keep: a itself, or, when a is larger than one kept answer
// may be (MaxStoredAnswerBytes) or than the room the caller's share or the
// total has left, a 507 problem document saying so, which the room taken
// when the call started holds (AnswerOverhead). So the gateway never keeps
// more than its bounds, whatever the answers: the caller of a synchronous
// call has the answer itself; a retry of its Idempotency-Key is told the
// call ran and gets no second run.
func (s *Server) keepAnswer(ctx context.Context, rec state.CallRecord, a answer, keep time.Duration) (answer, error) {
	rec.Status, rec.Header, rec.Body = a.status, a.header, a.body
	size := state.AnswerSize(rec)
	why := ""
	if int64(len(a.body)) > s.cfg.MaxStoredAnswerBytes {
		why = fmt.Sprintf("its body (%d bytes) is larger than one kept answer may be (%d bytes)", len(a.body), s.cfg.MaxStoredAnswerBytes)
	} else {
		err := s.cfg.Calls.Reserve(ctx, rec, size, keep+roomMargin, s.cfg.StoredAnswers)
		var qe *state.QuotaError
		switch {
		case err == nil:
			return a, nil
		case !errors.As(err, &qe):
			return a, err
		case qe.Total:
			why = fmt.Sprintf("the answers kept leave no room for it (%d bytes)", size)
		default:
			why = fmt.Sprintf("this caller's answers kept leave no room for it (%d bytes)", size)
		}
	}
	stub := notKeptAnswer(rec, why)
	rec.Status, rec.Header, rec.Body = stub.status, stub.header, stub.body
	// The stub fits the room taken at the start: this only sets its
	// lifetime.
	return stub, s.cfg.Calls.Reserve(ctx, rec, state.AnswerSize(rec), keep+roomMargin, s.cfg.StoredAnswers)
}

// notKeptAnswer is what is kept of a call's answer that the bounds leave
// no room for: a 507 problem document saying why, with the reply's NULS
// headers. It is smaller than state.AnswerOverhead.
func notKeptAnswer(rec state.CallRecord, why string) answer {
	status := httpStatus(errAnswerNotKept)
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Method: rec.Method,
		Detail: errAnswerNotKept.Error() + ": " + why}
	b, err := json.Marshal(p)
	if err != nil {
		b = []byte(fallbackProblem)
	}
	h := map[string]string{"Content-Type": "application/problem+json"}
	for _, k := range []string{headerMessageID, headerRequestID} {
		if v := rec.Header[k]; v != "" && len(v) <= 64 {
			h[k] = v
		}
	}
	return answer{status: status, header: h, body: b}
}

// goAsync runs an asynchronous call on its own, owned by Run: shutdown waits
// for it to answer or time out.
func (s *Server) goAsync(r *http.Request, rec state.CallRecord, keep time.Duration, key string, local *localCall, run func(context.Context) answer) {
	s.async.Add(1)
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer s.async.Done()
		a := run(ctx)
		// The answer is kept for /requests/{id} whatever it is; a key is
		// bound to it only when it is final.
		kept, _ := s.finish(ctx, rec, a, keep)
		switch {
		case key == "":
		case final(a):
			s.extendKey(ctx, key)
			s.inflight.end(local, kept, true)
		default:
			s.releaseKey(ctx, key)
			s.inflight.end(local, a, false)
		}
	}()
}

// replay answers a retried call with the first call's answer. It never
// polls the shared store: when the first call runs on this instance, the
// retry waits for it here (inflight); when it runs on another, the retry
// is answered 409 at once, with Retry-After until the call's deadline.
// (The IETF Idempotency-Key draft answers 409 to a retry while the first
// request is in progress; waiting on this instance is a courtesy that
// costs no store read.) So a retry costs the store its claim and at most
// one read, whatever the number of retries.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, id string, mismatch, async bool) error {
	if mismatch {
		return errKeyReused
	}
	if async {
		w.Header().Set("Location", "/requests/"+id)
		w.Header().Set(headerReplayed, "true")
		writeJSON(w, http.StatusAccepted, RequestStatus{ID: id, Status: "pending", Location: "/requests/" + id})
		return nil
	}
	if lc := s.inflight.get(id); lc != nil {
		timer := time.NewTimer(s.cfg.CallTimeout + 2*time.Second)
		defer timer.Stop()
		select {
		case <-lc.done:
		case <-r.Context().Done():
			return nil
		case <-timer.C:
			w.Header().Set("Retry-After", "1")
			return errKeyInFlight
		}
		if !lc.kept {
			w.Header().Set("Retry-After", "1")
			return errKeyFreed
		}
		w.Header().Set(headerReplayed, "true")
		lc.a.write(w)
		return nil
	}
	rec, ok, err := s.cfg.Calls.Get(r.Context(), id)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", errStateUnavailable, err)
	case ok && rec.Done:
		w.Header().Set(headerReplayed, "true")
		answer{status: rec.Status, header: rec.Header, body: rec.Body}.write(w)
		return nil
	case !ok:
		// The first call's record is gone: its instance died before
		// answering, or its answer was not final. Whether the module
		// ran it is unknown.
		w.Header().Set("Retry-After", "1")
		return errKeyInFlight
	}
	// In flight on another instance: at once, no waiting on the store.
	wait := max(time.Until(rec.Deadline), time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	return errKeyInFlight
}

// inflight are the calls with an Idempotency-Key running on this instance,
// by call ID: a retry of one waits for its answer here.
type inflight struct {
	mu    sync.Mutex // guards calls
	calls map[string]*localCall
}

// localCall is one keyed call running on this instance. done is closed
// when it ends; a and kept are then its answer as kept, and whether it was
// (a call whose answer was not final is not).
type localCall struct {
	id   string
	done chan struct{}
	a    answer
	kept bool
}

// start registers the call id.
func (in *inflight) start(id string) *localCall {
	lc := &localCall{id: id, done: make(chan struct{})}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.calls == nil {
		in.calls = map[string]*localCall{}
	}
	in.calls[id] = lc
	return lc
}

// get returns the running call id, or nil.
func (in *inflight) get(id string) *localCall {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.calls[id]
}

// end ends lc with its answer, once its answer is stored (or known not
// to be): a retry that misses it here finds the answer in the store.
func (in *inflight) end(lc *localCall, a answer, kept bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.calls[lc.id] != lc {
		return // ended already
	}
	delete(in.calls, lc.id)
	lc.a, lc.kept = a, kept
	close(lc.done)
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
func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	rec, ok, err := s.cfg.Calls.Get(r.Context(), id)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", errStateUnavailable, err)
	case !ok || (rec.Owner != "" && rec.Owner != principalOf(r).ID):
		// Another credential's answer is not there for this caller.
		return fmt.Errorf("%w: no call %s (or its result expired)", errUnknownRequest, id)
	case !rec.Done:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusAccepted, RequestStatus{ID: id, Status: "pending", Method: rec.Method, Location: "/requests/" + id})
	default:
		answer{status: rec.Status, header: rec.Header, body: rec.Body}.write(w)
	}
	return nil
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
