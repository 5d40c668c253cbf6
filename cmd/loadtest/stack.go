package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"
)

const (
	// startTimeout bounds the wait for a started process's first log
	// records and for the gateway's readiness.
	startTimeout = 30 * time.Second
	// Log messages the load test waits for.
	msgNodeRunning     = "devnode running"
	msgGatewayListens  = "gateway listening"
	msgGatewayOwnsNode = "SIMULATED NULS NODE (--simulated-node): not a NULS network"
)

// stackConfig says which node and gateway to measure, and how to run the
// ones the load test starts.
type stackConfig struct {
	// NodeURL is a running node to use; empty starts one.
	NodeURL string
	// GatewayURL is a running gateway to use, in front of NodeURL;
	// empty starts one.
	GatewayURL string
	// EmbeddedNode lets the started gateway run the node in-process.
	EmbeddedNode bool
	// GatewayBin and DevnodeBin are the binaries to run; empty builds
	// them.
	GatewayBin, DevnodeBin string
	// Floor starts the reference endpoint (loadtest floor) too, from
	// FloorBin (empty: this program).
	Floor    bool
	FloorBin string
	// GatewayProcs and NodeProcs set GOMAXPROCS of the started
	// processes; 0 leaves Go's default.
	GatewayProcs, NodeProcs int
	// BlockInterval is the started node's block interval; negative
	// makes no blocks.
	BlockInterval time.Duration
	// GatewayFlags are added to the started gateway's command line (as
	// "--chain-id 2 --cache-depth 1", to measure the answer cache).
	GatewayFlags []string
	// MaxStreams is the started gateway's --max-streams; 0 leaves its
	// default.
	MaxStreams int
}

// stack is the system under test: a simulated node and a gateway in front
// of it, the processes the load test started and how to reach both.
type stack struct {
	// NodeURL is the node's ws:// URL, which the gateway calls too.
	NodeURL string
	// GatewayURL is the gateway's http:// base URL.
	GatewayURL string
	// FloorURL is the reference endpoint's http:// base URL, when
	// started.
	FloorURL string

	cfg     stackConfig
	gateway *child // nil when not started here
	node    *child // nil when not started here or embedded
	floor   *child // nil unless cfg.Floor
	tmp     string // built binaries
}

// startStack starts what cfg does not name and waits until the gateway is
// ready. Close stops it.
func startStack(ctx context.Context, cfg stackConfig, logger *slog.Logger) (s *stack, err error) {
	s = &stack{NodeURL: cfg.NodeURL, GatewayURL: cfg.GatewayURL, cfg: cfg}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	startNode := cfg.NodeURL == "" && !cfg.EmbeddedNode
	startGateway := cfg.GatewayURL == ""
	var build []string
	if startGateway && cfg.GatewayBin == "" {
		build = append(build, "gateway")
	}
	if startNode && cfg.DevnodeBin == "" {
		build = append(build, "devnode")
	}
	if len(build) > 0 {
		if s.tmp, err = os.MkdirTemp("", "loadtest-bin-"); err != nil {
			return s, err
		}
		bins, err := buildBinaries(ctx, s.tmp, logger, build...)
		if err != nil {
			return s, err
		}
		if bins["gateway"] != "" {
			cfg.GatewayBin = bins["gateway"]
		}
		if bins["devnode"] != "" {
			cfg.DevnodeBin = bins["devnode"]
		}
	}

	if startNode {
		args := []string{"--listen", "127.0.0.1:0", "--block-interval", cfg.BlockInterval.String()}
		if s.node, err = startChild("devnode", cfg.DevnodeBin, args, procsEnv(cfg.NodeProcs), logger); err != nil {
			return s, err
		}
		rec, err := s.node.await(ctx, msgNodeRunning, startTimeout)
		if err != nil {
			return s, err
		}
		s.NodeURL = rec["url"]
	}
	if startGateway {
		// One load generator, one address: the per-client limits and
		// rate plans meant for strangers would measure themselves.
		// Anonymous callers may do everything here, within no limit:
		// the load is the test's, and the rpc subcommand creates a
		// compound method (admin).
		args := []string{"--listen", "127.0.0.1:0", "--log-level", "info",
			"--rate-plans", "anonymous=unlimited,default=unlimited", "--anonymous-scopes", "public,admin"}
		if cfg.EmbeddedNode {
			args = append(args, "--simulated-node", "--devnode-block-interval", cfg.BlockInterval.String())
		} else {
			args = append(args, "--upstream", s.NodeURL)
		}
		args = append(args, cfg.GatewayFlags...)
		if cfg.MaxStreams > 0 {
			n := strconv.Itoa(cfg.MaxStreams)
			args = append(args, "--max-streams", n, "--max-streams-per-client", n)
		}
		if s.gateway, err = startChild("gateway", cfg.GatewayBin, args, procsEnv(cfg.GatewayProcs), logger); err != nil {
			return s, err
		}
		if cfg.EmbeddedNode {
			rec, err := s.gateway.await(ctx, msgGatewayOwnsNode, startTimeout)
			if err != nil {
				return s, err
			}
			s.NodeURL = rec["url"]
		}
		rec, err := s.gateway.await(ctx, msgGatewayListens, startTimeout)
		if err != nil {
			return s, err
		}
		s.GatewayURL = "http://" + rec["addr"]
	}
	if cfg.Floor {
		bin := cfg.FloorBin
		if bin == "" {
			if bin, err = os.Executable(); err != nil {
				return s, err
			}
		}
		// The floor gets the gateway's GOMAXPROCS: the two are compared.
		if s.floor, err = startChild("floor", bin, []string{"floor", "--listen", "127.0.0.1:0"}, procsEnv(cfg.GatewayProcs), logger); err != nil {
			return s, err
		}
		rec, err := s.floor.await(ctx, msgFloorListens, startTimeout)
		if err != nil {
			return s, err
		}
		s.FloorURL = "http://" + rec["addr"]
	}
	if s.NodeURL == "" || s.GatewayURL == "" {
		return s, fmt.Errorf("no node or gateway address (node %q, gateway %q)", s.NodeURL, s.GatewayURL)
	}
	return s, waitReady(ctx, s.GatewayURL)
}

