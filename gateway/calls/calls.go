package calls

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
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/state"
)

// Headers of calls: asynchronous and idempotent ones, and what a call's
// answer says of the upstream's reply.
const (
	HeaderIdempotencyKey    = "Idempotency-Key"
	HeaderReplayed          = "Idempotent-Replayed"
	HeaderPreferenceApplied = "Preference-Applied"
	HeaderMessageID         = "X-Nuls-Message-Id"      // the upstream Response's MessageID
	HeaderRequestID         = "X-Nuls-Request-Id"      // our Request's MessageID
	HeaderProcessingTime    = "X-Nuls-Processing-Time" // the upstream ResponseProcessingTime, ms
)

// StatusClientClosed is nginx's 499: the client went away before the
// answer. It is never seen by the client; it keeps such requests apart in
// logs and metrics.
const StatusClientClosed = 499

// Config configures a Keeper. Calls is required.
type Config struct {
	// Calls records the calls in flight, keeps the answers and binds the
	// Idempotency-Keys (package state).
	Calls state.Calls
	// Instance names this instance in call records.
	Instance string
	// CallTimeout is how long a call may run (its record's deadline).
	CallTimeout time.Duration
	// ResultTTL is how long an answer is kept.
	ResultTTL time.Duration
	// IdempotencyTTL is how long a key is held while its first call runs.
	IdempotencyTTL time.Duration
	// Bounds bound the answers kept, per client and in all.
	Bounds state.AnswerBounds
	// MaxAnswerBytes is the largest answer body kept.
	MaxAnswerBytes int64
}

// Job is what Serve needs of a request besides its HTTP side.
type Job struct {
	// Method names the call in its record ("(multi)" for several).
	Method string
	// Owner is the caller's credential ID; "" for anonymous callers.
	Owner string
	// Client is whose share the kept answer takes (a credential, or an
	// address when anonymous), and the space of its Idempotency-Keys.
	Client string
	// Fingerprint identifies the request for its Idempotency-Key.
	Fingerprint func() (string, error)
}

// Keeper answers calls at once or asynchronously (Prefer: respond-async),
// and once per Idempotency-Key across every instance, keeping their
// answers within their bounds. Its methods are safe for concurrent use;
// Wait waits for the asynchronous calls it started.
type Keeper struct {
	cfg    Config
	logger *slog.Logger
	// async counts the asynchronous calls running.
	async sync.WaitGroup
	// inflight are the calls with an Idempotency-Key running here, for
	// their retries here to wait on.
	inflight         inflight
	lastStateWarning atomic.Int64 // unix second of the last state warning
	stateDownAt      atomic.Int64 // unix nanoseconds of the last shared-state failure
	// stateLocal: Calls never waits (in memory), so its operations need
	// no deadline of their own.
	stateLocal bool
}

// NewKeeper returns a Keeper.
func NewKeeper(cfg Config, logger *slog.Logger) *Keeper {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	local, _ := cfg.Calls.(interface{ Local() bool })
	return &Keeper{cfg: cfg, logger: logger, stateLocal: local != nil && local.Local(), inflight: inflight{calls: map[string]*localCall{}}}
}

// Wait waits for the asynchronous calls to answer or time out.
func (k *Keeper) Wait() { k.async.Wait() }

// ErrKeyTooLong refuses an Idempotency-Key longer than 255 characters.
var ErrKeyTooLong = errors.New("calls: Idempotency-Key is longer than 255 characters")

// ErrStateUnavailable reports that the shared state a request needs (an
// asynchronous call's record, an idempotency key) cannot be reached.
var ErrStateUnavailable = errors.New("calls: shared state unavailable")

// ErrKeyReused reports an Idempotency-Key sent again with another request.
var ErrKeyReused = errors.New("Idempotency-Key reused with a different request")

// ErrKeyInFlight reports an Idempotency-Key whose first call has not
// answered (yet, or in time, or for good: its instance died).
var ErrKeyInFlight = errors.New("the first request with this Idempotency-Key is still in progress")

// ErrKeyFreed reports an Idempotency-Key whose first call got no final
// answer: the key is free again, for a retry to run the call.
var ErrKeyFreed = errors.New("the first request with this Idempotency-Key got no final answer; send it again")

// ErrAnswerNotKept is the answer kept in place of one the bounds of the
// kept answers leave no room for (see keepAnswer).
var ErrAnswerNotKept = errors.New("the call ran, but its answer was not kept")

