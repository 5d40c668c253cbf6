// Command loadtest measures the gateway, as the issue behind `make bench`
// asks: request throughput and latency through the gateway against a
// direct bridge.Client of the same simulated node (rpc), and the fan-out of
// one subscription to many Server-Sent Event streams (sse).
//
//	loadtest rpc --concurrency 1,8,32,64,128 --duration 5s
//	loadtest sse --streams 10000 --events 20
//
// It starts the real binaries, built with go build unless given, as
// processes of their own: the simulated node (cmd/devnode) and a gateway
// (cmd/gateway) in front of it, so that the load generator, the gateway and
// the node do not share a Go runtime. It prints the figures as Markdown on
// stdout and its progress on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		stop()
		os.Exit(1)
	}
}
