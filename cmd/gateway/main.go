// Command gateway is the HTTP and SSE front door of a NULS 2 module network,
// the one given by --upstream. With --simulated-node instead, it starts the
// simulated NULS node in-process and keeps its state in memory: one command
// (make run) gives a gateway to curl and stream, saying loudly that its
// chain is made up.
//
// "gateway keys add|list|revoke" manages its API keys.
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "keys" {
		if err := runKeys(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			if !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(os.Stderr, "gateway:", err)
				os.Exit(2)
			}
		}
		return
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) || errors.Is(err, errVersion) {
			return
		}
		fmt.Fprintln(os.Stderr, "gateway:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(2) // as flag's own ExitOnError
		}
		os.Exit(1)
	}
}

// newLogger builds the process logger.
func newLogger(c config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel, ReplaceAttr: durationText}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// durationText writes a duration as text ("1.5ms"), in JSON as in text,
// where slog's JSON handler would write nanoseconds.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}
