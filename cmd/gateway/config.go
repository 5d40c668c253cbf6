package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Environment variables, one per flag.
const (
	envListen          = "GATEWAY_LISTEN"
	envUpstream        = "GATEWAY_UPSTREAM"
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
	envGrace           = "GATEWAY_GRACE"
	envShutdownTimeout = "GATEWAY_SHUTDOWN_TIMEOUT"
	envBlockInterval   = "GATEWAY_DEVNODE_BLOCK_INTERVAL"
	envLogLevel        = "GATEWAY_LOG_LEVEL"
	envLogFormat       = "GATEWAY_LOG_FORMAT"
	envDebugListen     = "GATEWAY_DEBUG_LISTEN"
)

// Topologies of --topology.
const (
	topologyDirect  = "direct"  // T1: one endpoint serves every method
	topologyManager = "manager" // T2: register with a Manager, call the modules
)

// config is the effective configuration of the binary.
type config struct {
	Listen          string
	Upstream        string
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
	Grace           time.Duration
	ShutdownTimeout time.Duration
	BlockInterval   time.Duration
	LogLevel        slog.Level
	LogFormat       string
	DebugListen     string
}

// parseConfig reads flags, each defaulting to its environment variable and
// then to the built-in default. --help prints them and returns flag.ErrHelp.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: gateway [flags]\n\nHTTP and SSE gateway for a NULS 2 module network. Every flag can also be set\nby the environment variable named in its description.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var scopes, corsOrigins, logLevel string
	var errs []error
	durationVar := func(p *time.Duration, name, envName string, def time.Duration, usage string) {
		d := def
		if v := getenv(envName); v != "" {
			var err error
			if d, err = time.ParseDuration(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName, v, err))
			}
		}
		fs.DurationVar(p, name, d, usage+" (env "+envName+")")
	}
	intVar := func(p *int, name, envName string, def int, usage string) {
		n := def
		if v := getenv(envName); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName, v, err))
			}
		}
		fs.IntVar(p, name, n, usage+" (env "+envName+")")
	}
	fs.StringVar(&c.Listen, "listen", env(envListen, ":8080"), "address to serve HTTP on (env "+envListen+")")
	fs.StringVar(&c.Upstream, "upstream", env(envUpstream, ""), "ws:// or wss:// URL of the NULS upstream; unset: start the simulated node in-process (env "+envUpstream+")")
	fs.StringVar(&c.Topology, "topology", env(envTopology, topologyDirect), "direct: the upstream serves every method (a Nulstar Connector, a Java module); manager: the upstream is a Manager to register with, whose modules are called directly (env "+envTopology+")")
	fs.StringVar(&c.RedisURL, "redis-url", env(envRedisURL, ""), "Redis URL for state shared by several instances; unset: in-memory state (env "+envRedisURL+")")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", env(envRedisPrefix, "nulsgw"), "prefix of every Redis key (env "+envRedisPrefix+")")
	fs.StringVar(&c.Advertise, "advertise", env(envAdvertise, ""), "host:port where other modules reach this gateway's module endpoint (/ws), sent in RegisterAPI; default: 127.0.0.1 and the --listen port (env "+envAdvertise+")")
	fs.StringVar(&c.Abbreviation, "abbreviation", env(envAbbreviation, "gateway"), "the gateway's module abbreviation and name toward the Manager (env "+envAbbreviation+")")
	fs.StringVar(&scopes, "scopes", env(envScopes, "public"), "comma-separated method scopes callable through the gateway: public, admin, private (env "+envScopes+")")
	fs.StringVar(&corsOrigins, "cors-origins", env(envCORSOrigins, ""), "comma-separated origins (scheme://host[:port]) whose browser pages may call the gateway and open its streams, or * for any; unset: no CORS headers (env "+envCORSOrigins+")")
	durationVar(&c.CallTimeout, "call-timeout", envCallTimeout, 10*time.Second, "timeout of an upstream call")
	var maxBody int
	intVar(&maxBody, "max-body-bytes", envMaxBodyBytes, 1<<20, "largest request body, in bytes")
	intVar(&c.MaxStreams, "max-streams", envMaxStreams, 20000, "most concurrent SSE streams")
	durationVar(&c.Heartbeat, "heartbeat", envHeartbeat, 15*time.Second, "interval of SSE keep-alive comments")
	intVar(&c.Retention, "retention", envRetention, 1024, "events kept per subscription for clients resuming with Last-Event-ID")
	durationVar(&c.Grace, "grace", envGrace, 10*time.Second, "how long an upstream subscription outlives its last client")
	durationVar(&c.ShutdownTimeout, "shutdown-timeout", envShutdownTimeout, 30*time.Second, "how long shutdown waits for in-flight calls")
	durationVar(&c.BlockInterval, "devnode-block-interval", envBlockInterval, time.Second, "block interval of the in-process simulated node")
	fs.StringVar(&logLevel, "log-level", env(envLogLevel, "info"), "debug, info, warn or error (env "+envLogLevel+")")
	fs.StringVar(&c.LogFormat, "log-format", env(envLogFormat, "text"), "text or json (env "+envLogFormat+")")
	fs.StringVar(&c.DebugListen, "debug-listen", env(envDebugListen, ""), "address of a separate listener serving /debug/pprof; unset: none. Keep it private (env "+envDebugListen+")")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	c.MaxBodyBytes = int64(maxBody)
	for _, s := range strings.Split(scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.Scopes = append(c.Scopes, s)
		}
	}
	for _, o := range strings.Split(corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	errs = append(errs, c.validate()...)
	return c, errors.Join(errs...)
}

func (c *config) validate() []error {
	var errs []error
	if c.Upstream != "" {
		u, err := url.Parse(c.Upstream)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--upstream %q: want a ws:// or wss:// URL", c.Upstream))
		}
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
		if s != "public" && s != "admin" && s != "private" {
			errs = append(errs, fmt.Errorf("--scopes: unknown scope %q", s))
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.MaxBodyBytes <= 0 || c.MaxStreams <= 0 || c.Retention <= 0 || c.CallTimeout <= 0 {
		errs = append(errs, errors.New("--max-body-bytes, --max-streams, --retention and --call-timeout must be positive"))
	}
	return errs
}

// redactedURL hides a password in a URL for the log.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
