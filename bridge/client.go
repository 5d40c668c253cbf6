package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/internal/retry"
)

// Defaults of ClientConfig.
const (
	defaultDialTimeout        = 10 * time.Second
	defaultNegotiationTimeout = 10 * time.Second // Java's handshake wait
	defaultNegotiationRetries = 2                // D8: two more tries...
	defaultNegotiationRetry   = 10 * time.Second // ...at a 10-second interval
	defaultMinBackoff         = 250 * time.Millisecond
	defaultMaxBackoff         = 30 * time.Second
	defaultFirstDialJitter    = 500 * time.Millisecond
	defaultSubscriptionBuffer = 256
	defaultAbbreviation       = "nulsgo"
)

// instanceID tells apart the connections of several processes that use the
// same module name, and connSeq those of one process (D22): every Client of
// the process draws from it, as they may share a module name.
var (
	instanceID = strconv.FormatUint(rand.Uint64()%0xffffff, 36) //nolint:gosec // G404: unique, not secret
	connSeq    atomic.Int64
)

// ClientConfig configures a Client. Only URL is required.
type ClientConfig struct {
	// URL of the peer: ws:// or wss://. A Java module listens at /ws.
	URL string
	// Abbreviation names our connections in NegotiateConnection (Java
	// needs it for subscriptions). Each connection gets a distinct one,
	// "<Abbreviation>-<instance>-<n>" (D22), unless FixedAbbreviation is
	// set. Default "nulsgo".
	Abbreviation string
	// FixedAbbreviation sends Abbreviation as is: a Manager connection
	// must use the same one as its RegisterAPI (D22).
	FixedAbbreviation bool
	// CompressionRate is the zlib level asked for (D9). Default 0: real
	// peers do not compress.
	CompressionRate int
	// CallTimeout applies to calls whose context has no deadline.
	// Default 10s (D19).
	CallTimeout time.Duration
	// NoTimeOut stops sending the Java TimeOut field with calls (D19).
	NoTimeOut bool
	// DialTimeout bounds a dial and its HTTP upgrade. Default 10s.
	DialTimeout time.Duration
	// NegotiationTimeout bounds the wait for NegotiateConnectionResponse.
	// Default 10s.
	NegotiationTimeout time.Duration
	// NegotiationRetries is how many more tries follow a failed
	// negotiation at NegotiationRetryInterval before it is reported and
	// backoff takes over (D8). Default 2; negative for none.
	NegotiationRetries int
	// NegotiationRetryInterval is the wait between those tries. Default
	// 10s.
	NegotiationRetryInterval time.Duration
	// BackoffMin and BackoffMax bound the jittered exponential wait
	// between reconnects (D22). Defaults 250ms and 30s.
	BackoffMin, BackoffMax time.Duration
	// FirstDialJitter delays the first dial by a random part of it, so
	// that instances started together do not dial in lockstep (D22).
	// Default 500ms; negative for none.
	FirstDialJitter time.Duration
	// SubscriptionBuffer is the number of pushes a Subscription holds for
	// a slow consumer before it is ended with ErrSlowConsumer. Default 256.
	SubscriptionBuffer int
	// Conn tunes each connection.
	Conn ConnConfig
	// Module, when set, answers the peer's Requests on this connection: a
	// Manager sends Requests over the connection a module opened.
	Module *Module
	// Trusted marks the connections the Client opens as trusted
	// (Peer.Trusted): Module answers their TrustedOnly methods, the
	// kernel commands. Set it for a peer this side chose by its URL and
	// that may stop it: the Manager (ManagerLink sets it).
	Trusted bool
	// OnNotification receives the Notifications the peer sends (D15).
	OnNotification func(*Peer, *Notification)
	// OnConnect runs after each negotiation, before the Client is ready and
	// before subscriptions are renewed; an error drops the connection and
	// retries. A Manager link registers there.
	OnConnect func(ctx context.Context, p *Peer) error
	// OnStateChange is told when the Client becomes ready (err nil) and
	// when it stops being ready, with the reason.
	OnStateChange func(ready bool, err error)
	// OnNegotiationFailure is told when negotiation failed every retry
	// (D8): report to the Manager there. Retries go on with backoff.
	OnNegotiationFailure func(url string, err error)
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.Abbreviation == "" {
		c.Abbreviation = defaultAbbreviation
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = defaultCallTimeout
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.NegotiationTimeout <= 0 {
		c.NegotiationTimeout = defaultNegotiationTimeout
	}
	if c.NegotiationRetries == 0 {
		c.NegotiationRetries = defaultNegotiationRetries
	}
	if c.NegotiationRetryInterval <= 0 {
		c.NegotiationRetryInterval = defaultNegotiationRetry
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = defaultMinBackoff
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = defaultMaxBackoff
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.FirstDialJitter == 0 {
		c.FirstDialJitter = defaultFirstDialJitter
	}
	if c.SubscriptionBuffer <= 0 {
		c.SubscriptionBuffer = defaultSubscriptionBuffer
	}
	return c
}

// Client keeps one negotiated connection to a peer: it dials, negotiates,
// reconnects with jittered capped backoff (D22), and renews every live
// subscription after a reconnect, so that a consumer sees one continuous
// subscription. Calls in flight when the connection drops fail at once with
// ErrConnectionLost; calls made while disconnected fail with ErrNotConnected.
//
// Run owns the connection; the other methods are safe for concurrent use.
type Client struct {
	cfg    ClientConfig
	logger *slog.Logger
	ids    *idGenerator

	connections atomic.Int64 // negotiated connections so far

	mu      sync.Mutex // guards peer, ready, subs, running, stopped
	peer    *Peer
	ready   chan struct{} // closed while a connection is negotiated
	subs    map[*Subscription]struct{}
	running bool
	stopped bool
}

// NewClient checks cfg and returns a Client; Run connects it.
func NewClient(cfg ClientConfig, logger *slog.Logger) (*Client, error) {
	cfg = cfg.withDefaults()
	if _, err := parseWSURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.CompressionRate < 0 || cfg.CompressionRate > 9 {
		return nil, fmt.Errorf("bridge: CompressionRate %d: want 0-9", cfg.CompressionRate)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		cfg:    cfg,
		logger: logger.With(slog.String("upstream", cfg.URL)),
		ids:    newIDGenerator(),
		ready:  make(chan struct{}),
		subs:   map[*Subscription]struct{}{},
	}, nil
}

// URL returns the peer's URL.
func (c *Client) URL() string { return c.cfg.URL }

// Run connects and keeps the connection until ctx ends, then closes it and
// ends every subscription with ErrClosed. It returns nil when ctx ends; a
// Client runs once.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running || c.stopped {
		c.mu.Unlock()
		return errors.New("bridge: Client.Run called twice")
	}
	c.running = true
	c.mu.Unlock()
	defer c.stop()

	if j := c.cfg.FirstDialJitter; j > 0 && !retry.Sleep(ctx, rand.N(j)) { //nolint:gosec // G404: jitter
		return nil
	}
	attempt, negFailures := 0, 0
	// failures counts the attempts that failed since the last connection
	// (or the start); lastWarn is when the log last said so at WARN.
	failures, lastWarn := 0, time.Time{}
	for {
		served, err := c.connectOnce(ctx, failures)
		if ctx.Err() != nil {
			return nil
		}
		var delay time.Duration
		switch {
		case served:
			attempt, negFailures, failures = 0, 0, 0
			delay = retry.Backoff(1, c.cfg.BackoffMin, c.cfg.BackoffMax)
		case errors.Is(err, ErrNegotiationFailed) && c.cfg.NegotiationRetries > 0 && negFailures < c.cfg.NegotiationRetries:
			negFailures++
			delay = c.cfg.NegotiationRetryInterval
		default:
			if errors.Is(err, ErrNegotiationFailed) {
				negFailures++
				if negFailures == c.cfg.NegotiationRetries+1 || (c.cfg.NegotiationRetries < 0 && negFailures == 1) {
					c.logger.Error("negotiation failed after retries; reporting and backing off", slog.Any("err", err))
					if f := c.cfg.OnNegotiationFailure; f != nil {
						f(c.cfg.URL, err)
					}
				}
			}
			attempt++
			delay = retry.Backoff(attempt, c.cfg.BackoffMin, c.cfg.BackoffMax)
		}
		if !served {
			failures++
		}
		lastWarn = c.logRetry(served, failures, lastWarn, err, delay)
		if !retry.Sleep(ctx, delay) {
			return nil
		}
	}
}

