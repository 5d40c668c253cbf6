package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// msgFloorListens is the floor's log record with its address.
const msgFloorListens = "floor listening"

// floorResult is the floor's answer to every call: the size of the node's
// answer to latestHeight.
var floorResult = []byte(`{"value":123456}`)

// floorHandler is the least a Go HTTP JSON endpoint does for a call: read
// the body (bounded), decode it, and answer JSON. It is the reference the
// rpc subcommand measures the gateway's CPU per call against.
func floorHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	var params map[string]any
	if err == nil {
		err = json.Unmarshal(body, &params)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(floorResult)
}

// runFloor serves floorHandler on listen until ctx ends. The rpc
// subcommand runs it as a process of its own, as it runs the gateway.
func runFloor(ctx context.Context, listen string, logger *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", floorMetrics)
	mux.HandleFunc("/", floorHandler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info(msgFloorListens, slog.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
