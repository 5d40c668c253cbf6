package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/internal/buildinfo"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
	"github.com/nuls-gateway/nuls-gateway/state"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/tracing"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// stage is a set of components that start together and stop together, in
// reverse order of the stages: the server's background work and streams,
// the HTTP servers (draining the calls in flight), the hub (unsubscribing
// upstream), the authenticator, then the upstream connections and the
// simulated node. Each component runs in the process's errgroup.
type stage struct {
	g      *errgroup.Group
	logger *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newStage returns a stage whose components run in g. Its context is its
// own, not g's: a failure or a signal stops the stages in order, not all
// at once.
func newStage(g *errgroup.Group, logger *slog.Logger) *stage {
	ctx, cancel := context.WithCancel(context.Background())
	return &stage{g: g, logger: logger, ctx: ctx, cancel: cancel}
}

// goRun runs a component of the stage until the stage stops. A component
// that returns before, with an error or without one, has failed: its error
// ends g's context, and so the process, rather than let it serve without
// it. An error it returns once stopped is logged and the shutdown goes on.
func (s *stage) goRun(name string, run func(context.Context) error) {
	s.wg.Add(1)
	s.g.Go(func() error {
		defer s.wg.Done()
		err := run(s.ctx)
		if s.ctx.Err() != nil {
			if err != nil {
				s.logger.Warn("component stopped with an error", slog.String("component", name), slog.Any("err", err))
			}
			return nil
		}
		if err == nil {
			err = errors.New("stopped by itself")
		}
		s.logger.Error("component failed: stopping the gateway", slog.String("component", name), slog.Any("err", err))
		return fmt.Errorf("%s: %w", name, err)
	})
}

// stop stops the stage's components and waits for them.
func (s *stage) stop() {
	s.cancel()
	s.wg.Wait()
}

// serveHTTP serves srv until ctx ends, then shuts it down, giving the
// requests in flight until timeout (0: closes it at once, with its
// connections). serve is srv.Serve or srv.ServeTLS on its listener.
func serveHTTP(ctx context.Context, srv *http.Server, serve func() error, timeout time.Duration, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err // never http.ErrServerClosed: nobody shut it down
	case <-ctx.Done():
	}
	if timeout <= 0 {
		_ = srv.Close()
	} else {
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("in-flight requests cut at the shutdown timeout", slog.Any("err", err))
			_ = srv.Close()
		}
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// run wires the gateway and serves until ctx ends (a signal), the Manager
// sends the shutdown command (D17) or a component fails, then shuts down
// gracefully, stage by stage. It returns nil after a signal or the shutdown
// command, and the failed component's error after a failure. listening,
// when not nil, receives the HTTP address once it is bound.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, listening chan<- string) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	gcTune := tuneGC(getenv, logger)
	tp, err := tracing.Setup(ctx, tracing.Config{Endpoint: cfg.OTLPEndpoint, ServiceName: "nuls-gateway",
		ServiceVersion: buildinfo.Version(), Getenv: getenv})
	if err != nil {
		return err
	}
	defer func() {
		// The last spans are exported before the process ends.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			logger.Warn("traces not all exported", slog.Any("err", err))
		}
	}()
	store := "memory"
	var rdb redis.UniversalClient
	if cfg.RedisURL != "" {
		redis.SetLogger(redisLog{logger.With("component", "redis")})
		if rdb, err = newRedis(cfg.RedisURL); err != nil {
			return err
		}
		// Closed last, after the hub and the server are done with it.
		defer func() { _ = rdb.Close() }()
		store = "redis"
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := rdb.Ping(pctx).Err(); err != nil {
			// Start anyway: calls work without Redis, /readyz says
			// it is missing, and the state recovers when it is back.
			logger.Warn("redis does not answer yet", slog.String("redis", redactedURL(cfg.RedisURL)), slog.Any("err", err))
		}
		cancel()
	}
	instance := instanceName()

	// Every long-lived component runs in g: the first to fail ends gctx,
	// which starts the shutdown. The stages stop in the reverse order of
	// their deferred stops; g.Wait, deferred first, runs once they are
	// all done.
	g, gctx := errgroup.WithContext(ctx)
	defer func() { _ = g.Wait() }()
	upstreams := newStage(g, logger) // upstream connections and the simulated node
	defer upstreams.stop()
	var upstreamURL string
	if len(cfg.Upstreams) > 0 {
		upstreamURL = cfg.Upstreams[0]
	}
	chainID := cfg.ChainID
	var simulated []slog.Attr // what the warnings of the simulated node say of it
	if cfg.SimulatedNode {
		node, err := devnode.New(devnode.Config{Listen: "127.0.0.1:0", BlockInterval: cfg.BlockInterval}, logger.With("component", "devnode"))
		if err != nil {
			return err
		}
		upstreams.goRun("devnode", node.Run)
		upstreamURL = node.URL()
		if chainID == 0 {
			chainID = node.ChainID()
		}
		simulated = []slog.Attr{slog.String("detail", simulatedDetail), slog.String("url", upstreamURL), slog.Int("chain_id", node.ChainID())}
		logger.LogAttrs(ctx, slog.LevelWarn, msgSimulatedNode, simulated...)
		upstreams.goRun("simulated node warning", func(ctx context.Context) error {
			warnSimulated(ctx, logger, simulatedWarnEvery, simulated)
			return nil
		})
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return err
	}
	defer func() { _ = ln.Close() }()
	// The module endpoint, in the manager topology, has a listener of its
	// own: the public one must never speak the module protocol, whose
	// kernel commands stop a module.
	var moduleLn net.Listener
	advertise := cfg.Advertise
	if cfg.Topology == topologyManager {
		if moduleLn, err = lc.Listen(ctx, "tcp", cfg.ModuleListen); err != nil {
			return err
		}
		defer func() { _ = moduleLn.Close() }()
		if advertise == "" {
			host, port, _ := net.SplitHostPort(moduleLn.Addr().String())
			if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
				host = "127.0.0.1"
			}
			advertise = net.JoinHostPort(host, port)
		}
	}

	// The gateway's module answers its kernel commands (shutdown,
	// terminate, conf*) only on the Manager link, the connection it opens
	// to --upstream: the module endpoint is reachable by whoever reaches
	// --module-listen, and nothing on an accepted connection proves it is
	// the Manager's (no TrustAccepted). Other modules call its compound
	// methods there, but only the Manager link registers compound methods
	// on it: what it announces to the Manager is the operator's.
	module, err := bridge.NewModule(bridge.ModuleConfig{
		Abbreviation: cfg.Abbreviation, Name: cfg.Abbreviation,
		Roles:            map[string][]string{cfg.Abbreviation: {"1.0"}},
		TrustedCompounds: true,
	}, logger.With("component", "module"))
	if err != nil {
		return err
	}
	defer func() { _ = module.Close() }()

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if rdb != nil {
		registry.MustRegister(instrumentRedis(rdb))
	}
	var hub *subscriptions.Hub
	notify := func(_ *bridge.Peer, n *bridge.Notification) { upstream.PublishNotification(hub, n) }

	var (
		up  upstream.Upstream
		pol *policy.Policy // decided below; the pool asks it which methods write
	)
	switch {
	case len(cfg.Upstreams) > 1:
		p, err := newPool(&cfg, notify, upstreams, func(m string) bool { return pol == nil || !pol.ReadOnly(m) }, logger)
		if err != nil {
			return err
		}
		registry.MustRegister(p.Collector())
		up = p
	case cfg.Topology == topologyDirect:
		client, err := bridge.NewClient(bridge.ClientConfig{
			URL: upstreamURL, Abbreviation: cfg.Abbreviation, CallTimeout: cfg.CallTimeout,
			OnNotification: notify,
		}, logger.With("component", "upstream"))
		if err != nil {
			return err
		}
		upstreams.goRun("upstream", client.Run)
		up = upstream.NewDirect(client)
	case cfg.Topology == topologyManager:
		host, port, _ := net.SplitHostPort(advertise)
		var link *bridge.ManagerLink
		// D8: a module connection that fails negotiation every retry is
		// reported to the Manager.
		report := func(u string, err error) {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if rerr := link.Report(rctx, bridge.NotOperational(u, err)); rerr != nil {
				logger.Warn("negotiation failure not reported to the Manager", slog.String("url", u), slog.Any("err", rerr))
			}
		}
		modules := bridge.NewModules(bridge.ModulesConfig{
			Client: bridge.ClientConfig{Abbreviation: cfg.Abbreviation, CallTimeout: cfg.CallTimeout,
				OnNotification: notify, OnNegotiationFailure: report},
			Exclude:     []string{hostPort(upstreamURL), advertise},
			ManagerHost: hostOnly(upstreamURL),
		}, logger.With("component", "modules"))
		link, err = bridge.NewManagerLink(bridge.ManagerLinkConfig{
			URL: upstreamURL, Module: module,
			ConnectionInformation: bridge.ConnectionInformation{IP: host, Port: port},
			Client:                bridge.ClientConfig{CallTimeout: cfg.CallTimeout, OnNotification: notify},
			OnRoles:               modules.Update,
		}, logger.With("component", "manager"))
		if err != nil {
			return err
		}
		upstreams.goRun("modules", modules.Run)
		upstreams.goRun("manager", link.Run)
		up = upstream.NewManaged(link, modules, logger.With("component", "routing"))
	}

	methods, custom, err := newCatalog(cfg)
	if err != nil {
		return err
	}
	pol, err = newPolicy(cfg, custom)
	if err != nil {
		return err
	}
	authn, err := newAuthenticator(cfg, rdb, logger.With("component", "auth"))
	if err != nil {
		return err
	}
	// Stopped after the requests in flight are done with it.
	authStage := newStage(g, logger)
	defer authStage.stop()
	authStage.goRun("auth", func(ctx context.Context) error {
		if err := authn.Run(ctx); err != nil {
			return err
		}
		// Nothing to keep current (no key file, no JWKS): Run returned
		// at once, which is no failure.
		<-ctx.Done()
		return nil
	})

	hubCfg := subscriptions.Config{Retention: cfg.Retention, Grace: cfg.Grace, MaxTopics: cfg.MaxTopics}
	hubStage := newStage(g, logger)
	defer hubStage.stop()
	gwCfg := gateway.Config{
		Upstream: up, Registry: registry, Scopes: cfg.Scopes, Instance: instance,
		MaxBodyBytes: cfg.MaxBodyBytes, CallTimeout: cfg.CallTimeout, MaxStreams: cfg.MaxStreams, HandlerStreams: cfg.HandlerStreams, Heartbeat: cfg.Heartbeat,
		CORSOrigins: cfg.CORSOrigins, AccessLog: cfg.AccessLog,
		Auth: authn, Policy: pol, MaxBatchAnswerBytes: cfg.MaxBatchAnswerBytes,
		Limiter: newLimiter(cfg, rdb, logger.With("component", "ratelimit")), Plans: cfg.RatePlans, Weights: cfg.MethodWeights,
		TrustedProxies: cfg.TrustedProxies, MaxStreamsPerClient: cfg.MaxStreamsPerClient, MaxTopicsPerClient: cfg.MaxTopicsPerClient,
		BodyTimeout: cfg.BodyTimeout, MaxCompounds: cfg.MaxCompounds, Catalog: methods, EventPollInterval: cfg.EventPollInterval,
		Tracer: tp.Tracer(), PublicServiceURL: cfg.PublicService, ChainID: chainID,
		StoredAnswers: state.AnswerBounds{
			PerClient: cfg.MaxStoredAnswersPerClient, PerClientBytes: int64(cfg.MaxStoredBytesPerClient),
			Total: cfg.MaxStoredAnswers, TotalBytes: int64(cfg.MaxStoredBytes),
		},
		MaxStoredAnswerBytes: int64(cfg.MaxStoredAnswerBytes),
	}
	if simulated != nil {
		gwCfg.ReadyWarnings = []string{readySimulated}
	}
	if rdb != nil {
		cluster, err := subscriptions.NewRedisCluster(rdb, subscriptions.RedisClusterConfig{
			Prefix: cfg.RedisPrefix, Instance: instance, Retention: cfg.Retention,
		}, logger.With("component", "cluster"))
		if err != nil {
			return err
		}
		hubStage.goRun("cluster", cluster.Run)
		hubCfg.Cluster = cluster
		gwCfg.Calls = state.NewRedisCalls(rdb, cfg.RedisPrefix, 0)
		gwCfg.Documents = state.NewRedisDocuments(rdb, cfg.RedisPrefix+":catalog", 0)
		gwCfg.Compounds = compound.DocumentStore{Docs: state.NewRedisDocuments(rdb, cfg.RedisPrefix+":compounds", 0)}
		gwCfg.ReadyChecks = map[string]func(context.Context) error{"redis": redisPing(rdb)}
	}
	if c := newCache(&cfg, up, rdb, chainID, hubStage, logger.With("component", "cache")); c != nil {
		registry.MustRegister(c.Collector())
		gwCfg.Cache = c
	}
	feeds := upstream.Feeds{Upstream: up, PollEvents: cfg.EventPollInterval, CallTimeout: cfg.CallTimeout, RenderError: gateway.StreamError}
	hubCfg.Chain = upstream.Heights{Feeds: feeds}
	hubCfg.Render = gateway.StreamAmounts(methods)
	hub = subscriptions.NewHub(hubCfg, feeds, logger.With("component", "hub"))
	hubStage.goRun("hub", hub.Run)
	gwCfg.Hub = hub
	if cfg.Topology == topologyManager {
		gwCfg.Module = module
	}
	srv, err := gateway.New(gwCfg, logger)
	if err != nil {
		return err
	}
	// The HTTP servers stop after the server's streams (serving, below):
	// http.Server.Shutdown waits for handlers, and a stream never ends by
	// itself.
	servers := newStage(g, logger)
	defer servers.stop()
	serving := newStage(g, logger) // the server's background work and its streams
	defer serving.stop()
	serving.goRun("server", srv.Run)
	if gcTune != nil {
		serving.goRun("gc", gcTune.run)
	}
	if cfg.DebugListen != "" {
		serving.goRun("debug", func(ctx context.Context) error { return serveDebug(ctx, cfg.DebugListen, logger) })
	}

	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: cfg.HeaderTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		IdleTimeout:       120 * time.Second,
		// No ReadTimeout or WriteTimeout: streams are long-lived; bodies
		// have their own deadline (--body-timeout), each SSE write too.
		ErrorLog: httpErrorLog(logger),
	}
	servers.goRun("http", func(ctx context.Context) error {
		return serveHTTP(ctx, httpSrv, func() error {
			if cfg.TLSCert != "" {
				// Encrypted, the heads cannot be watched: the gateway
				// closes the connection after a chunked request instead.
				return httpSrv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey) // HTTP/2 too
			}
			// A head framing its body two ways gets 400 (request
			// smuggling).
			return httpSrv.Serve(edge.StrictFraming(ln))
		}, cfg.ShutdownTimeout, logger)
	})
	// Listeners of their own for the clients of NULS's own servers.
	for _, l := range []struct {
		addr, name string
		handler    http.Handler
	}{{cfg.NulstarListen, "Nulstar HTTP endpoint", srv.NulstarHandler()}, {cfg.NulsAPIListen, "nuls-api profile", srv.NulsAPIHandler()}} {
		if l.addr == "" {
			continue
		}
		xln, err := lc.Listen(ctx, "tcp", l.addr)
		if err != nil {
			return err
		}
		x := &http.Server{Handler: l.handler, ReadHeaderTimeout: cfg.HeaderTimeout, MaxHeaderBytes: cfg.MaxHeaderBytes,
			IdleTimeout: 120 * time.Second, ErrorLog: httpErrorLog(logger)}
		servers.goRun(l.name, func(ctx context.Context) error {
			return serveHTTP(ctx, x, func() error { return x.Serve(edge.StrictFraming(xln)) }, cfg.ShutdownTimeout, logger)
		})
		logger.Info(l.name+" listening", slog.String("addr", xln.Addr().String()))
	}
	if moduleLn != nil {
		moduleSrv := &http.Server{Handler: module, ReadHeaderTimeout: cfg.HeaderTimeout, MaxHeaderBytes: cfg.MaxHeaderBytes,
			IdleTimeout: 120 * time.Second, ErrorLog: httpErrorLog(logger)}
		// Closed at shutdown, not drained: the module's connections are
		// closed with it.
		servers.goRun("module endpoint", func(ctx context.Context) error {
			return serveHTTP(ctx, moduleSrv, func() error { return moduleSrv.Serve(moduleLn) }, 0, logger)
		})
		logger.Info("module endpoint listening", slog.String("addr", moduleLn.Addr().String()), slog.String("advertise", advertise))
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	logger.Info("gateway listening",
		slog.String("version", buildinfo.Version()), slog.String("commit", buildinfo.Commit()), slog.Bool("tracing", tp.Tracer() != nil),
		slog.String("addr", ln.Addr().String()), slog.String("scheme", scheme), slog.String("upstream", redactedURL(upstreamURL)),
		slog.String("topology", cfg.Topology), slog.Bool("simulated_node", cfg.SimulatedNode), slog.String("state", store), slog.String("instance", instance),
		slog.String("scopes", strings.Join(cfg.Scopes, ",")), slog.Duration("call_timeout", cfg.CallTimeout),
		slog.String("anonymous_scopes", strings.Join(cfg.AnonymousScopes, ",")), slog.Bool("keys_file", cfg.KeysFile != ""),
		slog.Bool("jwt", cfg.JWTSecret != "" || cfg.JWKS != ""), slog.String("rate_plans", ratelimit.FormatPlans(cfg.RatePlans)),
		slog.String("unlisted_scope", cfg.UnlistedScope), slog.Bool("kernel_commands", cfg.AllowKernelCommands),
		slog.Int("method_scopes", len(cfg.MethodScopes)))
	if cfg.DevWallet {
		logger.Warn("--dev-wallet: anyone who reaches this gateway may spend the simulated node's made-up funds with its passwords",
			slog.String("commands", strings.Join(policy.DevWalletCommands, ",")))
	}
	if listening != nil {
		listening <- ln.Addr().String()
	}

	select {
	case <-gctx.Done():
		if ctx.Err() != nil {
			logger.Info("shutting down: signal")
		} else {
			logger.Error("shutting down: a component failed", slog.Any("err", context.Cause(gctx)))
		}
	case <-module.Done():
		logger.Info("shutting down: shutdown command from the Manager")
	}
	// 1. End the streams cleanly (clients reconnect elsewhere with
	// Last-Event-ID); 2. let in-flight calls finish; 3. unsubscribe
	// upstream; 4. close the upstream connections (deferred).
	serving.stop()
	servers.stop()
	hubStage.stop()
	authStage.stop()
	_ = module.Close()
	upstreams.stop()
	// nil after a signal or the shutdown command; else the first
	// component's failure, for main to print and exit 1.
	err = g.Wait()
	logger.Info("gateway stopped")
	return err
}

