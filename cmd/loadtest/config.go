package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// rpcConfig is the configuration of the rpc subcommand.
type rpcConfig struct {
	Stack stackConfig
	// CPUProfile, when set, receives the load test's own CPU profile.
	CPUProfile string
	// Concurrency lists the numbers of closed-loop workers, one pass
	// each per path.
	Concurrency []int
	// Rounds is how many rounds each pass is split into, alternating
	// the paths.
	Rounds int
	// Warmup runs before each round's measurement, unmeasured.
	Warmup time.Duration
	// Duration is each pass's measured time, over all its rounds.
	Duration time.Duration
	// Method and Params are what every request calls.
	Method string
	Params json.RawMessage
	// OpenWorkers is how many workers serve the open-loop pass; 0: the
	// largest of Concurrency.
	OpenWorkers int
	// OpenRate is the open-loop pass's rate in req/s; 0: half the
	// gateway's peak.
	OpenRate float64
	// CallTimeout bounds each request.
	CallTimeout time.Duration
	// NginxBin, when set, is an nginx run as a reverse proxy to the
	// floor: the cost of proxying a call, issue 10's second reference.
	NginxBin string
	// AllocCalls is how many calls the allocation pass makes on the
	// gateway and on the floor.
	AllocCalls int
}

// sseConfig is the configuration of the sse subcommand.
type sseConfig struct {
	Stack stackConfig
	// CPUProfile, when set, receives the load test's own CPU profile.
	CPUProfile string
	// Streams is how many concurrent streams to open.
	Streams int
	// Events is how many events, after every stream is established, each
	// stream's delivery latency is measured for.
	Events int
	// Path is the stream to open, with its query.
	Path string
	// DialConcurrency bounds the streams being opened at once.
	DialConcurrency int
	// ConnectTimeout bounds the opening of every stream.
	ConnectTimeout time.Duration
	// GCWait is how long to wait, with every stream open, for the
	// gateway's next garbage collection before the memory figures, so that
	// the heap holds little garbage; 0 does not wait.
	GCWait time.Duration
	// NginxBin, when set, is an nginx with libnginx-mod-nchan's module
	// (NchanModule): the same streams and events are then measured on
	// nchan too, the reference of issue 10.
	NginxBin, NchanModule string
	// dataIDs: the streams' positions are in their data (nchan).
	dataIDs bool
}

// stackFlags registers the flags shared by the subcommands: which node and
// gateway to measure, and how to run them.
func stackFlags(fs *flag.FlagSet, c *stackConfig, blockInterval time.Duration) {
	fs.StringVar(&c.NodeURL, "node", "", "ws:// URL of a running simulated node to use instead of starting cmd/devnode")
	fs.StringVar(&c.GatewayURL, "gateway", "", "http:// URL of a running gateway to use instead of starting cmd/gateway; it must be in front of the node of --node, which is then required")
	fs.BoolVar(&c.EmbeddedNode, "embedded-node", false, "let the gateway start the simulated node in-process (--simulated-node) and call that node directly, instead of running cmd/devnode as its own process")
	fs.StringVar(&c.GatewayBin, "gateway-bin", "", "gateway binary to run; default: go build ./cmd/gateway into a temporary directory")
	fs.StringVar(&c.DevnodeBin, "devnode-bin", "", "devnode binary to run; default: go build ./cmd/devnode into a temporary directory")
	fs.StringVar(&c.FloorBin, "floor-bin", "", "loadtest binary whose floor subcommand is the reference endpoint; default: this program")
	fs.IntVar(&c.GatewayProcs, "gateway-gomaxprocs", 0, "GOMAXPROCS of the gateway process; 0: Go's default (the number of CPUs)")
	fs.IntVar(&c.NodeProcs, "node-gomaxprocs", 0, "GOMAXPROCS of the devnode process; 0: Go's default")
	fs.DurationVar(&c.BlockInterval, "block-interval", blockInterval, "block interval of the simulated node started here: one latestHeight event per block")
	fs.Func("gateway-flags", `more flags of the gateway started here, space-separated ("--chain-id 2 --cache-depth 1": the answer cache on, as the rpc pass of a cached read needs)`, func(v string) error {
		c.GatewayFlags = strings.Fields(v)
		return nil
	})
}