// retryWarnEvery is the longest the log stays silent at WARN while the peer
// cannot be reached, between the doublings of the attempt count.
const retryWarnEvery = 5 * time.Minute

// logRetry says why the connection ended and when the next attempt is: at
// WARN for a lost connection, and for failed attempts the first, then each
// time their count doubles (1, 2, 4, 8, …) or retryWarnEvery has passed,
// at DEBUG otherwise, so that a peer away for hours does not flood the log.
// It returns when it last logged at WARN.
func (c *Client) logRetry(served bool, failures int, lastWarn time.Time, err error, delay time.Duration) time.Time {
	now := time.Now()
	switch {
	case served:
		c.logger.Warn("upstream connection lost; reconnecting", slog.Any("err", err), slog.Duration("delay", delay))
	case failures&(failures-1) == 0 || now.Sub(lastWarn) >= retryWarnEvery:
		c.logger.Warn("upstream unreachable; retrying", slog.Int("attempts", failures), slog.Any("err", err), slog.Duration("delay", delay))
	default:
		c.logger.Debug("upstream unreachable; retrying", slog.Int("attempts", failures), slog.Any("err", err), slog.Duration("delay", delay))
		return lastWarn
	}
	return now
}

// connectOnce dials, negotiates and serves one connection until it ends;
// failures is how many attempts failed before it. It reports whether the
// connection was ever ready.
func (c *Client) connectOnce(ctx context.Context, failures int) (served bool, err error) {
	ws, err := dial(ctx, c.cfg.URL, c.cfg.DialTimeout)
	if err != nil {
		return false, err
	}
	c.connections.Add(1)
	abbr := c.cfg.Abbreviation
	if !c.cfg.FixedAbbreviation {
		abbr = fmt.Sprintf("%s-%s-%d", abbr, instanceID, connSeq.Add(1))
	}
	pcfg := peerConfig{
		conn:           c.cfg.Conn,
		callTimeout:    c.cfg.CallTimeout,
		noTimeOut:      c.cfg.NoTimeOut,
		onNotification: c.cfg.OnNotification,
		trusted:        c.cfg.Trusted,
	}
	if m := c.cfg.Module; m != nil {
		pcfg.maxCompression = m.cfg.MaxCompressionRate
		pcfg.newSession = func(p *Peer) requestHandler { return m.newSession(p) }
	}
	p := newPeer(ws, pcfg, c.ids, c.logger)
	defer func() { _ = p.Close() }() // why the connection ended is what counts

	nctx, cancel := context.WithTimeout(ctx, c.cfg.NegotiationTimeout)
	err = p.negotiate(nctx, &NegotiateConnection{
		ProtocolVersion:      ProtocolVersion,
		CompressionAlgorithm: "zlib",
		CompressionRate:      strconv.Itoa(c.cfg.CompressionRate),
		Abbreviation:         abbr,
	})
	cancel()
	if err != nil {
		return false, err
	}
	if f := c.cfg.OnConnect; f != nil {
		if err := f(ctx, p); err != nil {
			return false, fmt.Errorf("bridge: on connect: %w", err)
		}
	}
	c.attach(ctx, p)
	if n := c.connections.Load(); n > 1 || failures > 0 {
		c.logger.Info("upstream connected again", slog.String("abbreviation", abbr), slog.Int("failed_attempts", failures))
	} else {
		c.logger.Info("upstream connected", slog.String("abbreviation", abbr))
	}
	select {
	case <-p.Done():
		err = p.Err()
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.detach(p, err)
	return true, err
}

// attach makes p the current connection and renews the subscriptions on it.
func (c *Client) attach(ctx context.Context, p *Peer) {
	c.mu.Lock()
	c.peer = p
	subs := make([]*Subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		if err := s.renew(ctx, p); err != nil {
			c.logger.Warn("resubscribe failed", slog.String("method", s.req.RequestMethods[0].Method), slog.Any("err", err))
		}
	}
	c.mu.Lock()
	if c.peer == p {
		close(c.ready)
	}
	c.mu.Unlock()
	if f := c.cfg.OnStateChange; f != nil {
		f(true, nil)
	}
}

func (c *Client) detach(p *Peer, err error) {
	c.mu.Lock()
	if c.peer == p {
		c.peer = nil
		select {
		case <-c.ready:
			c.ready = make(chan struct{})
		default:
		}
	}
	c.mu.Unlock()
	if f := c.cfg.OnStateChange; f != nil {
		f(false, err)
	}
}

func (c *Client) stop() {
	c.mu.Lock()
	c.stopped = true
	subs := c.subs
	c.subs = map[*Subscription]struct{}{}
	c.mu.Unlock()
	for s := range subs {
		s.end(ErrClosed, false)
	}
}

// Ready reports whether a negotiated connection is up.
func (c *Client) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peer != nil
}