// msgSimulatedNode is the WARN the gateway logs at start and every
// simulatedWarnEvery while it serves the simulated node (cmd/loadtest
// waits for it).
const msgSimulatedNode = "SIMULATED NULS NODE (--simulated-node): not a NULS network"

// simulatedDetail is the WARN's detail.
const simulatedDetail = "this gateway serves a made-up chain in its own process, whose funded accounts have public passwords: for development only, never a deployment"

// readySimulated is /readyz's warning while the gateway serves the
// simulated node.
const readySimulated = "simulated node: the upstream is a made-up chain in the gateway's own process (--simulated-node), not a NULS network"

// simulatedWarnEvery is how often the WARN repeats, so that a log read
// from any point says it.
const simulatedWarnEvery = 5 * time.Minute

// warnSimulated logs msgSimulatedNode every period until ctx ends.
func warnSimulated(ctx context.Context, logger *slog.Logger, every time.Duration, attrs []slog.Attr) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			logger.LogAttrs(ctx, slog.LevelWarn, msgSimulatedNode, attrs...)
		}
	}
}

func hostPort(rawURL string) string {
	u := strings.TrimPrefix(strings.TrimPrefix(rawURL, "ws://"), "wss://")
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[:i]
	}
	return u
}

func hostOnly(rawURL string) string {
	h, _, err := net.SplitHostPort(hostPort(rawURL))
	if err != nil {
		return ""
	}
	return h
}
