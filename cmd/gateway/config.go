package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/internal/buildinfo"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

// Environment variables, one per flag.
const (
	envListen          = "GATEWAY_LISTEN"
	envUpstream        = "GATEWAY_UPSTREAM"
	envMaxLag          = "GATEWAY_MAX_LAG"
	envStallAfter      = "GATEWAY_STALL_AFTER"
	envHedgeAfter      = "GATEWAY_HEDGE_AFTER"
	envTopology        = "GATEWAY_TOPOLOGY"
	envRedisURL        = "GATEWAY_REDIS_URL"
	envRedisPrefix     = "GATEWAY_REDIS_PREFIX"
	envAdvertise       = "GATEWAY_ADVERTISE"
	envAbbreviation    = "GATEWAY_ABBREVIATION"
	envScopes          = "GATEWAY_SCOPES"
	envCORSOrigins     = "GATEWAY_CORS_ORIGINS"
	envCallTimeout     = "GATEWAY_CALL_TIMEOUT"
	envMaxBodyBytes    = "GATEWAY_MAX_BODY_BYTES"
	envMaxStreams      = "GATEWAY_MAX_STREAMS"
	envHeartbeat       = "GATEWAY_HEARTBEAT"
	envRetention       = "GATEWAY_RETENTION"
	envHandlerStreams  = "GATEWAY_HANDLER_STREAMS"
	envNoCache         = "GATEWAY_NO_CACHE"
	envCacheDepth      = "GATEWAY_CACHE_DEPTH"
	envCacheBytes      = "GATEWAY_CACHE_BYTES"
	envCacheEntries    = "GATEWAY_CACHE_ENTRIES"
	envGrace           = "GATEWAY_GRACE"
	envShutdownTimeout = "GATEWAY_SHUTDOWN_TIMEOUT"
	envBlockInterval   = "GATEWAY_DEVNODE_BLOCK_INTERVAL"
	envSimulatedNode   = "GATEWAY_SIMULATED_NODE"
	envLogLevel        = "GATEWAY_LOG_LEVEL"
	envLogFormat       = "GATEWAY_LOG_FORMAT"
	envAccessLog       = "GATEWAY_ACCESS_LOG"
	envDebugListen     = "GATEWAY_DEBUG_LISTEN"
	envModuleListen    = "GATEWAY_MODULE_LISTEN"
	envNulstarListen   = "GATEWAY_NULSTAR_LISTEN"
	envOTLPEndpoint    = "GATEWAY_OTLP_ENDPOINT"
	envNulsAPIListen   = "GATEWAY_NULS_API_LISTEN"
	envPublicService   = "GATEWAY_PUBLIC_SERVICE_URL"
	envChainID         = "GATEWAY_CHAIN_ID"

	// Security: authentication, authorization, limits.
	envKeysFile            = "GATEWAY_KEYS_FILE"
	envJWTSecret           = "GATEWAY_JWT_SECRET" //nolint:gosec // G101: a variable's name, not a secret
	envJWKS                = "GATEWAY_JWKS"
	envJWKSAllowHTTP       = "GATEWAY_JWKS_ALLOW_HTTP"
	envJWTIssuer           = "GATEWAY_JWT_ISSUER"
	envJWTAudience         = "GATEWAY_JWT_AUDIENCE"
	envJWTScopesClaim      = "GATEWAY_JWT_SCOPES_CLAIM"
	envJWTMethodsClaim     = "GATEWAY_JWT_METHODS_CLAIM"
	envJWTPlanClaim        = "GATEWAY_JWT_PLAN_CLAIM"
	envAnonymousScopes     = "GATEWAY_ANONYMOUS_SCOPES"
	envAnonymousMethods    = "GATEWAY_ANONYMOUS_METHODS"
	envTicketSecret        = "GATEWAY_TICKET_SECRET"
	envTicketTTL           = "GATEWAY_STREAM_TICKET_TTL"
	envRatePlans           = "GATEWAY_RATE_PLANS"
	envMethodWeights       = "GATEWAY_METHOD_WEIGHTS"
	envRateLimitStore      = "GATEWAY_RATE_LIMIT_STORE"
	envMethodsFile         = "GATEWAY_METHODS_FILE"
	envEventPoll           = "GATEWAY_EVENT_POLL_INTERVAL"
	envUnlistedScope       = "GATEWAY_UNLISTED_SCOPE"
	envAllowKernel         = "GATEWAY_ALLOW_KERNEL_COMMANDS"
	envMethodScopes        = "GATEWAY_METHOD_SCOPES"
	envDevWallet           = "GATEWAY_DEV_WALLET"
	envMaxBatchAnswer      = "GATEWAY_MAX_BATCH_ANSWER_BYTES"
	envMaxTopics           = "GATEWAY_MAX_TOPICS"
	envMaxStreamsPerClient = "GATEWAY_MAX_STREAMS_PER_CLIENT"
	envMaxTopicsPerClient  = "GATEWAY_MAX_TOPICS_PER_CLIENT"
	envMaxCompounds        = "GATEWAY_MAX_COMPOUND_METHODS"
	envMaxStoredPerClient  = "GATEWAY_MAX_STORED_ANSWERS_PER_CLIENT"
	envMaxStoredBytesPer   = "GATEWAY_MAX_STORED_BYTES_PER_CLIENT"
	envMaxStored           = "GATEWAY_MAX_STORED_ANSWERS"
	envMaxStoredBytes      = "GATEWAY_MAX_STORED_BYTES"
	envMaxStoredAnswer     = "GATEWAY_MAX_STORED_ANSWER_BYTES"
	envTrustedProxies      = "GATEWAY_TRUSTED_PROXIES"
	envHeaderTimeout       = "GATEWAY_HEADER_TIMEOUT"
	envBodyTimeout         = "GATEWAY_BODY_TIMEOUT"
	envMaxHeaderBytes      = "GATEWAY_MAX_HEADER_BYTES"
	envTLSCert             = "GATEWAY_TLS_CERT"
	envTLSKey              = "GATEWAY_TLS_KEY"
)