// WaitReady waits until a connection is negotiated or ctx ends.
func (c *Client) WaitReady(ctx context.Context) error {
	c.mu.Lock()
	ready := c.ready
	c.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connections returns how many connections were negotiated so far: every one
// after the first is a reconnect.
func (c *Client) Connections() int64 { return c.connections.Load() }

// Peer returns the current connection, or nil while disconnected.
func (c *Client) Peer() *Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peer
}

// Call runs one method on the peer and returns its result (see
// Peer.CallMethods).
func (c *Client) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	p := c.Peer()
	if p == nil {
		return nil, ErrNotConnected
	}
	return p.Call(ctx, method, params)
}

// CallTimeout is what bounds a call whose context has no deadline:
// ClientConfig.CallTimeout, or its default (withDefaults).
func (c *Client) CallTimeout() time.Duration { return c.cfg.CallTimeout }

// CallMethods runs several methods in one Request, all-or-nothing (D4).
func (c *Client) CallMethods(ctx context.Context, calls []MethodCall) (*Reply, error) {
	p := c.Peer()
	if p == nil {
		return nil, ErrNotConnected
	}
	return p.CallMethods(ctx, calls)
}

func parseWSURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("bridge: Client needs a URL")
	}
	if _, err := dialURL(raw); err != nil {
		return "", err
	}
	return raw, nil
}