func procsEnv(n int) []string {
	if n <= 0 {
		return nil
	}
	return []string{"GOMAXPROCS=" + strconv.Itoa(n)}
}

// waitReady polls the gateway's /readyz until it answers 200.
func waitReady(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := controlClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/readyz: %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("gateway %s not ready: %w", base, last)
		case <-tick.C:
		}
	}
}

// procs returns the processes to account CPU time to, by role.
func (s *stack) procs() map[string]int {
	m := map[string]int{"loadtest": os.Getpid()}
	if s.gateway != nil {
		m["gateway"] = s.gateway.pid()
	}
	if s.node != nil {
		m["node"] = s.node.pid()
	}
	if s.floor != nil {
		m["floor"] = s.floor.pid()
	}
	return m
}

// layout says what runs where, for the report.
func (s *stack) layout() []string {
	procs := func(n int) string {
		if n > 0 {
			return "GOMAXPROCS=" + strconv.Itoa(n)
		}
		return "GOMAXPROCS=default (" + strconv.Itoa(runtime.NumCPU()) + ")"
	}
	var out []string
	out = append(out, fmt.Sprintf("loadtest (load generator and direct client): pid %d, GOMAXPROCS=%d", os.Getpid(), runtime.GOMAXPROCS(0)))
	switch {
	case s.gateway != nil:
		out = append(out, fmt.Sprintf("gateway: pid %d, %s, %s", s.gateway.pid(), procs(s.cfg.GatewayProcs), s.GatewayURL))
	default:
		out = append(out, "gateway: not started here, "+s.GatewayURL)
	}
	switch {
	case s.node != nil:
		out = append(out, fmt.Sprintf("node (cmd/devnode): pid %d, %s, %s", s.node.pid(), procs(s.cfg.NodeProcs), s.NodeURL))
	case s.cfg.EmbeddedNode:
		out = append(out, "node: in the gateway's process (--simulated-node), "+s.NodeURL)
	default:
		out = append(out, "node: not started here, "+s.NodeURL)
	}
	if s.floor != nil {
		out = append(out, fmt.Sprintf("floor (loadtest floor, a minimal net/http JSON endpoint): pid %d, %s, %s", s.floor.pid(), procs(s.cfg.GatewayProcs), s.FloorURL))
	}
	out = append(out, fmt.Sprintf("all processes share the machine's %d CPUs, unpinned", runtime.NumCPU()))
	return out
}

// Close stops the gateway, then the node, and removes the built binaries.
func (s *stack) Close() error {
	var errs []error
	if s.gateway != nil {
		errs = append(errs, s.gateway.stop())
	}
	if s.node != nil {
		errs = append(errs, s.node.stop())
	}
	if s.floor != nil {
		errs = append(errs, s.floor.stop())
	}
	if s.tmp != "" {
		errs = append(errs, os.RemoveAll(s.tmp))
	}
	return errors.Join(errs...)
}

// controlClient makes the load test's few control requests (readiness,
// metrics), on connections of their own that it does not keep.
var controlClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   10 * time.Second,
}
