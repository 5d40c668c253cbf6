package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/cache"
	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
	"github.com/nuls-gateway/nuls-gateway/gateway/compoundhttp"
	"github.com/nuls-gateway/nuls-gateway/gateway/documents"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/gateway/metrics"
	"github.com/nuls-gateway/nuls-gateway/gateway/nulsapihttp"
	"github.com/nuls-gateway/nuls-gateway/gateway/nulstarhttp"
	"github.com/nuls-gateway/nuls-gateway/gateway/slots"
	"github.com/nuls-gateway/nuls-gateway/gateway/sse"
	"github.com/nuls-gateway/nuls-gateway/gateway/streams"
	"github.com/nuls-gateway/nuls-gateway/internal/buildinfo"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
	"github.com/nuls-gateway/nuls-gateway/state"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// Defaults of Config.
const (
	defaultMaxBodyBytes   = 1 << 20 // 1 MiB
	defaultCallTimeout    = 10 * time.Second
	defaultMaxStreams     = 20000
	defaultHeartbeat      = 15 * time.Second
	defaultRetryHint      = 3 * time.Second
	defaultWriteTimeout   = 10 * time.Second
	defaultCatalogRefresh = time.Minute

	defaultMaxStreamsPerClient = 100
	defaultMaxTopicsPerClient  = 20
	defaultBodyTimeout         = 10 * time.Second
	defaultMaxCompounds        = 100
	// defaultMaxBatchAnswerBytes bounds the answers of one batch
	// together (Config.MaxBatchAnswerBytes).
	defaultMaxBatchAnswerBytes = 16 << 20

	// Bounds of the kept answers (Config.StoredAnswers): one client's
	// asynchronous and idempotent calls of the last ResultTTL (10 minutes)
	// at 1.6 a second, each answer 1 MiB at most; all of them within a
	// quarter of a GiB.
	defaultStoredAnswersPerClient           = 1000
	defaultStoredAnswerBytesPerClient       = 16 << 20
	defaultStoredAnswers                    = 100_000
	defaultStoredAnswerBytes                = 256 << 20
	defaultMaxStoredAnswerBytes       int64 = 1 << 20
)

// streamHub is what the gateway uses of a *subscriptions.Hub.
type streamHub interface {
	Join(ctx context.Context, key subscriptions.Key, lastEventID string) (*subscriptions.Member, error)
	JoinLocal(name, lastEventID string) (*subscriptions.Member, error)
	Publish(name, typ string, data []byte) error
	Stats() subscriptions.Stats
	Stalled() error
	// Grace is how long a topic outlives its last reader.
	Grace() time.Duration
}

// methodRegistry is what the gateway uses of its own *bridge.Module: the
// compound methods are registered there so that RegisterAPI announces them
// (D14).
type methodRegistry interface {
	Register(bridge.Method) error
	Unregister(name string) bool
}