// defaultRatePlans are the rate plans unless --rate-plans says otherwise:
// an anonymous address, and a credential that names no plan.
const defaultRatePlans = "anonymous=25/s:50,default=100/s:200"

// Topologies of --topology.
const (
	topologyDirect  = "direct"  // T1: one endpoint serves every method
	topologyManager = "manager" // T2: register with a Manager, call the modules
)

// config is the effective configuration of the binary.
type config struct {
	Listen   string
	Upstream string
	// Upstreams are Upstream's URLs: several make a pool of nodes.
	Upstreams       []string
	MaxLag          int
	StallAfter      time.Duration
	HedgeAfter      time.Duration
	Topology        string
	RedisURL        string
	RedisPrefix     string
	Advertise       string
	Abbreviation    string
	Scopes          []string
	CORSOrigins     []string
	CallTimeout     time.Duration
	MaxBodyBytes    int64
	MaxStreams      int
	Heartbeat       time.Duration
	Retention       int
	HandlerStreams  bool
	NoCache         bool
	CacheDepth      int
	CacheBytes      int
	CacheEntries    int
	Grace           time.Duration
	ShutdownTimeout time.Duration
	BlockInterval   time.Duration
	LogLevel        slog.Level
	LogFormat       string
	AccessLog       bool
	DebugListen     string
	ModuleListen    string
	NulstarListen   string
	OTLPEndpoint    string
	NulsAPIListen   string
	PublicService   string
	ChainID         int
	// SimulatedNode runs the simulated node in-process as the upstream:
	// the explicit choice of a made-up chain, never a default.
	SimulatedNode bool

	KeysFile            string
	JWTSecret           string
	JWKS                string
	JWKSAllowHTTP       bool
	JWTIssuer           string
	JWTAudience         string
	JWTScopesClaim      string
	JWTMethodsClaim     string
	JWTPlanClaim        string
	AnonymousScopes     []string // empty: no anonymous access
	AnonymousMethods    []string // nil: every method of the scopes
	TicketSecret        string
	TicketTTL           time.Duration
	RatePlans           map[string]ratelimit.Plan
	MethodWeights       map[string]int
	RateLimitStore      string // redis or memory
	MethodsFiles        []string
	EventPollInterval   time.Duration
	UnlistedScope       string
	AllowKernelCommands bool
	MethodScopes        map[string]string // the operator's scopes of commands
	DevWallet           bool
	MaxBatchAnswerBytes int64
	MaxTopics           int
	MaxStreamsPerClient int
	MaxTopicsPerClient  int
	MaxCompounds        int
	// The bounds of the answers kept for asynchronous and idempotent
	// calls (gateway.Config.StoredAnswers, MaxStoredAnswerBytes).
	MaxStoredAnswersPerClient int
	MaxStoredBytesPerClient   int
	MaxStoredAnswers          int
	MaxStoredBytes            int
	MaxStoredAnswerBytes      int
	TrustedProxies            []netip.Prefix
	HeaderTimeout             time.Duration
	BodyTimeout               time.Duration
	MaxHeaderBytes            int
	TLSCert, TLSKey           string
}