// Reply is an HTTP response that can be stored and replayed.
type Reply struct {
	Status int
	Header map[string]string
	Body   []byte
}

// Write writes the answer.
func (a Reply) Write(w http.ResponseWriter) {
	h := w.Header()
	// One backing array for every value: a call's answer is on the hot
	// path, and Header.Set would allocate a slice per header.
	vals := make([]string, 0, len(a.Header))
	for k, v := range a.Header {
		vals = append(vals, v)
		h[textproto.CanonicalMIMEHeaderKey(k)] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

// OK is a 200 with a JSON body and the reply's headers; it takes header
// over.
func OK(header map[string]string, body []byte) Reply {
	if header == nil {
		header = make(map[string]string, 1)
	}
	header["Content-Type"] = "application/json"
	return Reply{Status: http.StatusOK, Header: header, Body: body}
}

// Serve answers a call: at once, or asynchronously when the client
// prefers (RFC 7240 respond-async), and only once per Idempotency-Key across
// every instance. Every call is recorded while in flight (method, instance,
// deadline).
//
// The answers of asynchronous and idempotent calls are kept for ResultTTL,
// within StoredAnswers: room for one is taken from the caller's share, and
// from the total, before the call runs (429 or 503 beyond, with
// Retry-After), and resized to the answer when it comes (see keepAnswer).
//
// c.Fingerprint identifies the request for its Idempotency-Key; it is
// computed only for requests that carry one. A failure Serve returns has
// written nothing: the caller answers it (a problem document).
func (k *Keeper) Serve(w http.ResponseWriter, r *http.Request, c Job, run func(context.Context) Reply) error {
	method := c.Method
	async := preferAsync(r)
	key := r.Header.Get(HeaderIdempotencyKey)
	if len(key) > 255 {
		return ErrKeyTooLong
	}
	rec := state.CallRecord{ID: NewID(), Method: method, Instance: k.cfg.Instance, Owner: c.Owner, Deadline: time.Now().Add(k.cfg.CallTimeout)}
	keep := time.Duration(0)
	if async || key != "" {
		keep = k.cfg.ResultTTL
		rec.Client = c.Client
		// Room for the answer before anything: a call beyond the
		// bounds does not run.
		if err := k.cfg.Calls.Reserve(r.Context(), rec, state.AnswerOverhead, k.cfg.CallTimeout+time.Second+roomMargin, k.cfg.Bounds); err != nil {
			return stateError(w, err)
		}
	}
	// The call is recorded before its key is claimed: a retry that finds
	// the key bound, on any instance, then finds the call's record too,
	// and waits for its answer rather than take it for a call whose
	// instance died before answering.
	recorded := keep > 0 || !k.stateDown()
	if recorded {
		if err := k.cfg.Calls.Begin(k.stateContext(r.Context(), keep), rec, k.cfg.CallTimeout+time.Second); err != nil {
			if keep > 0 {
				k.finish(r.Context(), rec, Reply{}, 0) // its room
				return fmt.Errorf("%w: %v", ErrStateUnavailable, err)
			}
			// A plain call does not need the record: it goes on
			// without, and so do the next ones for a while.
			k.markStateDown()
			k.stateWarning("recording a call in flight", err)
			recorded = false
		}
	}
	scoped := ""
	var local *localCall
	if key != "" {
		fp, err := c.Fingerprint()
		if err != nil {
			k.finish(r.Context(), rec, Reply{}, 0)
			return err
		}
		// A retry on this instance waits for the call here (replay).
		local = k.inflight.start(rec.ID)
		scoped = idempotencyScope(rec.Client, key)
		boundID, boundFP, claimed, err := k.cfg.Calls.Claim(r.Context(), scoped, fp, rec.ID, k.cfg.IdempotencyTTL)
		if err != nil || !claimed {
			// This call will not run: forget its record.
			k.finish(r.Context(), rec, Reply{}, 0)
			k.inflight.end(local, Reply{}, false)
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrStateUnavailable, err)
		}
		if !claimed {
			return k.replay(w, r, boundID, boundFP != fp, async)
		}
	}
	if async {
		k.goAsync(r, rec, keep, scoped, local, run)
		location := "/requests/" + rec.ID
		w.Header().Set("Location", location)
		w.Header().Set(HeaderPreferenceApplied, "respond-async")
		edge.WriteJSON(w, http.StatusAccepted, RequestStatus{ID: rec.ID, Status: "pending", Method: method, Location: location})
		return nil
	}
	a := run(r.Context())
	switch {
	case scoped != "" && !final(a):
		// Not the module's answer (it may not have run): the key is
		// free again, and the answer not kept (IETF Idempotency-Key).
		k.releaseKey(r.Context(), scoped)
		k.finish(r.Context(), rec, a, 0)
		k.inflight.end(local, a, false)
	case recorded:
		kept, _ := k.finish(r.Context(), rec, a, keep)
		if scoped != "" {
			k.extendKey(r.Context(), scoped)
			// Final: replayed to the retries here even if the store
			// failed.
			k.inflight.end(local, kept, true)
		}
	}
	// The caller gets the answer itself, kept or not.
	a.Write(w)
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
		return fmt.Errorf("%w: %v", ErrStateUnavailable, err)
	}
	w.Header().Set("Retry-After", strconv.Itoa(int((qe.RetryAfter+time.Second-1)/time.Second)))
	return err
}

