package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
)

const usage = `Usage: loadtest <rpc|sse> [flags]

Measures the gateway against the simulated NULS node, each run as its own
process (built with go build unless --gateway-bin and --devnode-bin are
given). Results go to stdout as Markdown; progress goes to stderr.

  rpc   the same closed-loop load (N workers, fixed duration, after a
        warm-up) through a direct bridge.Client to the node and through the
        gateway's POST /rpc/{method}, in alternating rounds, at each
        concurrency; then an open-loop pass of each at half the gateway's
        peak rate.
  sse   N concurrent SSE streams of one subscription: delivery latency of
        the next K events, and the gateway's memory per stream.
  floor a minimal net/http JSON endpoint (--listen), the reference rpc
        runs as a process of its own and measures the gateway against.

Run "loadtest rpc --help" or "loadtest sse --help" for the flags.
`

// run dispatches a subcommand. Logs go to stderr, results to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing subcommand")
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	switch args[0] {
	case "rpc":
		cfg, err := parseRPCFlags(args[1:], stderr)
		if err != nil {
			return err
		}
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return err
		}
		return errors.Join(runRPC(ctx, cfg, stdout, logger), stop())
	case "sse":
		cfg, err := parseSSEFlags(args[1:], stderr)
		if err != nil {
			return err
		}
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return err
		}
		return errors.Join(runSSE(ctx, cfg, stdout, logger), stop())
	case "floor":
		fs := newFlagSet("floor", "Serves the minimal JSON endpoint rpc measures the gateway against.", stderr)
		listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runFloor(ctx, *listen, logger)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown subcommand %q", args[0])
}

// startCPUProfile profiles the load test itself into path, if set, until
// the returned stop is called.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close() // the profile's error is the one to report
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