// errVersion is parseConfig's answer to --version, which it printed.
var errVersion = errors.New("version printed")

// usageError is a flag or an argument parseConfig refused.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() + " (gateway --help lists the flags)" }
func (e *usageError) Unwrap() error { return e.err }

// rawConfig holds the options whose text parseConfig reads further: lists,
// plans, levels.
type rawConfig struct {
	scopes, corsOrigins, logLevel, anonScopes, anonMethods string
	plans, weights, proxies, methodsFiles, methodScopes    string
}

// options is the configuration table: every flag, with its environment
// variable, default, help and group, and where its value goes (in c, or in
// raw for parseConfig to read further).
func options(c *config, raw *rawConfig) []option {
	return []option{
		// Listening and TLS.
		{"listen", envListen, ":8080", "address to serve HTTP on", groupListen, stringVar(&c.Listen)},
		{"tls-cert", envTLSCert, "", "PEM certificate (chain) to serve HTTPS and HTTP/2 with; needs --tls-key", groupListen, stringVar(&c.TLSCert)},
		{"tls-key", envTLSKey, "", "PEM private key of --tls-cert", groupListen, stringVar(&c.TLSKey)},
		{"nulstar-listen", envNulstarListen, "", "address of a listener serving, at POST /, what the Nulstar Connector's HTTP endpoint (port 8089) does: a raw Request message in, the Response message out, public methods only (also at POST /nulstar of --listen); unset: none", groupListen, stringVar(&c.NulstarListen)},
		{"nuls-api-listen", envNulsAPIListen, "", "address of a listener serving the nuls-api profile at POST /jsonrpc, as NULS's nuls-api server does on port 18004, so that its clients need no change (also at POST /nuls-api/jsonrpc of --listen); unset: none", groupListen, stringVar(&c.NulsAPIListen)},
		{"shutdown-timeout", envShutdownTimeout, "30s", "how long shutdown waits for in-flight calls", groupListen, durationVar(&c.ShutdownTimeout)},

		// The upstream node.
		{"upstream", envUpstream, "", "ws:// or wss:// URL of the NULS upstream; required, unless --simulated-node. Several, comma-separated (direct topology): nodes of one chain that the gateway measures and routes between (needs --chain-id)", groupUpstream, stringVar(&c.Upstream)},
		{"max-lag", envMaxLag, "5", "with several upstreams: how many blocks behind the best node a node may be and stay in rotation", groupUpstream, intVar(&c.MaxLag)},
		{"stall-after", envStallAfter, "3s", "with several upstreams: how long a node behind the best may keep its head and stay in rotation", groupUpstream, durationVar(&c.StallAfter)},
		{"hedge-after", envHedgeAfter, "0s", "with several upstreams: send a read to a second node when the first has not answered within this or its recent p95, whichever is longer; 0: never", groupUpstream, durationVar(&c.HedgeAfter)},
		{"topology", envTopology, topologyDirect, "direct: the upstream serves every method (a Nulstar Connector, a Java module); manager: the upstream is a Manager to register with, whose modules are called directly", groupUpstream, stringVar(&c.Topology)},
		{"module-listen", envModuleListen, "127.0.0.1:0", "address of the gateway's module endpoint (/ws) in the manager topology, where other modules call it; never the HTTP listener. Reach it from the Manager's network only", groupUpstream, stringVar(&c.ModuleListen)},
		{"advertise", envAdvertise, "", "with --topology manager: host:port where the Manager and other modules reach this gateway's module endpoint, sent in RegisterAPI: the --module-listen listener's, never the HTTP --listen port; unset: --module-listen's host (127.0.0.1 when it names none) and the port that listener got, a random one with its default 127.0.0.1:0", groupUpstream, stringVar(&c.Advertise)},
		{"abbreviation", envAbbreviation, "gateway", "the gateway's module abbreviation and name toward the Manager", groupUpstream, stringVar(&c.Abbreviation)},
		{"call-timeout", envCallTimeout, "10s", "timeout of an upstream call", groupUpstream, durationVar(&c.CallTimeout)},
		{"methods-file", envMethodsFile, "", "comma-separated JSON files of the methods of custom modules, in the RegisterAPI Methods format, added to the built-in catalog of the NULS 2 modules' commands that describes an upstream listing no methods", groupUpstream, stringVar(&raw.methodsFiles)},
		{"chain-id", envChainID, "", "the chain the nuls-api profile's methods that take no chainId serve (info, getNetworkInfo), as nuls-api's own configuration says; 0: the simulated node's with --simulated-node, else they need one given", groupUpstream, intVar(&c.ChainID)},
		{"public-service-url", envPublicService, "", "JSON-RPC URL of a NULS public-service (such as http://public-service:18003/) to forward the nuls-api profile's read methods only public-service answers (its MongoDB index: getAccountTxs, getBlockHeaderList, …); unset: they are refused, saying so", groupUpstream, stringVar(&c.PublicService)},

		// Authentication, keys and what is exposed.
		{"scopes", envScopes, "public", "comma-separated method scopes callable through the gateway: public, admin, private", groupAuth, stringVar(&raw.scopes)},
		{"anonymous-scopes", envAnonymousScopes, "public", "scopes of callers without a credential, comma-separated; none: every caller needs a credential", groupAuth, stringVar(&raw.anonScopes)},
		{"anonymous-methods", envAnonymousMethods, "", "comma-separated methods callers without a credential may call; unset: every method of their scopes", groupAuth, stringVar(&raw.anonMethods)},
		{"keys-file", envKeysFile, "", "JSON file of API keys, stored hashed (gateway keys add --keys-file); re-read when it changes", groupAuth, stringVar(&c.KeysFile)},
		{"jwt-secret", envJWTSecret, "", "HS256 secret of the JWTs to accept, at least 32 bytes; prefer the environment variable", groupAuth, stringVar(&c.JWTSecret)},
		{"jwks", envJWKS, "", "JWKS of the RS256/ES256/EdDSA JWTs to accept: a file, or an https URL fetched and cached", groupAuth, stringVar(&c.JWKS)},
		{"jwks-allow-http", envJWKSAllowHTTP, "", "accept an http:// --jwks URL, whose keys anyone on the path can swap", groupAuth, boolVar(&c.JWKSAllowHTTP)},
		{"jwt-issuer", envJWTIssuer, "", "required iss of JWTs; unset: any", groupAuth, stringVar(&c.JWTIssuer)},
		{"jwt-audience", envJWTAudience, "", "required aud of JWTs; unset: any", groupAuth, stringVar(&c.JWTAudience)},
		{"jwt-scopes-claim", envJWTScopesClaim, "scope", "JWT claim with the scopes (space-separated or an array; public, admin, private)", groupAuth, stringVar(&c.JWTScopesClaim)},
		{"jwt-methods-claim", envJWTMethodsClaim, "methods", "JWT claim with the method allow-list", groupAuth, stringVar(&c.JWTMethodsClaim)},
		{"jwt-plan-claim", envJWTPlanClaim, "plan", "JWT claim with the rate plan's name", groupAuth, stringVar(&c.JWTPlanClaim)},
		{"ticket-secret", envTicketSecret, "", "secret signing stream tickets, at least 32 bytes, the same on every instance; unset: shared in Redis, or random per process", groupAuth, stringVar(&c.TicketSecret)},
		{"stream-ticket-ttl", envTicketTTL, "2m", "how long a stream ticket can open streams", groupAuth, durationVar(&c.TicketTTL)},
		{"unlisted-scope", envUnlistedScope, "", "scope of the methods the upstream does not list (a Java module lists none): public, admin or private; unset: they are not callable", groupAuth, stringVar(&c.UnlistedScope)},
		{"method-scopes", envMethodScopes, "", "the operator's scope of commands, name=scope, comma-separated: opens a command the gateway keeps private (name=public), or closes one (name=admin); a command that takes or answers a secret stays admin", groupAuth, stringVar(&raw.methodScopes)},
		{"allow-kernel-commands", envAllowKernel, "", "let credentials with the admin scope call status, shutdown, terminate, confGet, confSet and confReset", groupAuth, boolVar(&c.AllowKernelCommands)},
		{"cors-origins", envCORSOrigins, "", "comma-separated origins (scheme://host[:port]) whose browser pages may call the gateway and open its streams, or * for any; unset: no CORS headers", groupAuth, stringVar(&raw.corsOrigins)},
		{"trusted-proxies", envTrustedProxies, "", "comma-separated CIDRs of the proxies whose X-Forwarded-For names the client, for per-address limits", groupAuth, stringVar(&raw.proxies)},

		// Limits.
		{"rate-plans", envRatePlans, defaultRatePlans, "rate plans, name=rate/period[:burst] or name=unlimited, comma-separated; must define anonymous (per address) and default", groupLimits, stringVar(&raw.plans)},
		{"rate-limit-store", envRateLimitStore, "", "where rate limits are counted: redis (shared by every instance: one round trip per request) or memory (per instance); unset: redis with --redis-url, else memory", groupLimits, stringVar(&c.RateLimitStore)},
		{"method-weights", envMethodWeights, "", "what a call costs of a rate plan, method=units, comma-separated; others cost 1", groupLimits, stringVar(&raw.weights)},
		{"max-body-bytes", envMaxBodyBytes, "1048576", "largest request body, in bytes", groupLimits, int64Var(&c.MaxBodyBytes)},
		{"max-batch-answer-bytes", envMaxBatchAnswer, "16777216", "largest total of the answers of one JSON-RPC or nuls-api batch, in bytes; beyond it the batch's remaining requests are refused", groupLimits, int64Var(&c.MaxBatchAnswerBytes)},
		{"max-header-bytes", envMaxHeaderBytes, "16384", "largest request head (request line and headers), in bytes", groupLimits, intVar(&c.MaxHeaderBytes)},
		{"header-timeout", envHeaderTimeout, "10s", "time a client has to send a request's headers", groupLimits, durationVar(&c.HeaderTimeout)},
		{"body-timeout", envBodyTimeout, "10s", "time a client has to send a request's body", groupLimits, durationVar(&c.BodyTimeout)},
		{"max-streams", envMaxStreams, "20000", "most concurrent SSE streams", groupLimits, intVar(&c.MaxStreams)},
		{"max-streams-per-client", envMaxStreamsPerClient, "100", "most concurrent streams of one client (a credential, or an address when anonymous); more get 429", groupLimits, intVar(&c.MaxStreamsPerClient)},
		{"max-topics", envMaxTopics, "1000", "most distinct subscriptions (and upstream subscriptions) of this instance; more get 503", groupLimits, intVar(&c.MaxTopics)},
		{"max-topics-per-client", envMaxTopicsPerClient, "20", "most distinct subscriptions one client's streams follow; more get 429", groupLimits, intVar(&c.MaxTopicsPerClient)},
		{"max-compound-methods", envMaxCompounds, "100", "most compound methods", groupLimits, intVar(&c.MaxCompounds)},
		{"max-stored-answers-per-client", envMaxStoredPerClient, "1000", "most answers of asynchronous and idempotent calls kept for one client (a credential, or an address when anonymous), those running included; more calls get 429", groupLimits, intVar(&c.MaxStoredAnswersPerClient)},
		{"max-stored-bytes-per-client", envMaxStoredBytesPer, "16777216", "most bytes of answers kept for one client; an answer beyond them is kept as a 507 saying so", groupLimits, intVar(&c.MaxStoredBytesPerClient)},
		{"max-stored-answers", envMaxStored, "100000", "most answers kept in all (for every instance together with Redis); more calls get 503", groupLimits, intVar(&c.MaxStoredAnswers)},
		{"max-stored-bytes", envMaxStoredBytes, "268435456", "most bytes of answers kept in all; an answer beyond them is kept as a 507 saying so", groupLimits, intVar(&c.MaxStoredBytes)},
		{"max-stored-answer-bytes", envMaxStoredAnswer, "1048576", "largest answer body kept for an asynchronous or idempotent call; a larger one is answered but kept as a 507 saying so", groupLimits, intVar(&c.MaxStoredAnswerBytes)},

		// Streams.
		{"heartbeat", envHeartbeat, "15s", "interval of SSE keep-alive comments", groupStreams, durationVar(&c.Heartbeat)},
		{"retention", envRetention, "1024", "events kept per subscription for clients resuming with Last-Event-ID", groupStreams, intVar(&c.Retention)},
		{"grace", envGrace, "10s", "how long an upstream subscription outlives its last client", groupStreams, durationVar(&c.Grace)},
		{"handler-streams", envHandlerStreams, "", "serve every SSE stream from its handler goroutine, as over HTTP/2, instead of taking HTTP/1.1 streams over (no goroutine per idle stream): the fallback", groupStreams, boolVar(&c.HandlerStreams)},
		{"no-cache", envNoCache, "", "answer every read from the node: no answer cache", groupCache, boolVar(&c.NoCache)},
		{"cache-depth", envCacheDepth, "20", "how many blocks below the tip a block, header or confirmed transaction must be for its answer to be cached (see docs/api.md, The answer cache)", groupCache, intVar(&c.CacheDepth)},
		{"cache-bytes", envCacheBytes, "67108864", "most bytes of answers the cache keeps in each instance's memory", groupCache, intVar(&c.CacheBytes)},
		{"cache-entries", envCacheEntries, "100000", "with --redis-url: most answers the cache keeps in Redis, shared by the instances (the lowest heights go first)", groupCache, intVar(&c.CacheEntries)},
		{"event-poll-interval", envEventPoll, "", "emulate event streams by calling the method this often and keeping the changes, for an upstream that cannot push (a Nulstar Connector); 0: the upstream pushes. Period streams are always emulated", groupStreams, durationVar(&c.EventPollInterval)},

		// Redis and several instances.
		{"redis-url", envRedisURL, "", "Redis URL for state shared by several instances; unset: in-memory state", groupCluster, stringVar(&c.RedisURL)},
		{"redis-prefix", envRedisPrefix, "nulsgw", "prefix of every Redis key", groupCluster, stringVar(&c.RedisPrefix)},

		// Logging, metrics and tracing.
		{"log-level", envLogLevel, "info", "debug, info, warn or error", groupObservability, stringVar(&raw.logLevel)},
		{"log-format", envLogFormat, "text", "text or json", groupObservability, stringVar(&c.LogFormat)},
		{"access-log", envAccessLog, "", "log one line per request at INFO: method, path (never the query), status, duration, bytes, remote address; never a body, key or token. Without it, those lines are at DEBUG", groupObservability, boolVar(&c.AccessLog)},
		{"otlp-endpoint", envOTLPEndpoint, "", "OpenTelemetry collector (OTLP/HTTP) base URL, such as http://otel-collector:4318, to export traces to: a span per request, continuing the caller's W3C traceparent, and one per upstream call with its NULS MessageIDs; unset: OTEL_EXPORTER_OTLP_ENDPOINT if set, else no tracing", groupObservability, stringVar(&c.OTLPEndpoint)},
		{"debug-listen", envDebugListen, "", "address of a separate listener serving /debug/pprof; unset: none. Keep it private", groupObservability, stringVar(&c.DebugListen)},

		// Development.
		{"simulated-node", envSimulatedNode, "", "instead of --upstream, run the simulated NULS node (bridge/devnode) in-process and serve it: a made-up chain whose funded accounts have public passwords, for development and the README's quick start (make run), never a deployment. The gateway says so in a WARN every 5 minutes and in /readyz", groupDevelopment, boolVar(&c.SimulatedNode)},
		{"devnode-block-interval", envBlockInterval, "1s", "block interval of the simulated node (--simulated-node)", groupDevelopment, durationVar(&c.BlockInterval)},
		{"dev-wallet", envDevWallet, "", "with --simulated-node only: let anonymous callers use its wallet (ac_transfer, ac_createAccount) with its made-up passwords, as the README's quick start does", groupDevelopment, boolVar(&c.DevWallet)},
	}
}

