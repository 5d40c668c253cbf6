// Command devnode runs the simulated NULS node of package bridge/devnode: a
// small chain whose main endpoint answers every NULS module method and plays
// the Manager, with its modules on their own ports too.
//
//	devnode --listen 127.0.0.1:7771 --block-interval 1s
//
// Several nodes of one chain: one leader, and followers that take its blocks
// (--follow), each with a control endpoint that makes it misbehave on
// purpose (--control: PUT /faults {"stall":true}, {"lag":20},
// {"delay":"250ms"}; {} heals):
//
//	devnode --listen 127.0.0.1:7770
//	devnode --listen 127.0.0.1:7771 --follow ws://127.0.0.1:7770 --control 127.0.0.1:7781
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devnode:", err)
		stop()
		os.Exit(1)
	}
}

// run parses args, then runs the node until ctx ends. Logs and usage go to
// stderr. --help prints the usage and returns nil.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opts.level}))
	logger.Info("starting",
		slog.String("listen", cfg.Listen), slog.Duration("block_interval", cfg.BlockInterval),
		slog.Int("chain_id", cfg.ChainID), slog.Bool("strict", cfg.Strict), slog.String("mode", cfg.Mode),
		slog.String("follow", cfg.Follow), slog.String("log_level", opts.level.String()))
	n, err := devnode.New(cfg, logger)
	if err != nil {
		return err
	}
	if opts.lag > 0 {
		n.SetFaults(devnode.Faults{Lag: opts.lag})
	}
	for _, a := range n.GenesisAccounts() {
		logger.Info("genesis account", slog.String("address", a.Address), slog.String("password", a.Password),
			slog.Int64("balance", devnode.GenesisBalance))
	}
	if opts.control == "" {
		return n.Run(ctx)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.control)
	if err != nil {
		return fmt.Errorf("--control: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	controlErr := make(chan error, 1)
	go func() { controlErr <- serveControl(ctx, ln, n, logger) }()
	err = n.Run(ctx)
	cancel()
	return errors.Join(err, <-controlErr)
}

// options are the flags that are not the node's configuration.
type options struct {
	level   slog.Level
	lag     int    // blocks a follower starts behind its leader
	control string // host:port of the control endpoint; "": none
}

// parseFlags turns the command line into the node's configuration and the
// log level.
func parseFlags(args []string, stderr io.Writer) (devnode.Config, options, error) {
	fs := flag.NewFlagSet("devnode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg devnode.Config
	var opts options
	fs.StringVar(&cfg.Listen, "listen", devnode.DefaultListen,
		"`host:port` of the main endpoint (every method, and the Manager); the modules listen on free ports of the same host")
	fs.DurationVar(&cfg.BlockInterval, "block-interval", devnode.DefaultBlockInterval,
		"time between two blocks; a negative `duration` makes no blocks")
	fs.StringVar(&cfg.AdvertiseHost, "advertise-host", "",
		"`host` put in the role table and module URLs (in containers: the service name); default: the --listen host, or 127.0.0.1 for a wildcard")
	fs.IntVar(&cfg.ChainID, "chain-id", devnode.DefaultChainID, "chain ID, 1 to 65535 (2: testnet addresses tNULSe…)")
	fs.BoolVar(&cfg.Strict, "strict", false, "drop frames with fields a Java module does not know, as Java does")
	fs.StringVar(&cfg.Manager, "manager", "", "ws:// URL of a Manager (Nulstar ServiceManager, a Java Manager) to register with as the module devnode, serving every chain method; unset: none")
	fs.StringVar(&cfg.Mode, "mode", "", "play a real peer on the main endpoint: java (no ListAPI, as a Java module or Manager) or connector (failures as success with {}, no pushes, as the Nulstar Connector); unset: the specification")
	fs.StringVar(&cfg.Follow, "follow", "", "ws:// `URL` of another devnode's main endpoint: make no blocks but take that leader's, and send it the methods that make a transaction (several followers of one leader: several nodes of one chain)")
	fs.IntVar(&opts.lag, "lag", 0, "with --follow: stay this many `blocks` behind the leader (PUT /faults changes it)")
	fs.StringVar(&opts.control, "control", "", "`host:port` of a control endpoint that makes the node misbehave, for tests: GET and PUT /faults, {\"stall\":true} (head frozen), {\"lag\":20}, {\"delay\":\"250ms\"}, {} heals; never expose it; unset: none")
	fs.TextVar(&opts.level, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: devnode [flags]\n\nRuns a simulated NULS node.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, opts, err
	}
	if fs.NArg() > 0 {
		return cfg, opts, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.BlockInterval == 0 {
		return cfg, opts, errors.New("--block-interval must not be 0 (negative: no blocks)")
	}
	if opts.lag < 0 || (opts.lag > 0 && cfg.Follow == "") {
		return cfg, opts, errors.New("--lag needs --follow, and must not be negative")
	}
	return cfg, opts, nil
}
