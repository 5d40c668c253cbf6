// Command devnode runs the simulated NULS node of package bridge/devnode: a
// small chain whose main endpoint answers every NULS module method and plays
// the Manager, with its modules on their own ports too.
//
//	devnode --listen 127.0.0.1:7771 --block-interval 1s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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
	cfg, level, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	logger.Info("starting",
		slog.String("listen", cfg.Listen), slog.Duration("block_interval", cfg.BlockInterval),
		slog.Int("chain_id", cfg.ChainID), slog.Bool("strict", cfg.Strict), slog.String("mode", cfg.Mode), slog.String("log_level", level.String()))
	n, err := devnode.New(cfg, logger)
	if err != nil {
		return err
	}
	for _, a := range n.GenesisAccounts() {
		logger.Info("genesis account", slog.String("address", a.Address), slog.String("password", a.Password),
			slog.Int64("balance", devnode.GenesisBalance))
	}
	return n.Run(ctx)
}

// parseFlags turns the command line into the node's configuration and the
// log level.
func parseFlags(args []string, stderr io.Writer) (devnode.Config, slog.Level, error) {
	fs := flag.NewFlagSet("devnode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg devnode.Config
	var level slog.Level
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
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: devnode [flags]\n\nRuns a simulated NULS node.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, level, err
	}
	if fs.NArg() > 0 {
		return cfg, level, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.BlockInterval == 0 {
		return cfg, level, errors.New("--block-interval must not be 0 (negative: no blocks)")
	}
	return cfg, level, nil
}
