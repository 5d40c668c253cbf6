package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
)

// faultsBody is devnode.Faults on the control endpoint, with the delay as
// a duration string ("250ms").
type faultsBody struct {
	Stall bool   `json:"stall"`
	Lag   int    `json:"lag"`
	Delay string `json:"delay"`
}

// maxControlBody bounds a PUT /faults body.
const maxControlBody = 4 << 10

// controlHandler serves GET /faults (the faults in effect), PUT /faults
// (new ones: {"stall":true}, {"lag":20}, {"delay":"250ms"}, {} heals) and
// POST /rollback ({"blocks":3}: the newest 3 blocks removed, as a fork
// switch does; it answers the new height) and POST /produce ({"blocks":N}:
// N blocks made now, whatever the block interval; it answers the new
// height).
func controlHandler(n *devnode.Node) http.Handler {
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter) {
		f := n.Faults()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(faultsBody{Stall: f.Stall, Lag: f.Lag, Delay: f.Delay.String()})
	}
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) { write(w) })
	mux.HandleFunc("PUT /faults", func(w http.ResponseWriter, r *http.Request) {
		var b faultsBody
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		f := devnode.Faults{Stall: b.Stall, Lag: b.Lag}
		if b.Delay != "" {
			d, err := time.ParseDuration(b.Delay)
			if err != nil || d < 0 {
				http.Error(w, fmt.Sprintf("faults: delay %q: want a duration such as 250ms", b.Delay), http.StatusBadRequest)
				return
			}
			f.Delay = d
		}
		if f.Lag < 0 {
			http.Error(w, "faults: lag must not be negative", http.StatusBadRequest)
			return
		}
		n.SetFaults(f)
		write(w)
	})
	mux.HandleFunc("POST /rollback", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Blocks int `json:"blocks"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil || b.Blocks < 1 {
			http.Error(w, `rollback: want {"blocks": N}, N at least 1`, http.StatusBadRequest)
			return
		}
		h := n.Rollback(b.Blocks)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int64{"height": h})
	})
	mux.HandleFunc("POST /produce", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Blocks int `json:"blocks"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil || b.Blocks < 1 || b.Blocks > maxProduce {
			http.Error(w, fmt.Sprintf(`produce: want {"blocks": N}, N from 1 to %d`, maxProduce), http.StatusBadRequest)
			return
		}
		var h int64
		for range b.Blocks {
			h = n.ProduceBlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int64{"height": h})
	})
	return mux
}

// maxProduce bounds the blocks one POST /produce makes.
const maxProduce = 10000

// serveControl serves the control endpoint on ln until ctx ends.
func serveControl(ctx context.Context, ln net.Listener, n *devnode.Node, logger *slog.Logger) error {
	srv := &http.Server{Handler: controlHandler(n), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("control endpoint listening", slog.String("addr", ln.Addr().String()))
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