func newFlagSet(name, about string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: loadtest %s [flags]\n\n%s\nFlags:\n", name, about)
		fs.PrintDefaults()
	}
	return fs
}

func parseRPCFlags(args []string, out io.Writer) (rpcConfig, error) {
	c := rpcConfig{}
	fs := newFlagSet("rpc", `Runs the same closed-loop load, N workers each making one request after
another, with a direct bridge.Client to the node and through the gateway
(POST /rpc/{method}, keep-alive connections), in alternating rounds, at
each concurrency;
then an open-loop pass of each path at half the gateway's peak rate, with
latency counted from each request's scheduled start (no coordinated
omission). The closed-loop rounds also call the floor, a minimal net/http
JSON endpoint run as a process of its own (loadtest floor). Reports req/s,
latency percentiles, the throughput ratio gateway/direct, the CPU per call
of the gateway against the floor's and of the node through the gateway
against direct, and the p99 latency the gateway adds at half its peak load.
`, out)
	stackFlags(fs, &c.Stack, time.Second)
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the load test's own CPU profile (the load generator, not the gateway) to this file")
	conc := fs.String("concurrency", "1,8,32,64,128", "comma-separated numbers of concurrent workers, one pass each")
	fs.IntVar(&c.Rounds, "rounds", 3, "rounds of each pass, rotating the paths (direct, gateway, floor) and which goes first, so that a disturbance of a shared machine falls on all")
	fs.DurationVar(&c.Warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up before each round")
	fs.DurationVar(&c.Duration, "duration", 6*time.Second, "measured time of each pass, over its rounds")
	fs.StringVar(&c.Method, "method", "latestHeight", "NULS method every request calls")
	params := fs.String("params", `{"chainId":2}`, "JSON object of the method's parameters")
	fs.IntVar(&c.OpenWorkers, "open-workers", 0, "workers of the open-loop pass; 0: the largest --concurrency")
	fs.Float64Var(&c.OpenRate, "open-rate", 0, "req/s of the open-loop pass; 0: half the gateway's peak")
	fs.DurationVar(&c.CallTimeout, "call-timeout", 10*time.Second, "timeout of each request")
	fs.IntVar(&c.AllocCalls, "alloc-calls", 20000, "calls of the allocation pass on the gateway and on the floor: enough that the two /metrics scrapes around them are noise")
	fs.StringVar(&c.NginxBin, "nginx", "", "nginx binary (Debian: nginx-light, /usr/sbin/nginx): also call the floor through nginx as a reverse proxy, and compare the gateway's CPU per call with nginx's; empty: do not")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	var err error
	if c.Concurrency, err = parseInts(*conc); err != nil {
		errs = append(errs, fmt.Errorf("--concurrency: %w", err))
	}
	c.Params = json.RawMessage(strings.TrimSpace(*params))
	if !json.Valid(c.Params) || !strings.HasPrefix(string(c.Params), "{") {
		errs = append(errs, errors.New("--params must be a JSON object"))
	}
	if c.Duration <= 0 || c.Rounds <= 0 || c.Warmup < 0 || c.CallTimeout <= 0 || c.OpenWorkers < 0 || c.OpenRate < 0 || c.AllocCalls <= 0 {
		errs = append(errs, errors.New("--duration, --rounds, --call-timeout and --alloc-calls must be positive, --warmup, --open-workers and --open-rate not negative"))
	}
	if c.Method == "" || strings.ContainsAny(c.Method, "/?#") {
		errs = append(errs, fmt.Errorf("--method %q: want a method name", c.Method))
	}
	c.Stack.Floor = true
	errs = append(errs, c.Stack.validate()...)
	return c, errors.Join(errs...)
}

func parseSSEFlags(args []string, out io.Writer) (sseConfig, error) {
	c := sseConfig{}
	fs := newFlagSet("sse", `Opens N concurrent SSE streams of one subscription (all share one upstream
subscription) over raw TCP, waits until every stream is established, then
measures, for the next K events, each stream's delivery latency: the time
it received the event minus the milliseconds in the event's id, when the
gateway appended the push. Also reads the gateway's /metrics before and
after opening the streams for its memory per stream.
`, out)
	stackFlags(fs, &c.Stack, time.Second)
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the load test's own CPU profile (the load generator, not the gateway) to this file")
	fs.IntVar(&c.Streams, "streams", 10000, "concurrent streams")
	fs.IntVar(&c.Events, "events", 20, "events measured once every stream is established")
	fs.StringVar(&c.Path, "path", "/rpc/latestHeight/stream?chainId=2", "stream path and query")
	fs.IntVar(&c.DialConcurrency, "dial-concurrency", 64, "streams being opened at once")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", 2*time.Minute, "time allowed to open every stream")
	fs.StringVar(&c.NginxBin, "nchan", "", "nginx binary with the nchan module (Debian: nginx-light and libnginx-mod-nchan, /usr/sbin/nginx): also measure the same streams and events on nchan, and compare; empty: do not")
	fs.StringVar(&c.NchanModule, "nchan-module", "/usr/lib/nginx/modules/ngx_nchan_module.so", "nchan's module file, loaded by --nchan's nginx")
	fs.DurationVar(&c.GCWait, "gc-wait", 0, "with every stream open, wait up to this long for the gateway's next garbage collection before reading its memory (the runtime forces one every 2 minutes); 0: read at once")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if c.Streams <= 0 || c.Events <= 0 || c.DialConcurrency <= 0 || c.ConnectTimeout <= 0 || c.GCWait < 0 {
		errs = append(errs, errors.New("--streams, --events, --dial-concurrency and --connect-timeout must be positive, --gc-wait not negative"))
	}
	if u, err := url.Parse(c.Path); err != nil || !strings.HasPrefix(c.Path, "/") || u.Host != "" {
		errs = append(errs, fmt.Errorf("--path %q: want an absolute path", c.Path))
	}
	if c.Stack.NodeURL == "" && c.Stack.BlockInterval <= 0 {
		errs = append(errs, errors.New("--block-interval must be positive: the streams need events"))
	}
	c.Stack.MaxStreams = c.Streams + 16
	errs = append(errs, c.Stack.validate()...)
	return c, errors.Join(errs...)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func (c *stackConfig) validate() []error {
	var errs []error
	if c.NodeURL != "" {
		if u, err := url.Parse(c.NodeURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--node %q: want a ws:// URL", c.NodeURL))
		}
	}
	if c.GatewayURL != "" {
		if u, err := url.Parse(c.GatewayURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--gateway %q: want an http:// URL", c.GatewayURL))
		}
		if c.NodeURL == "" {
			errs = append(errs, errors.New("--gateway needs --node: the direct client must call the gateway's node"))
		}
	}
	if c.EmbeddedNode && (c.NodeURL != "" || c.GatewayURL != "") {
		errs = append(errs, errors.New("--embedded-node starts the gateway and its node: it excludes --node and --gateway"))
	}
	if c.NodeURL == "" && c.BlockInterval == 0 {
		errs = append(errs, errors.New("--block-interval must not be 0 (negative: no blocks)"))
	}
	if c.GatewayProcs < 0 || c.NodeProcs < 0 {
		errs = append(errs, errors.New("--gateway-gomaxprocs and --node-gomaxprocs must not be negative"))
	}
	return errs
}
