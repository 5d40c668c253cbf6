package streams

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/slots"
	"github.com/nuls-gateway/nuls-gateway/gateway/sse"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// HeaderSubscription says how a stream's subscription is served: pushed
// (by the upstream) or polled (the gateway calls the method).
const HeaderSubscription = "X-Nuls-Subscription"

// Gateway is what the streams ask of the gateway for each request: who
// the caller is, what it may stream, what a stream costs it, and its
// stream slots. Implementations are safe for concurrent use.
type Gateway interface {
	// Caller is the authenticated caller of r.
	Caller(r *http.Request) *auth.Principal
	// Access decides whether p may call method, and returns what the
	// listing says of it (known is false when the upstream lists
	// nothing) and what the policy decided. It does not check the
	// parameters.
	Access(ctx context.Context, p *auth.Principal, method string) (info bridge.MethodInfo, known bool, d policy.Decision, err error)
	// CheckSecretParams refuses params that carry a secret p may not
	// send.
	CheckSecretParams(p *auth.Principal, method string, d policy.Decision, params []byte) error
	// Deny is the refusal of what p asked for, which needs scope, and
	// counts it.
	Deny(p *auth.Principal, what, scope string) error
	// Weight is what one call of method costs: a stream of it costs its
	// weight once.
	Weight(method string) int
	// Admit spends cost units of p's rate plan and sets the rate limit
	// headers on w; beyond the plan, the error to answer.
	Admit(w http.ResponseWriter, r *http.Request, p *auth.Principal, cost int) error
	// Slot takes one of p's stream slots for a stream following topic.
	Slot(r *http.Request, p *auth.Principal, topic string) (*slots.Slot, error)
	// Streaming records that r opened a stream: its duration is a
	// lifetime, not a latency.
	Streaming(r *http.Request)
}

// Hub is what the streams use of a *subscriptions.Hub.
type Hub interface {
	Join(ctx context.Context, key subscriptions.Key, lastEventID string) (*subscriptions.Member, error)
	JoinLocal(name, lastEventID string) (*subscriptions.Member, error)
}

// Pump takes a stream over from net/http (*sse.Pump): it reports false
// when it cannot, and the handler serves the stream.
type Pump interface {
	Detach(w http.ResponseWriter, r *http.Request, st sse.Stream) bool
}

// Metrics counts the streams served by their handler, and the resumed
// ones.
type Metrics interface {
	sse.Observer
	// Resumed counts a stream opened with a Last-Event-ID.
	Resumed()
}

// Config is what the streams need beside the Gateway. Every field is
// required but HandlerStreams and EventPollInterval.
type Config struct {
	// Gateway is the caller's side of each request.
	Gateway Gateway
	// Hub shares the subscriptions behind the streams.
	Hub Hub
	// Upstream serves the NULS methods: it tells whether a subscription
	// is pushed or polled, and gives the headers a stream starts from.
	Upstream upstream.Upstream
	// Pump serves the HTTP/1.1 streams taken over from net/http.
	Pump Pump
	// Rights ends a stream whose caller's credential no longer holds.
	Rights sse.Rights
	// Metrics counts the streams.
	Metrics Metrics
	// EndData is the data of the end event of a stream ended by err,
	// for the request at path: the gateway's problem document.
	EndData func(err error, path string) []byte
	// Done, when closed, ends every stream (the server shuts down).
	Done <-chan struct{}
	// HandlerStreams serves every stream from its handler goroutine
	// instead of handing HTTP/1.1 streams to the Pump.
	HandlerStreams bool
	// EventPollInterval is upstream.Feeds.PollEvents: zero when event
	// subscriptions are the upstream's.
	EventPollInterval time.Duration
	// CallTimeout bounds an upstream call (a header fetched).
	CallTimeout time.Duration
	// Heartbeat is the interval of the keep-alive comments.
	Heartbeat time.Duration
	// RetryHint is the SSE retry: sent to clients.
	RetryHint time.Duration
	// WriteTimeout bounds each write of a stream.
	WriteTimeout time.Duration
}

// Server serves the streams. Its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	g      Gateway
	logger *slog.Logger
	// backfills bounds the streams fetching headers at once (see
	// backfillHeaders): each holds up to maxBackfill of them.
	backfills chan struct{}
}