// final reports whether an answer is final, and so may be replayed for an
// Idempotency-Key: not a 503 (upstream or shared state unavailable), a 504
// (upstream timeout), nor a client gone (499). The IETF Idempotency-Key
// draft stores only answers a retry would not change. A 502 is final: the
// node failed after it had the request (a write's outcome unknown, package
// pool) or answered what the gateway cannot read; it may have done the
// call, so the retry gets the 502 again rather than running it twice.
func final(a Reply) bool {
	switch a.Status {
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout, StatusClientClosed, http.StatusTooManyRequests:
		return false
	}
	return true
}

// releaseKey frees an Idempotency-Key after a transient answer.
func (k *Keeper) releaseKey(ctx context.Context, key string) {
	if err := k.cfg.Calls.Release(context.WithoutCancel(ctx), key); err != nil {
		k.markStateDown()
		k.stateWarning("releasing an Idempotency-Key", err)
	}
}

// extendKey makes an Idempotency-Key live as long as the answer bound to
// it.
func (k *Keeper) extendKey(ctx context.Context, key string) {
	if err := k.cfg.Calls.Extend(context.WithoutCancel(ctx), key, k.cfg.ResultTTL); err != nil {
		k.markStateDown()
		k.stateWarning("extending an Idempotency-Key", err)
	}
}

// idempotencyScope is the name of an Idempotency-Key in the shared store:
// each client has keys of its own, so that nobody replays or blocks
// another's by sending its key. client is clientKey's: the credential, or
// the address of an anonymous caller (whose retry must then come from the
// same address, or the same IPv6 /64).
func idempotencyScope(client, key string) string {
	return Fingerprint(client) + " " + key
}

// stateDownFor is how long plain calls skip their in-flight record after
// recording one failed: while Redis is away each would otherwise wait for
// its own timeout.
const stateDownFor = 2 * time.Second

// markStateDown notes that the shared state just failed.
func (k *Keeper) markStateDown() { k.stateDownAt.Store(time.Now().UnixNano()) }

// stateDown reports whether the shared state failed in the last
// stateDownFor.
func (k *Keeper) stateDown() bool {
	at := k.stateDownAt.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < stateDownFor
}

// plainStateWait bounds what a plain call waits for its in-flight record:
// the call needs no shared state, and must not wait on a slow Redis.
const plainStateWait = 100 * time.Millisecond

