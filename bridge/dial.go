package bridge

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// dialSpacing separates two connections opened to the same host: Nulstar
// identifies an accepted connection by the millisecond it was accepted, so
// connections accepted in the same millisecond get each other's answers
// (docs/protocol.md#nulstar, D22).
const dialSpacing = 3 * time.Millisecond

// dialGates serialises dials per host:port across the whole process, which is
// the scope of the Nulstar quirk: every Client of the process shares them.
var dialGates sync.Map // host:port → chan struct{} (a one-slot semaphore)

func dialGate(host string) chan struct{} {
	g, _ := dialGates.LoadOrStore(host, make(chan struct{}, 1))
	return g.(chan struct{})
}

// dialURL checks that raw is a ws:// or wss:// URL with a host.
func dialURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, fmt.Errorf("bridge: %q: want a ws:// or wss:// URL", raw)
	}
	return u, nil
}

// dial opens a WebSocket to rawURL within timeout (a Java server never
// answers a path that does not start with /ws: only a deadline ends such a
// dial, D22). No WebSocket extension is offered.
func dial(ctx context.Context, rawURL string, timeout time.Duration) (*websocket.Conn, error) {
	u, err := dialURL(rawURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	gate := dialGate(u.Host)
	select {
	case gate <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("bridge: dial %s: %w", rawURL, ctx.Err())
	}
	defer func() {
		time.Sleep(dialSpacing)
		<-gate
	}()
	d := websocket.Dialer{HandshakeTimeout: timeout}
	ws, resp, err := d.DialContext(ctx, rawURL, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close() // the handshake's answer: nothing to read
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: dial %s: %w", rawURL, err)
	}
	return ws, nil
}
