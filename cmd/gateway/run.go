package main

import (
	"context"
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

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/compound"
	"github.com/nuls-gateway/nuls-gateway/gateway"
	"github.com/nuls-gateway/nuls-gateway/internal/buildinfo"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
	"github.com/nuls-gateway/nuls-gateway/state"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/tracing"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// stage is a set of components that start together and stop together, in
// reverse order of the stages: streams, then the hub (unsubscribing
// upstream), then the upstream connections and the simulated node.
type stage struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newStage() *stage {
	ctx, cancel := context.WithCancel(context.Background())
	return &stage{ctx: ctx, cancel: cancel}
}

func (s *stage) goRun(logger *slog.Logger, name string, run func(context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := run(s.ctx); err != nil {
			logger.Error("component stopped", slog.String("component", name), slog.Any("err", err))
		}
	}()
}

func (s *stage) stop() {
	s.cancel()
	s.wg.Wait()
}

// run wires the gateway and serves until ctx ends or the Manager sends the
// shutdown command (D17), then shuts down gracefully. listening, when not
// nil, receives the HTTP address once it is bound.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, listening chan<- string) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	tuneGC(getenv, logger)
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
		defer rdb.Close()
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

	upstreams := newStage() // upstream connections and the simulated node
	defer upstreams.stop()
	upstreamURL := cfg.Upstream
	chainID := cfg.ChainID
	if upstreamURL == "" {
		node, err := devnode.New(devnode.Config{Listen: "127.0.0.1:0", BlockInterval: cfg.BlockInterval}, logger.With("component", "devnode"))
		if err != nil {
			return err
		}
		upstreams.goRun(logger, "devnode", node.Run)
		upstreamURL = node.URL()
		if chainID == 0 {
			chainID = node.ChainID()
		}
		logger.Info("no --upstream given: started the simulated NULS node in-process",
			slog.String("url", upstreamURL), slog.Int("chain_id", node.ChainID()))
		cfg.Topology = topologyDirect
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	// The module endpoint, in the manager topology, has a listener of its
	// own: the public one must never speak the module protocol, whose
	// kernel commands stop a module.
	var moduleLn net.Listener
	advertise := cfg.Advertise
	if cfg.Topology == topologyManager {
		if moduleLn, err = net.Listen("tcp", cfg.ModuleListen); err != nil {
			return err
		}
		defer moduleLn.Close()
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
	defer module.Close()

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if rdb != nil {
		registry.MustRegister(instrumentRedis(rdb))
	}
	var hub *subscriptions.Hub
	notify := func(_ *bridge.Peer, n *bridge.Notification) { upstream.PublishNotification(hub, n) }

	var up upstream.Upstream
	switch cfg.Topology {
	case topologyDirect:
		client, err := bridge.NewClient(bridge.ClientConfig{
			URL: upstreamURL, Abbreviation: cfg.Abbreviation, CallTimeout: cfg.CallTimeout,
			OnNotification: notify,
		}, logger.With("component", "upstream"))
		if err != nil {
			return err
		}
		upstreams.goRun(logger, "upstream", client.Run)
		up = upstream.NewDirect(client)
	case topologyManager:
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
		upstreams.goRun(logger, "modules", modules.Run)
		upstreams.goRun(logger, "manager", link.Run)
		up = upstream.NewManaged(link, modules, logger.With("component", "routing"))
	}

	methods, custom, err := newCatalog(cfg)
	if err != nil {
		return err
	}
	pol, err := newPolicy(cfg, custom)
	if err != nil {
		return err
	}
	authn, err := newAuthenticator(cfg, rdb, logger.With("component", "auth"))
	if err != nil {
		return err
	}
	// Stopped last, after the requests in flight are done with it.
	authStage := newStage()
	defer authStage.stop()
	authStage.goRun(logger, "auth", authn.Run)

	hubCfg := subscriptions.Config{Retention: cfg.Retention, Grace: cfg.Grace, MaxTopics: cfg.MaxTopics}
	hubStage := newStage()
	defer hubStage.stop()
	gwCfg := gateway.Config{
		Upstream: up, Registry: registry, Scopes: cfg.Scopes, Instance: instance,
		MaxBodyBytes: cfg.MaxBodyBytes, CallTimeout: cfg.CallTimeout, MaxStreams: cfg.MaxStreams, Heartbeat: cfg.Heartbeat,
		CORSOrigins: cfg.CORSOrigins,
		Auth:        authn, Policy: pol, MaxBatchAnswerBytes: cfg.MaxBatchAnswerBytes,
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
	if rdb != nil {
		cluster, err := subscriptions.NewRedisCluster(rdb, subscriptions.RedisClusterConfig{
			Prefix: cfg.RedisPrefix, Instance: instance, Retention: cfg.Retention,
		}, logger.With("component", "cluster"))
		if err != nil {
			return err
		}
		hubStage.goRun(logger, "cluster", cluster.Run)
		hubCfg.Cluster = cluster
		gwCfg.Calls = state.NewRedisCalls(rdb, cfg.RedisPrefix, 0)
		gwCfg.Documents = state.NewRedisDocuments(rdb, cfg.RedisPrefix+":catalog", 0)
		gwCfg.Compounds = compound.DocumentStore{Docs: state.NewRedisDocuments(rdb, cfg.RedisPrefix+":compounds", 0)}
		gwCfg.ReadyChecks = map[string]func(context.Context) error{"redis": redisPing(rdb)}
	}
	hub = subscriptions.NewHub(hubCfg, upstream.Feeds{Upstream: up, PollEvents: cfg.EventPollInterval, CallTimeout: cfg.CallTimeout, RenderError: gateway.StreamError}, logger.With("component", "hub"))
	hubStage.goRun(logger, "hub", hub.Run)
	gwCfg.Hub = hub
	if cfg.Topology == topologyManager {
		gwCfg.Module = module
	}
	srv, err := gateway.New(gwCfg, logger)
	if err != nil {
		return err
	}
	serving := newStage() // the server's background work and its streams
	defer serving.stop()
	serving.goRun(logger, "server", srv.Run)
	if cfg.DebugListen != "" {
		serving.goRun(logger, "debug", func(ctx context.Context) error { return serveDebug(ctx, cfg.DebugListen, logger) })
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
	serveErr := make(chan error, 4)
	go func() {
		if cfg.TLSCert != "" {
			// Encrypted, the heads cannot be watched: the gateway closes
			// the connection after a chunked request instead.
			serveErr <- httpSrv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey) // HTTP/2 too
			return
		}
		// A head framing its body two ways gets 400 (request smuggling).
		serveErr <- httpSrv.Serve(gateway.StrictFraming(ln))
	}()
	// Listeners of their own for the clients of NULS's own servers.
	var extraSrvs []*http.Server
	for _, l := range []struct {
		addr, name string
		handler    http.Handler
	}{{cfg.NulstarListen, "Nulstar HTTP endpoint", srv.NulstarHandler()}, {cfg.NulsAPIListen, "nuls-api profile", srv.NulsAPIHandler()}} {
		if l.addr == "" {
			continue
		}
		xln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return err
		}
		x := &http.Server{Handler: l.handler, ReadHeaderTimeout: cfg.HeaderTimeout, MaxHeaderBytes: cfg.MaxHeaderBytes,
			IdleTimeout: 120 * time.Second, ErrorLog: httpErrorLog(logger)}
		extraSrvs = append(extraSrvs, x)
		go func() { serveErr <- x.Serve(gateway.StrictFraming(xln)) }()
		logger.Info(l.name+" listening", slog.String("addr", xln.Addr().String()))
	}
	var moduleSrv *http.Server
	if moduleLn != nil {
		moduleSrv = &http.Server{Handler: module, ReadHeaderTimeout: cfg.HeaderTimeout, MaxHeaderBytes: cfg.MaxHeaderBytes,
			IdleTimeout: 120 * time.Second, ErrorLog: httpErrorLog(logger)}
		go func() { serveErr <- moduleSrv.Serve(moduleLn) }()
		logger.Info("module endpoint listening", slog.String("addr", moduleLn.Addr().String()), slog.String("advertise", advertise))
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	logger.Info("gateway listening",
		slog.String("version", buildinfo.Version()), slog.String("commit", buildinfo.Commit()), slog.Bool("tracing", tp.Tracer() != nil),
		slog.String("addr", ln.Addr().String()), slog.String("scheme", scheme), slog.String("upstream", redactedURL(upstreamURL)),
		slog.String("topology", cfg.Topology), slog.String("state", store), slog.String("instance", instance),
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
	case <-ctx.Done():
		logger.Info("shutting down: signal")
	case <-module.Done():
		logger.Info("shutting down: shutdown command from the Manager")
	case err := <-serveErr:
		return fmt.Errorf("http: %w", err)
	}
	// 1. End the streams cleanly (clients reconnect elsewhere with
	// Last-Event-ID); 2. let in-flight calls finish; 3. unsubscribe
	// upstream; 4. close the upstream connections (deferred).
	serving.stop()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		logger.Warn("in-flight requests cut at the shutdown timeout", slog.Any("err", err))
		_ = httpSrv.Close()
	}
	for _, x := range extraSrvs {
		if err := x.Shutdown(sctx); err != nil {
			_ = x.Close()
		}
	}
	if moduleSrv != nil {
		_ = moduleSrv.Close() // the module's connections are closed with it
	}
	hubStage.stop()
	logger.Info("gateway stopped")
	return nil
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