// parseConfig reads the options of the table: each flag defaults to its
// environment variable, then to the table's default. --help prints them to
// out by group and returns flag.ErrHelp; --version prints the build and
// returns errVersion. A flag it cannot take is a *usageError, and nothing
// is printed: the caller says it once. A variable it cannot take is an
// error naming it.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var c config
	var raw rawConfig
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	opts := options(&c, &raw)
	usage := func() {
		fmt.Fprintf(out, "Usage: gateway [flags]\n       gateway keys add|list|revoke [flags]\n\nHTTP and SSE gateway for a NULS 2 module network. Every flag can also be set\nby the environment variable named in its description; a flag given wins.\n\n  --version\n    \tprint the version and commit, and exit\n")
		printUsage(out, opts)
	}
	showVersion := fs.Bool("version", false, "print the version and commit, and exit")
	errs := applyOptions(fs, opts, getenv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return c, err
		}
		return c, &usageError{err}
	}
	if *showVersion {
		fmt.Fprintln(out, buildinfo.String())
		return c, errVersion
	}
	if fs.NArg() > 0 {
		return c, &usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	if c.ChainID < 0 || c.ChainID > 65535 {
		errs = append(errs, fmt.Errorf("--chain-id %d: want a chain ID, 1 to 65535 (or 0)", c.ChainID))
	}
	if c.PublicService != "" {
		if u, err := url.Parse(c.PublicService); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--public-service-url %q: want an http:// or https:// URL", c.PublicService))
		}
	}
	c.MethodScopes = map[string]string{}
	for _, kv := range splitList(raw.methodScopes) {
		name, scope, ok := strings.Cut(kv, "=")
		name, scope = strings.TrimSpace(name), strings.TrimSpace(scope)
		if !ok || name == "" || !bridge.ValidScope(scope) {
			errs = append(errs, fmt.Errorf("--method-scopes: %q: want name=public, name=admin or name=private", kv))
			continue
		}
		c.MethodScopes[name] = scope
	}
	c.Scopes = splitList(raw.scopes)
	c.MethodsFiles = splitList(raw.methodsFiles)
	c.CORSOrigins = splitList(raw.corsOrigins)
	if raw.anonScopes != "none" {
		c.AnonymousScopes = splitList(raw.anonScopes)
	}
	if raw.anonMethods != "" {
		c.AnonymousMethods = splitList(raw.anonMethods)
	}
	var err error
	if c.RatePlans, err = ratelimit.ParsePlans(raw.plans); err != nil {
		errs = append(errs, fmt.Errorf("--rate-plans: %w", err))
	}
	if c.MethodWeights, err = ratelimit.ParseWeights(raw.weights); err != nil {
		errs = append(errs, fmt.Errorf("--method-weights: %w", err))
	}
	for _, p := range splitList(raw.proxies) {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			if a, aerr := netip.ParseAddr(p); aerr == nil {
				pfx, err = a.Prefix(a.BitLen())
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--trusted-proxies %q: want a CIDR or an address", p))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx)
	}
	if err := c.LogLevel.UnmarshalText([]byte(raw.logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	errs = append(errs, c.validate()...)
	return c, errors.Join(errs...)
}

func (c *config) validate() []error {
	var errs []error
	switch {
	case c.Upstream == "" && !c.SimulatedNode:
		errs = append(errs, fmt.Errorf("no upstream: give --upstream (%s), the ws:// or wss:// URL of a NULS node, or --simulated-node (%s=true) for a made-up chain in-process, for development", envUpstream, envSimulatedNode))
	case c.Upstream != "" && c.SimulatedNode:
		errs = append(errs, errors.New("--upstream and --simulated-node: choose one"))
	case c.SimulatedNode && c.Topology == topologyManager:
		errs = append(errs, errors.New("--topology manager needs --upstream, a Manager: the simulated node is served directly"))
	}
	if c.DevWallet && !c.SimulatedNode {
		errs = append(errs, errors.New("--dev-wallet opens the simulated node's wallet: it needs --simulated-node, and is refused in front of a real node"))
	}
	c.Upstreams = nil
	if c.Upstream != "" {
		for raw := range strings.SplitSeq(c.Upstream, ",") {
			raw = strings.TrimSpace(raw)
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
				errs = append(errs, fmt.Errorf("--upstream %q: want a ws:// or wss:// URL", redactedURL(raw)))
				continue
			}
			if slices.Contains(c.Upstreams, raw) {
				errs = append(errs, fmt.Errorf("--upstream: %s twice", redactedURL(raw)))
			}
			c.Upstreams = append(c.Upstreams, raw)
		}
	}
	if len(c.Upstreams) > 1 {
		if c.Topology != topologyDirect {
			errs = append(errs, errors.New("several upstreams need --topology direct: each a node serving every method (a Nulstar Connector, a Java module); several Managers are not supported yet"))
		}
		if c.ChainID == 0 {
			errs = append(errs, errors.New("several upstreams need --chain-id: the chain whose head the gateway measures on each node"))
		}
	}
	if c.MaxLag < 1 {
		errs = append(errs, fmt.Errorf("--max-lag %d: want 1 or more blocks", c.MaxLag))
	}
	if c.StallAfter <= 0 || c.HedgeAfter < 0 {
		errs = append(errs, errors.New("--stall-after must be positive, --hedge-after not negative"))
	}
	if c.Topology != topologyDirect && c.Topology != topologyManager {
		errs = append(errs, fmt.Errorf("--topology %q: want %s or %s", c.Topology, topologyDirect, topologyManager))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %w", c.Listen, err))
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			errs = append(errs, fmt.Errorf("--advertise %q: %w", c.Advertise, err))
		}
	}
	for _, s := range c.Scopes {
		if !bridge.ValidScope(s) {
			errs = append(errs, fmt.Errorf("--scopes: unknown scope %q", s))
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.MaxBodyBytes <= 0 || c.MaxStreams <= 0 || c.Retention <= 0 || c.CallTimeout <= 0 || c.MaxBatchAnswerBytes <= 0 {
		errs = append(errs, errors.New("--max-body-bytes, --max-batch-answer-bytes, --max-streams, --retention and --call-timeout must be positive"))
	}
	if c.CacheDepth < 1 || c.CacheBytes <= 0 || c.CacheEntries <= 0 {
		errs = append(errs, errors.New("--cache-depth, --cache-bytes and --cache-entries must be positive (--no-cache turns the cache off)"))
	}
	if c.MaxStoredAnswersPerClient <= 0 || c.MaxStoredBytesPerClient <= 0 || c.MaxStoredAnswers <= 0 || c.MaxStoredBytes <= 0 || c.MaxStoredAnswerBytes <= 0 {
		errs = append(errs, errors.New("--max-stored-answers-per-client, --max-stored-bytes-per-client, --max-stored-answers, --max-stored-bytes and --max-stored-answer-bytes must be positive"))
	}
	if c.MaxTopics <= 0 || c.MaxStreamsPerClient <= 0 || c.MaxTopicsPerClient <= 0 || c.MaxCompounds <= 0 ||
		c.HeaderTimeout <= 0 || c.BodyTimeout <= 0 || c.MaxHeaderBytes <= 0 || c.TicketTTL <= 0 {
		errs = append(errs, errors.New("--max-topics, --max-streams-per-client, --max-topics-per-client, --max-compound-methods, --header-timeout, --body-timeout, --max-header-bytes and --stream-ticket-ttl must be positive"))
	}
	for _, s := range c.AnonymousScopes {
		if !bridge.ValidScope(s) {
			errs = append(errs, fmt.Errorf("--anonymous-scopes: unknown scope %q (or none)", s))
		}
	}
	if c.UnlistedScope != "" && !bridge.ValidScope(c.UnlistedScope) {
		errs = append(errs, fmt.Errorf("--unlisted-scope %q: want public, admin or private", c.UnlistedScope))
	}
	if c.RatePlans != nil {
		for _, name := range []string{"anonymous", "default"} {
			if _, ok := c.RatePlans[name]; !ok {
				errs = append(errs, fmt.Errorf("--rate-plans: no %s plan (name=unlimited to have none)", name))
			}
		}
	}
	switch {
	case c.RateLimitStore == "":
		c.RateLimitStore = "memory"
		if c.RedisURL != "" {
			c.RateLimitStore = "redis"
		}
	case c.RateLimitStore == "redis" && c.RedisURL == "":
		errs = append(errs, errors.New("--rate-limit-store redis needs --redis-url"))
	case c.RateLimitStore != "redis" && c.RateLimitStore != "memory":
		errs = append(errs, fmt.Errorf("--rate-limit-store %q: want redis or memory", c.RateLimitStore))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		errs = append(errs, errors.New("--jwt-secret must be at least 32 bytes"))
	}
	if u, err := url.Parse(c.JWKS); err == nil && u.Scheme == "http" && !c.JWKSAllowHTTP {
		errs = append(errs, fmt.Errorf("--jwks %s is plain http: whoever is on its path can swap the keys and mint tokens; use https, or pass --jwks-allow-http (%s=true) to accept it", u.Redacted(), envJWKSAllowHTTP))
	}
	if c.TicketSecret != "" && len(c.TicketSecret) < 32 {
		errs = append(errs, errors.New("--ticket-secret must be at least 32 bytes"))
	}
	if _, _, err := net.SplitHostPort(c.ModuleListen); err != nil {
		errs = append(errs, fmt.Errorf("--module-listen %q: %w", c.ModuleListen, err))
	}
	return errs
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// redactedURL hides a password in a URL for the log.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