// Config configures a Server. Upstream and Hub are required.
type Config struct {
	// Upstream serves the NULS methods.
	Upstream upstream.Upstream
	// Hub shares the subscriptions behind the streams.
	Hub streamHub
	// Cache, when set, answers the reads that can no longer change (a
	// block deep enough, package cache) without the node.
	Cache *cache.Cache
	// Module is the gateway's own NULS module, when it registers with a
	// Manager; nil otherwise.
	Module methodRegistry
	// Compounds stores the compound methods. Default: in memory.
	Compounds compound.Store
	// Calls records the calls in flight, the answers of asynchronous and
	// idempotent calls, and the idempotency keys. Default: in memory.
	Calls state.Calls
	// Documents keeps the discovered method list for every instance to
	// answer the same. Default: in memory.
	Documents state.Documents
	// Instance names this gateway instance in call records. Default: a
	// random name.
	Instance string
	// ResultTTL is how long the answer of an asynchronous or idempotent
	// call is kept. Default 10m.
	ResultTTL time.Duration
	// StoredAnswers bound the answers kept for ResultTTL (asynchronous and
	// idempotent calls), in memory or in Redis (then for every instance
	// together): per client (a credential, or an address when anonymous)
	// and in all, by count and by bytes. Room for an answer is taken when
	// its call starts: beyond the client's share a call gets 429, beyond
	// the total 503, both with Retry-After. A zero field gets its default:
	// 1000 answers and 16 MiB per client, 100,000 and 256 MiB in all.
	StoredAnswers state.AnswerBounds
	// MaxStoredAnswerBytes bounds one kept answer's body. A larger answer
	// (or one the caller's share has no room left for) is given to the
	// caller of a synchronous call, and kept as a 507 problem document
	// saying it was not kept. Default 1 MiB.
	MaxStoredAnswerBytes int64
	// IdempotencyTTL is how long an Idempotency-Key is held while its
	// first call runs, if the instance dies before answering. Once the
	// answer is there, the key lives as long as it (ResultTTL); a
	// transient answer (503, 504) frees it. Default ResultTTL.
	IdempotencyTTL time.Duration
	// EventPollInterval is Feeds.PollEvents, for the stream answers to
	// say how their subscription is served. Zero: event subscriptions are
	// the upstream's.
	EventPollInterval time.Duration
	// Catalog describes the methods when the upstream lists none, and adds
	// what a listing cannot say (required parameters, result types,
	// events). Nil: none.
	Catalog *catalog.Catalog
	// Registry receives the gateway's metrics. Default: a new registry.
	// It must not hold them already: one Server per registry (New fails).
	Registry *prometheus.Registry
	// ChainID is the chain the nuls-api profile's methods that take no
	// chainId serve (getNetworkInfo), as nuls-api reads it from its
	// configuration. 0: they need one given.
	ChainID int
	// PublicServiceURL is the JSON-RPC URL of a NULS public-service
	// (such as http://public-service:18003/), to which the nuls-api
	// profile forwards the read methods only public-service answers.
	// Empty: they are refused, saying so.
	PublicServiceURL string
	// Tracer, when set, traces every request (a server span continuing
	// the caller's traceparent) and every upstream call (a client span
	// with the NULS MessageIDs). Nil: no tracing (package tracing).
	Tracer trace.Tracer
	// ReadyChecks are extra readiness checks (Redis), each named.
	ReadyChecks map[string]func(context.Context) error
	// ReadyWarnings are told in every /readyz answer without failing it:
	// that the upstream is a simulated node.
	ReadyWarnings []string
	// Scopes are the method scopes the gateway exposes at all: a caller
	// reaches a method if its credential has the method's scope and the
	// scope is here. Default ["public"].
	Scopes []string
	// Auth authenticates callers. Default: every caller is anonymous with
	// the public scope (auth.Open, the embedded default).
	Auth authenticator
	// AllowKernelCommands lets credentials with the admin scope call the
	// kernel commands (status, shutdown, terminate, confGet, confSet,
	// confReset). Default false: nobody can.
	AllowKernelCommands bool
	// UnlistedScope is the scope given to the methods the catalog does not
	// know (a name only the upstream lists, or one nobody lists). Default
	// "": such methods are not callable.
	UnlistedScope string
	// Policy decides each method's scope, streams and parameter bounds
	// (package policy). Default: one built from Catalog (the NULS 2
	// catalog when nil), UnlistedScope and AllowKernelCommands.
	Policy *policy.Policy
	// Limiter meters callers (rate limits). Nil: no rate limits.
	Limiter ratelimit.Limiter
	// Plans are the rate plans by name. With a Limiter they must hold
	// DefaultPlan and AnonymousPlan.
	Plans map[string]ratelimit.Plan
	// DefaultPlan is the plan of credentials that name none. Default
	// "default".
	DefaultPlan string
	// AnonymousPlan is the plan of anonymous callers, per address, and of
	// failed authentications. Default "anonymous".
	AnonymousPlan string
	// Weights are what one call of a method costs; default 1. A batch
	// costs the sum of its methods, a stream its method's weight once.
	Weights map[string]int
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client, for per-address limits. Default none: the peer is the
	// client.
	TrustedProxies []netip.Prefix
	// MaxStreamsPerClient bounds one client's concurrent streams (a
	// credential, or an address when anonymous). Default 100.
	MaxStreamsPerClient int
	// MaxTopicsPerClient bounds the distinct subscriptions one client's
	// streams follow. Default 20.
	MaxTopicsPerClient int
	// BodyTimeout bounds the time a client takes to send a request body.
	// Default 10s.
	BodyTimeout time.Duration
	// MaxCompounds bounds the compound methods. Default 100.
	MaxCompounds int
	// MaxBodyBytes bounds request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// MaxBatchAnswerBytes bounds the answers of one batch (JSON-RPC, the
	// nuls-api profile), together: beyond it the batch's remaining
	// requests are refused. Default 16 MiB.
	MaxBatchAnswerBytes int64
	// CallTimeout bounds an upstream call. Default 10s (D19).
	CallTimeout time.Duration
	// MaxStreams bounds the concurrent SSE streams. Default 20000.
	MaxStreams int
	// Heartbeat is the interval of SSE keep-alive comments. Default 15s.
	Heartbeat time.Duration
	// RetryHint is the SSE retry: sent to clients. Default 3s.
	RetryHint time.Duration
	// WriteTimeout bounds each SSE write; a client that cannot take an
	// event in that time is dropped. Default 10s.
	WriteTimeout time.Duration
	// HandlerStreams serves every stream from its handler goroutine, as
	// over HTTP/2, instead of handing HTTP/1.1 streams to the pump (see
	// package sse): the fallback of the detached streams.
	HandlerStreams bool
	// CatalogRefresh is the interval of method discovery. Default 1m.
	CatalogRefresh time.Duration
	// CORSOrigins are the origins (scheme://host[:port]) whose browser
	// pages may call the gateway and open its streams; "*" allows every
	// origin. Default none: no CORS headers.
	CORSOrigins []string
	// AccessLog logs one line per request at INFO: its method, path
	// (never the query, where a stream's ticket may be), status,
	// duration, bytes written and remote address; never a body nor a
	// header, so never a key or a token. Default false: those lines are
	// at DEBUG.
	AccessLog bool
}