// stateContext is the context of a call's shared-state operation: a plain
// call's (keep 0) waits at most plainStateWait.
func (k *Keeper) stateContext(ctx context.Context, keep time.Duration) context.Context {
	if keep > 0 || k.stateLocal {
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
func (k *Keeper) finish(ctx context.Context, rec state.CallRecord, a Reply, keep time.Duration) (Reply, bool) {
	if !k.stateLocal {
		// The answer is stored even if the client went away meanwhile.
		ctx = k.stateContext(context.WithoutCancel(ctx), keep)
	}
	if keep > 0 && rec.Client != "" {
		var err error
		if a, err = k.keepAnswer(ctx, rec, a, keep); err != nil {
			k.markStateDown()
			k.stateWarning("keeping a call's answer", err)
			return a, false
		}
	}
	rec.Status, rec.Header, rec.Body = a.Status, a.Header, a.Body
	if err := k.cfg.Calls.Finish(ctx, rec, keep); err != nil {
		k.markStateDown()
		k.stateWarning("storing a call's answer", err)
		return a, false
	}
	return a, keep > 0
}

// keepAnswer resizes the room of rec's answer to a, for keep, and returns
// the answer to keep: a itself, or, when a is larger than one kept answer
// may be (Config.MaxAnswerBytes) or than the room the caller's share or the
// total has left, a 507 problem document saying so, which the room taken
// when the call started holds (AnswerOverhead). So the gateway never keeps
// more than its bounds, whatever the answers: the caller of a synchronous
// call has the answer itself; a retry of its Idempotency-Key is told the
// call ran and gets no second run.
func (k *Keeper) keepAnswer(ctx context.Context, rec state.CallRecord, a Reply, keep time.Duration) (Reply, error) {
	rec.Status, rec.Header, rec.Body = a.Status, a.Header, a.Body
	size := state.AnswerSize(rec)
	why := ""
	if int64(len(a.Body)) > k.cfg.MaxAnswerBytes {
		why = fmt.Sprintf("its body (%d bytes) is larger than one kept answer may be (%d bytes)", len(a.Body), k.cfg.MaxAnswerBytes)
	} else {
		err := k.cfg.Calls.Reserve(ctx, rec, size, keep+roomMargin, k.cfg.Bounds)
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
	rec.Status, rec.Header, rec.Body = stub.Status, stub.Header, stub.Body
	// The stub fits the room taken at the start: this only sets its
	// lifetime.
	return stub, k.cfg.Calls.Reserve(ctx, rec, state.AnswerSize(rec), keep+roomMargin, k.cfg.Bounds)
}

// notKeptAnswer is what is kept of a call's answer that the bounds leave
// no room for: a 507 problem document saying why, with the reply's NULS
// headers. It is smaller than state.AnswerOverhead.
func notKeptAnswer(rec state.CallRecord, why string) Reply {
	// An RFC 9457 problem document, as the gateway's.
	status := http.StatusInsufficientStorage
	b, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
		Method string `json:"method,omitempty"`
	}{"about:blank", http.StatusText(status), status, ErrAnswerNotKept.Error() + ": " + why, rec.Method})
	h := map[string]string{"Content-Type": "application/problem+json"}
	for _, k := range []string{HeaderMessageID, HeaderRequestID} {
		if v := rec.Header[k]; v != "" && len(v) <= 64 {
			h[k] = v
		}
	}
	return Reply{Status: status, Header: h, Body: b}
}

// goAsync runs an asynchronous call on its own, owned by Run: shutdown waits
// for it to answer or time out.
func (k *Keeper) goAsync(r *http.Request, rec state.CallRecord, keep time.Duration, key string, local *localCall, run func(context.Context) Reply) {
	k.async.Add(1)
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer k.async.Done()
		a := run(ctx)
		// The answer is kept for /requests/{id} whatever it is; a key is
		// bound to it only when it is final.
		kept, _ := k.finish(ctx, rec, a, keep)
		switch {
		case key == "":
		case final(a):
			k.extendKey(ctx, key)
			k.inflight.end(local, kept, true)
		default:
			k.releaseKey(ctx, key)
			k.inflight.end(local, a, false)
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
func (k *Keeper) replay(w http.ResponseWriter, r *http.Request, id string, mismatch, async bool) error {
	if mismatch {
		return ErrKeyReused
	}
	if async {
		w.Header().Set("Location", "/requests/"+id)
		w.Header().Set(HeaderReplayed, "true")
		edge.WriteJSON(w, http.StatusAccepted, RequestStatus{ID: id, Status: "pending", Location: "/requests/" + id})
		return nil
	}
	if lc := k.inflight.get(id); lc != nil {
		timer := time.NewTimer(k.cfg.CallTimeout + 2*time.Second)
		defer timer.Stop()
		select {
		case <-lc.done:
		case <-r.Context().Done():
			return nil
		case <-timer.C:
			w.Header().Set("Retry-After", "1")
			return ErrKeyInFlight
		}
		if !lc.kept {
			w.Header().Set("Retry-After", "1")
			return ErrKeyFreed
		}
		w.Header().Set(HeaderReplayed, "true")
		lc.a.Write(w)
		return nil
	}
	rec, ok, err := k.cfg.Calls.Get(r.Context(), id)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrStateUnavailable, err)
	case ok && rec.Done:
		w.Header().Set(HeaderReplayed, "true")
		Reply{Status: rec.Status, Header: rec.Header, Body: rec.Body}.Write(w)
		return nil
	case !ok:
		// The first call's record is gone: its instance died before
		// answering, or its answer was not final. Whether the module
		// ran it is unknown.
		w.Header().Set("Retry-After", "1")
		return ErrKeyInFlight
	}
	// In flight on another instance: at once, no waiting on the store.
	wait := max(time.Until(rec.Deadline), time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	return ErrKeyInFlight
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
	a    Reply
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
func (in *inflight) end(lc *localCall, a Reply, kept bool) {
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
} //	@name	gateway.RequestStatus

// Answer writes the answer of the asynchronous call id for its owner (a
// credential's ID; "" for anonymous callers): 202 while it runs, then the
// call's own answer, until it expires. Another owner's call is unknown
// here. A failure it returns has written nothing.
func (k *Keeper) Answer(w http.ResponseWriter, r *http.Request, id, owner string) error {
	rec, ok, err := k.cfg.Calls.Get(r.Context(), id)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrStateUnavailable, err)
	case !ok || (rec.Owner != "" && rec.Owner != owner):
		// Another credential's answer is not there for this caller.
		return fmt.Errorf("%w: no call %s (or its result expired)", ErrUnknownRequest, id)
	case !rec.Done:
		w.Header().Set("Retry-After", "1")
		edge.WriteJSON(w, http.StatusAccepted, RequestStatus{ID: id, Status: "pending", Method: rec.Method, Location: "/requests/" + id})
	default:
		Reply{Status: rec.Status, Header: rec.Header, Body: rec.Body}.Write(w)
	}
	return nil
}

// ErrUnknownRequest reports an asynchronous call this caller has none of
// (never made, another's, or expired).
var ErrUnknownRequest = errors.New("unknown request")

// preferAsync reports whether the request asks for an asynchronous answer.
func preferAsync(r *http.Request) bool { return Prefers(r, "respond-async") }

// Prefers reports whether r's Prefer headers (RFC 7240) hold the
// preference token, as "respond-async" or "bigint=number", its parameters
// after ";" aside.
func Prefers(r *http.Request, token string) bool {
	for _, v := range r.Header.Values("Prefer") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(strings.SplitN(p, ";", 2)[0]), token) {
				return true
			}
		}
	}
	return false
}

