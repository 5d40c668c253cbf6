package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// direct calls the node with a bridge.Client: one WebSocket connection
// shared by every worker, as the gateway's own upstream connection is.
type direct struct {
	client *bridge.Client
	method string
	params json.RawMessage
	cancel context.CancelFunc
	done   chan struct{}
}

// dialDirect connects to the node at url and waits until negotiated.
func dialDirect(ctx context.Context, url, method string, params json.RawMessage, timeout time.Duration) (*direct, error) {
	c, err := bridge.NewClient(bridge.ClientConfig{
		URL: url, Abbreviation: "loadtest", CallTimeout: timeout, FirstDialJitter: -1,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	d := &direct{client: c, method: method, params: params, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		_ = c.Run(rctx)
	}()
	wctx, wcancel := context.WithTimeout(ctx, startTimeout)
	defer wcancel()
	if err := c.WaitReady(wctx); err != nil {
		d.close()
		return nil, fmt.Errorf("direct client to %s: %w", url, err)
	}
	return d, nil
}

func (d *direct) call(ctx context.Context) error {
	_, err := d.client.Call(ctx, d.method, d.params)
	return err
}

func (d *direct) close() {
	d.cancel()
	<-d.done
}

// viaGateway calls the method with POST /rpc/{method}, reusing keep-alive
// connections: one per concurrent worker at most.
type viaGateway struct {
	client *http.Client
	tr     *http.Transport
	url    string
	body   []byte
}

func newViaGateway(base, method string, params json.RawMessage, conns int, timeout time.Duration) *viaGateway {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &viaGateway{
		client: &http.Client{Transport: tr, Timeout: timeout},
		tr:     tr,
		url:    base + "/rpc/" + method,
		body:   params,
	}
}

func (g *viaGateway) call(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(g.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	// Read the body to its end so that the connection is reused.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s", g.url, resp.Status)
	}
	return nil
}

func (g *viaGateway) close() { g.tr.CloseIdleConnections() }