func (c Config) withDefaults() Config {
	if c.Compounds == nil {
		c.Compounds = compound.NewMemoryStore()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.Calls == nil {
		c.Calls = state.NewMemoryCalls()
	}
	if c.Documents == nil {
		c.Documents = state.NewMemoryDocuments()
	}
	if c.Instance == "" {
		c.Instance = "gw-" + calls.NewID()[:8]
	}
	if c.ResultTTL <= 0 {
		c.ResultTTL = 10 * time.Minute
	}
	if c.IdempotencyTTL <= 0 {
		c.IdempotencyTTL = c.ResultTTL
	}
	if c.StoredAnswers.PerClient <= 0 {
		c.StoredAnswers.PerClient = defaultStoredAnswersPerClient
	}
	if c.StoredAnswers.PerClientBytes <= 0 {
		c.StoredAnswers.PerClientBytes = defaultStoredAnswerBytesPerClient
	}
	if c.StoredAnswers.Total <= 0 {
		c.StoredAnswers.Total = defaultStoredAnswers
	}
	if c.StoredAnswers.TotalBytes <= 0 {
		c.StoredAnswers.TotalBytes = defaultStoredAnswerBytes
	}
	if c.MaxStoredAnswerBytes <= 0 {
		c.MaxStoredAnswerBytes = defaultMaxStoredAnswerBytes
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{string(bridge.ScopePublic)}
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.MaxBatchAnswerBytes <= 0 {
		c.MaxBatchAnswerBytes = defaultMaxBatchAnswerBytes
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = defaultCallTimeout
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = defaultMaxStreams
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = defaultHeartbeat
	}
	if c.RetryHint <= 0 {
		c.RetryHint = defaultRetryHint
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = defaultWriteTimeout
	}
	if c.CatalogRefresh <= 0 {
		c.CatalogRefresh = defaultCatalogRefresh
	}
	if c.Auth == nil {
		c.Auth = auth.Open()
	}
	if c.DefaultPlan == "" {
		c.DefaultPlan = "default"
	}
	if c.AnonymousPlan == "" {
		c.AnonymousPlan = "anonymous"
	}
	if c.MaxStreamsPerClient <= 0 {
		c.MaxStreamsPerClient = defaultMaxStreamsPerClient
	}
	if c.MaxTopicsPerClient <= 0 {
		c.MaxTopicsPerClient = defaultMaxTopicsPerClient
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = defaultBodyTimeout
	}
	if c.MaxCompounds <= 0 {
		c.MaxCompounds = defaultMaxCompounds
	}
	return c
}

// Server is the HTTP and SSE front door: plain HTTP calls become NULS
// Requests, subscriptions become Server-Sent Event streams.
//
// Its handlers are safe for concurrent use. Run owns its background work;
// streams end when the context given to Run ends.
type Server struct {
	cfg Config
	// types is the catalog whose result types say where the amounts are
	// (exactAmounts): Config.Catalog, or the NULS 2 modules'.
	types   *catalog.Catalog
	logger  *slog.Logger
	listing *upstream.Listing
	// described keeps the documents describing the methods.
	described *documents.Cache
	metrics   *metrics.Metrics
	handler   http.Handler
	router    chi.Router

	// slots bounds the streams, in all and per client.
	slots *slots.Slots
	// policies are the RateLimit-Policy values of the plans, made once:
	// every metered answer carries one. Never modified after New.
	policies map[string][]string
	// pump writes the streams taken over from net/http.
	pump *sse.Pump
	// streams serves the SSE streams, handing HTTP/1.1 ones to pump.
	streams *streams.Server
	// nulstar serves the Nulstar Connector's HTTP endpoint.
	nulstar *nulstarhttp.Endpoint
	// profile serves the nuls-api profile.
	profile *nulsapihttp.Endpoint
	// guard is the HTTP edge's protections: the cross-origin guard, CORS,
	// the bodies' bounds, the client's address.
	guard *edge.Guard
	// rights ends the streams and sockets whose credential no longer
	// holds; Run runs it.
	rights *auth.Watcher

	// compounds serves the compound methods and announces them on the
	// module; Run keeps them in step with the store.
	compounds *compoundhttp.Endpoint

	// calls answers calls at once or later, once per Idempotency-Key,
	// and keeps their answers; Run waits for its asynchronous calls.
	calls *calls.Keeper
	// lastStateWarning is the unix second of the last warning of the
	// shared state away (at most one a second).
	lastStateWarning atomic.Int64
	// streamsDone ends every stream: closed when Run's context ends,
	// before the HTTP server shuts down (http.Server.Shutdown does not end
	// long-lived handlers).
	streamsDone chan struct{}
}

// New returns a Server; Run starts its background work. New does no I/O:
// Run announces the stored compound methods.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	if cfg.Upstream == nil || cfg.Hub == nil {
		return nil, errors.New("gateway: Config needs Upstream and Hub")
	}
	if err := edge.CheckOrigins(cfg.CORSOrigins); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	cfg = cfg.withDefaults()
	if cfg.Policy == nil {
		static := cfg.Catalog
		if static == nil {
			static = catalog.NULS2()
		}
		pol, err := policy.New(policy.Config{Catalog: static, UnlistedScope: cfg.UnlistedScope, AllowKernelCommands: cfg.AllowKernelCommands})
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		cfg.Policy = pol
	}
	if cfg.Limiter != nil {
		for _, name := range []string{cfg.DefaultPlan, cfg.AnonymousPlan} {
			if _, ok := cfg.Plans[name]; !ok {
				return nil, fmt.Errorf("gateway: no rate plan %q", name)
			}
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	types := cfg.Catalog
	if types == nil {
		types = catalog.NULS2()
	}
	s := &Server{
		types: types,
		cfg:   cfg,
		calls: calls.NewKeeper(calls.Config{Calls: cfg.Calls, Instance: cfg.Instance, CallTimeout: cfg.CallTimeout,
			ResultTTL: cfg.ResultTTL, IdempotencyTTL: cfg.IdempotencyTTL, Bounds: cfg.StoredAnswers,
			MaxAnswerBytes: cfg.MaxStoredAnswerBytes}, logger),
		// No redirects: the operator's URL is the one asked.
		logger: logger,
		listing: upstream.NewListing(upstream.ListingConfig{Upstream: cfg.Upstream, Documents: cfg.Documents,
			Catalog: cfg.Catalog, Policy: cfg.Policy, CallTimeout: cfg.CallTimeout}, logger),
		slots: slots.New(slots.Config{Max: cfg.MaxStreams, PerClient: cfg.MaxStreamsPerClient, PerClientTopics: cfg.MaxTopicsPerClient,
			Grace: cfg.Hub.Grace(), Lingers: lingers}),
		streamsDone: make(chan struct{}),
	}
	s.rights = auth.NewWatcher(cfg.Auth.Recheck)
	s.described = documents.New(documents.Input{
		Version:    buildinfo.Version(),
		Generation: s.listing.Generation,
		Compounds:  cfg.Compounds.List,
		Describe:   s.methodDocs,
		Anonymous:  cfg.Auth.AllowsAnonymous,
	})
	s.policies = make(map[string][]string, len(cfg.Plans))
	for name, p := range cfg.Plans {
		if !p.Unlimited() {
			s.policies[name] = []string{p.PolicyHeader()}
		}
	}
	var err error
	s.metrics, err = metrics.New(cfg.Registry, metrics.Sources{
		Reconnects: reconnectsOf(cfg.Upstream),
		Topics:     func() int { return cfg.Hub.Stats().Topics },
		Ready:      func() bool { return cfg.Upstream.Ready() == nil },
		Modules:    healthOf(cfg.Upstream),
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	s.guard, err = edge.NewGuard(edge.GuardConfig{MaxBodyBytes: cfg.MaxBodyBytes, BodyTimeout: cfg.BodyTimeout,
		Origins: cfg.CORSOrigins, TrustedProxies: cfg.TrustedProxies, AllowHeaders: corsAllowHeaders, ExposeHeaders: corsExposeHeaders,
		Refuse: s.writeError})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	s.pump = sse.NewPump(sse.Config{RetryHint: cfg.RetryHint, WriteTimeout: cfg.WriteTimeout, Heartbeat: cfg.Heartbeat,
		Metrics: s.metrics, Rights: s.rights, EndData: endData})
	s.streams = streams.New(streams.Config{Gateway: streamGate{s: s}, Hub: cfg.Hub, Upstream: cfg.Upstream, Pump: s.pump,
		Rights: s.rights, Metrics: s.metrics, EndData: endData, Done: s.streamsDone, HandlerStreams: cfg.HandlerStreams,
		EventPollInterval: cfg.EventPollInterval, CallTimeout: cfg.CallTimeout, Heartbeat: cfg.Heartbeat,
		RetryHint: cfg.RetryHint, WriteTimeout: cfg.WriteTimeout}, logger)
	s.compounds = compoundhttp.New(compoundhttp.Config{Backend: compoundGate{s: s}, Store: cfg.Compounds, Max: cfg.MaxCompounds,
		Module: cfg.Module}, logger)
	s.nulstar = nulstarhttp.New(nulstarhttp.Config{Backend: nulstarGate{s: s}, RetryAfter: retryAfterSeconds}, logger)
	profile := nulsapihttp.Config{Backend: nulsAPIBackend{s: s}, ChainID: cfg.ChainID, MaxAnswerBytes: cfg.MaxBatchAnswerBytes,
		RetryAfter: retryAfterSeconds}
	if cfg.PublicServiceURL != "" {
		profile.PublicService = upstream.NewPublicService(cfg.PublicServiceURL, cfg.CallTimeout)
	}
	s.profile = nulsapihttp.New(profile, logger)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Run announces the stored compound methods and keeps them in step with
// the store, discovers the upstream methods periodically, and checks the
// rights of open streams and sockets again, until ctx ends; then it ends
// every stream.
func (s *Server) Run(ctx context.Context) error {
	defer close(s.streamsDone)
	defer s.pump.Shutdown()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.compounds.Sync(ctx)
	}()
	wg.Go(func() { s.rights.Run(ctx) })
	s.listing.Run(ctx, s.cfg.CatalogRefresh)
	wg.Wait()
	// Asynchronous calls already accepted are answered (or time out)
	// before the upstream goes away.
	s.calls.Wait()
	return nil
}

// routes builds the router: one place for every route.
//
// Every answer is marked nosniff; cross-site requests from origins not
// allowed are refused before any route runs; the routes that call the
// upstream or change state authenticate their caller (the anonymous policy
// may let it in) and bound their bodies.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	s.router = r
	s.useCommon(r)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	// Probes: open to all. Probes and documents answer HEAD as GET
	// (RFC 9110 9.3.2); streams do not, since a HEAD must not subscribe.
	getHead(r, "/healthz", s.healthz)
	getHead(r, "/readyz", s.readyz)
	r.Handle("/metrics", s.metrics.Handler())
	// Documents: open to all, within the address's anonymous quota
	// (each is built once per change of the methods: package documents).
	r.Group(func(r chi.Router) {
		r.Use(s.meterAddress)
		getHead(r, "/openapi.json", s.handle(s.openAPI))
		getHead(r, "/openrpc.json", s.handle(s.openRPC))
		getHead(r, "/docs", s.docsRedirect)
		// What the Swagger UI page asks for by default: the same
		// document.
		getHead(r, "/docs/doc.json", s.handle(s.openAPI))
		getHead(r, "/docs/*", s.docs)
		getHead(r, "/methods", s.handle(s.listMethods))
		getHead(r, "/compound-methods", s.handle(s.listCompounds()))
	})

	r.Group(func(r chi.Router) {
		r.Use(s.authenticate)
		r.With(s.guard.LimitBody).Post("/rpc", s.handle(s.callMany))
		r.With(s.guard.LimitBody).Post("/rpc/{method}", s.handle(s.call))
		r.With(s.guard.LimitBody).Post("/rpc/{method}/each", s.handle(s.callEach))
		r.With(s.guard.LimitBody).Post("/jsonrpc", s.handle(s.jsonRPC))
		r.With(s.guard.LimitAnyBody).Post("/nulstar", s.handle(s.nulstarHTTP()))
		r.With(s.guard.LimitBody).Post("/nuls-api/jsonrpc", s.handle(s.nulsAPI()))
		r.With(s.guard.LimitBody).Post("/nuls-api/jsonrpc/", s.handle(s.nulsAPI()))
		r.Get("/requests/{id}", s.handle(s.getRequest))
		r.With(s.guard.LimitBody).Post("/stream-tickets", s.handle(s.streamTicket))
		// What every instance serves and the Manager is told: admin.
		r.With(s.requireAdmin, s.guard.LimitBody).Post("/compound-methods", s.handle(s.createCompound()))
		r.With(s.requireAdmin).Delete("/compound-methods/{name}", s.handle(s.deleteCompound()))
		r.With(s.requireAdmin).Get("/nodes", s.handle(s.listNodes))
	})
	r.Group(func(r chi.Router) {
		// Streams are long-lived: no timeout middleware here.
		r.Use(s.authenticateStream)
		r.Get("/rpc/{method}/stream", s.handle(s.stream()))
		r.Get("/notifications", s.handle(s.notifications()))
		r.Get("/jsonrpc", s.handle(s.jsonRPCSocket))
	})
	return r
}

// NulstarHandler serves the Nulstar Connector's HTTP endpoint at POST /,
// for a listener of its own (cmd/gateway --nulstar-listen): what POST
// /nulstar does, behind the same guards.
func (s *Server) NulstarHandler() http.Handler {
	return s.ownListener(func(r chi.Router) {
		r.With(s.authenticate, s.guard.LimitAnyBody).Post("/", s.handle(s.nulstarHTTP()))
	})
}

// NulsAPIHandler serves the nuls-api profile at POST /jsonrpc, for a
// listener of its own (cmd/gateway --nuls-api-listen, nuls-api's port
// 18004): what POST /nuls-api/jsonrpc does, behind the same guards.
func (s *Server) NulsAPIHandler() http.Handler {
	return s.ownListener(func(r chi.Router) {
		// The SDKs join their base URL (…/jsonrpc) and "/".
		r.With(s.authenticate, s.guard.LimitBody).Post("/jsonrpc", s.handle(s.nulsAPI()))
		r.With(s.authenticate, s.guard.LimitBody).Post("/jsonrpc/", s.handle(s.nulsAPI()))
	})
}

// ownListener is a router for a listener of its own with the middleware
// every route of the main one has.
func (s *Server) ownListener(routes func(chi.Router)) http.Handler {
	r := chi.NewRouter()
	s.useCommon(r)
	r.NotFound(s.notFound)
	routes(r)
	return r
}

// useCommon puts the middleware of every route on r: the request's state,
// its trace, nosniff, the access log, panics recovered, CORS and the
// cross-origin guard.
func (s *Server) useCommon(r chi.Router) {
	r.Use(edge.Track(s.cfg.BodyTimeout), s.countInFlight)
	if s.cfg.Tracer != nil {
		r.Use(s.traceRequests)
	}
	r.Use(edge.SecureHeaders, s.accessLog, middleware.Recoverer)
	if len(s.cfg.CORSOrigins) > 0 {
		r.Use(s.guard.CORS)
	}
	r.Use(s.guard.CrossOrigin)
}

// getHead routes GET and HEAD of pattern to h; net/http sends no body for
// a HEAD.
func getHead(r chi.Router, pattern string, h http.HandlerFunc) {
	r.Get(pattern, h)
	r.Head(pattern, h)
}

// accessLog logs each request once, with its route for the metrics.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" {
			route = metrics.Other
		}
		status := 0
		if st := edge.StateOf(r); st != nil {
			status = st.Status()
		}
		if status == 0 {
			status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.Request(route, r.Method, status, d, streamed(r))
		level := slog.LevelDebug
		if s.cfg.AccessLog {
			level = slog.LevelInfo
		}
		if s.logger.Enabled(r.Context(), level) {
			s.logRequest(r, level, status, d)
		}
	})
}

// logRequest logs one request. It is apart from accessLog so that its
// attributes are not in accessLog's frame, which stays on the stack of
// every SSE stream for the stream's lifetime (see package streams).
// Only the path is logged: a query may carry a stream ticket.
func (s *Server) logRequest(r *http.Request, level slog.Level, status int, d time.Duration) {
	var written int64
	if st := edge.StateOf(r); st != nil {
		written = st.Written()
	}
	s.logger.LogAttrs(r.Context(), level, "request",
		slog.String("request_id", edge.RequestID(r)),
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Duration("duration", d), slog.Int64("bytes", written),
		slog.String("remote_addr", r.RemoteAddr))
}

// reconnectsOf reads the upstream's count of reconnections, when it keeps
// one.
func reconnectsOf(up any) func() int64 {
	if rc, ok := up.(interface{ Reconnects() int64 }); ok {
		return rc.Reconnects
	}
	return nil
}