// New returns a Server serving streams as cfg says; logger nil logs
// nothing.
func New(cfg Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, g: cfg.Gateway, logger: logger, backfills: make(chan struct{}, MaxConcurrentBackfills)}
}

// ServeMethod serves GET /rpc/{method}/stream: the method's pushes as
// Server-Sent Events. It returns an error only when it has written
// nothing, for the gateway to answer.
func (s *Server) ServeMethod(w http.ResponseWriter, r *http.Request) error {
	js, err := s.join(w, r)
	if err != nil {
		return err
	}
	if js.backfill != nil {
		defer js.backfill.free() // if the stream ends before they are written
	}
	s.g.Streaming(r)
	if js.backfill == nil && !s.cfg.HandlerStreams && s.cfg.Pump.Detach(w, r, sse.Stream{Member: js.m, Release: js.slot.Release, LastID: js.lastID, Caller: js.p}) {
		return nil
	}
	defer js.slot.Release()
	defer js.m.Close()
	s.serve(w, r, js)
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

// join authorizes the subscription a stream asks for, takes the caller's
// stream slot and joins the topic, or returns the error. On success the
// caller owns the slot and the member. It is apart from ServeMethod so
// that its locals are off the stack while the stream lasts (see serve).
func (s *Server) join(w http.ResponseWriter, r *http.Request) (joined, error) {
	p := s.g.Caller(r)
	method := chi.URLParam(r, "method")
	if err := s.g.Admit(w, r, p, s.g.Weight(method)); err != nil {
		return joined{}, err
	}
	q := r.URL.Query()
	from, hasFrom, err := fromHeight(method, q)
	if err != nil {
		return joined{}, err
	}
	key, err := s.Key(r.Context(), p, method, q)
	if err != nil {
		return joined{}, err
	}
	// How the subscription is served: pushed by the upstream, or polled
	// by the gateway (see upstream.Polled).
	mode := "pushed"
	if upstream.Polled(s.cfg.Upstream, s.cfg.EventPollInterval, key.Method, key.Period) {
		mode = "polled"
	}
	w.Header().Set(HeaderSubscription, mode)
	js := joined{lastID: lastEventID(r), p: p}
	pos, last, err := sse.SplitID(js.lastID)
	if err != nil {
		return joined{}, bad(err.Error())
	}
	byHeight := last >= 0 && chainTopic(key)
	if !byHeight {
		pos = js.lastID // a height is a part of no other stream's IDs
	}
	if js.slot, err = s.g.Slot(r, p, key.Topic()); err != nil {
		return joined{}, err
	}
	if js.m, err = s.cfg.Hub.Join(r.Context(), key, pos); err != nil {
		js.slot.Release()
		return joined{}, err
	}
	if js.lastID != "" {
		s.cfg.Metrics.Resumed()
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

// ServeNotifications serves GET /notifications: the Notifications of the
// Manager and modules (D15), to a caller with the admin scope. It returns
// an error only when it has written nothing, for the gateway to answer.
func (s *Server) ServeNotifications(w http.ResponseWriter, r *http.Request) error {
	p := s.g.Caller(r)
	if !p.HasScope(bridge.ScopeAdmin) {
		return s.g.Deny(p, "the notifications", bridge.ScopeAdmin)
	}
	if err := s.g.Admit(w, r, p, 1); err != nil {
		return err
	}
	js := joined{lastID: lastEventID(r), p: p}
	var err error
	if js.slot, err = s.g.Slot(r, p, upstream.NotificationsTopic); err != nil {
		return err
	}
	if js.m, err = s.cfg.Hub.JoinLocal(upstream.NotificationsTopic, js.lastID); err != nil {
		js.slot.Release()
		return err
	}
	if js.lastID != "" {
		s.cfg.Metrics.Resumed()
	}
	s.g.Streaming(r)
	if !s.cfg.HandlerStreams && s.cfg.Pump.Detach(w, r, sse.Stream{Member: js.m, Release: js.slot.Release, LastID: js.lastID, Caller: js.p}) {
		return nil
	}
	defer js.slot.Release()
	defer js.m.Close()
	s.serve(w, r, js)
	return nil
}

func lastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	return r.URL.Query().Get("lastEventId")
}