// NewID returns a random call ID: 32 hex digits.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Fingerprint identifies a request for idempotency: its route and its
// canonical parameters.
func Fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// stateWarning logs a failure of the shared state that a call survived,
// at most once a second so that Redis being away does not flood the log.
func (k *Keeper) stateWarning(what string, err error) {
	now := time.Now().Unix()
	if last := k.lastStateWarning.Load(); last == now || !k.lastStateWarning.CompareAndSwap(last, now) {
		return
	}
	k.logger.Warn("shared state unavailable; "+what+" skipped", slog.Any("err", err))
}

// Recorder is an http.ResponseWriter that keeps what is written as an
// Answer: the gateway's problem documents for calls, written by its one
// error writer.
type Recorder struct {
	h      http.Header
	status int
	body   []byte
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{h: http.Header{}} }

// Header implements http.ResponseWriter.
func (a *Recorder) Header() http.Header { return a.h }

// WriteHeader implements http.ResponseWriter.
func (a *Recorder) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

// Write implements http.ResponseWriter.
func (a *Recorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	a.body = append(a.body, b...)
	return len(b), nil
}

// Reply is what was written: StatusClientClosed when nothing was (the
// error writer writes nothing for a client gone).
func (a *Recorder) Reply() Reply {
	h := map[string]string{}
	for k, v := range a.h {
		h[k] = strings.Join(v, ", ")
	}
	status := a.status
	if status == 0 {
		status = StatusClientClosed
	}
	return Reply{Status: status, Header: h, Body: a.body}
}

// ReplyHeaders are the headers of an upstream reply, as an answer keeps
// them: its MessageIDs and processing time (with Server-Timing).
func ReplyHeaders(messageID, requestID, processingTime string) map[string]string {
	h := make(map[string]string, 5) // with OK's Content-Type
	h[HeaderMessageID], h[HeaderRequestID] = messageID, requestID
	if processingTime != "" {
		h[HeaderProcessingTime] = processingTime
		if _, err := strconv.ParseFloat(processingTime, 64); err == nil {
			h["Server-Timing"] = "upstream;dur=" + processingTime
		}
	}
	return h
}
