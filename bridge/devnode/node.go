package devnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// shutdownTimeout bounds the HTTP servers' shutdown; the WebSocket
// connections they handed over are closed by the modules.
const shutdownTimeout = 5 * time.Second

// moduleRoles are the node's own modules, each served on its own listener
// (topology T2) and all of them on the main endpoint too (T1). They are the
// roles of the nuls-cores modules whose methods the devnode simulates.
var moduleRoles = []struct {
	role    string
	methods func(*Node) []bridge.Method
}{
	{"block", (*Node).blockMethods},
	{"ledger", (*Node).ledgerMethods},
	{"account", (*Node).accountMethods},
	{"transaction", (*Node).txMethods},
	{"network", (*Node).networkMethods},
	{"consensus", (*Node).consensusMethods},
}

// Node is a simulated NULS node. New binds its listeners; Run serves them.
type Node struct {
	cfg    Config
	logger *slog.Logger
	chain  *chain
	main   *endpoint           // every method, and the Manager
	roles  []*endpoint         // one per module role, at /ws
	link   *bridge.ManagerLink // registers with Config.Manager; nil: none
	// chainMethods holds the parameters, as the real node declares them, of
	// the methods of the Nuls domain (the others on the main endpoint are
	// Nulstar's: the Manager's and the kernel commands).
	chainMethods map[string][]bridge.ParameterInfo

	produceMu sync.Mutex // serialises ProduceBlock and takeBlock, so events follow block order

	faults atomic.Pointer[Faults] // nil: none
	leader *bridge.Client         // the node Config.Follow names; nil: none

	mu       sync.Mutex // guards regs, nextSeq, ran, stopping
	regs     map[any]*registration
	nextSeq  int64
	ran      bool
	stopping bool
	async    sync.WaitGroup // goroutines started by handlers
	stop     chan struct{}  // closed when Run has stopped serving
}

// New builds a node and binds its listeners at once, so that URL and
// ModuleURLs are known before Run. A nil logger discards the logs. Run must
// be called to serve, and to release the listeners.
func New(cfg Config, logger *slog.Logger) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		cfg:          cfg,
		logger:       logger,
		chain:        newChain(cfg.ChainID, cfg.Now),
		chainMethods: map[string][]bridge.ParameterInfo{},
		regs:         map[any]*registration{},
		stop:         make(chan struct{}),
	}
	var modules []*bridge.Module
	var listeners []net.Listener
	cleanup := func() {
		for _, ln := range listeners {
			_ = ln.Close()
		}
		for _, m := range modules {
			_ = m.Close()
		}
	}
	if cfg.Follow != "" {
		if n.leader, err = bridge.NewClient(bridge.ClientConfig{URL: cfg.Follow, Abbreviation: "devnode-follower"}, logger.With(slog.String("role", "follower"))); err != nil {
			return nil, fmt.Errorf("devnode: Follow: %w", err)
		}
	}
	conn := bridge.ConnConfig{Strict: cfg.Strict}
	settings := map[string]any{"chainId": cfg.ChainID, "blockInterval": cfg.BlockInterval.String(), "strict": cfg.Strict}
	main, err := bridge.NewModule(bridge.ModuleConfig{
		Abbreviation: "kernel", Name: "devnode", Domain: "Nulstar",
		Roles: map[string][]string{"kernel": {"1.0"}}, Conn: conn, Settings: settings,
		NoPushes: cfg.Mode == ModeConnector, TrustAccepted: trustEveryone,
	}, logger.With(slog.String("module", "kernel")))
	if err != nil {
		return nil, err
	}
	modules = append(modules, main)
	roleModules := make([]*bridge.Module, len(moduleRoles))
	for i, mr := range moduleRoles {
		m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: mr.role, Conn: conn, Settings: settings, TrustAccepted: trustEveryone},
			logger.With(slog.String("module", mr.role)))
		if err != nil {
			cleanup()
			return nil, err
		}
		modules = append(modules, m)
		roleModules[i] = m
		for _, method := range mr.methods(n) {
			if cfg.Follow != "" && forwarded[method.Name] {
				method.Handler = n.forward(method.Name)
			}
			method.Handler = n.delayed(method.Handler)
			method, n.chainMethods[method.Name] = javaLenient(method)
			if err := m.Register(method); err != nil {
				cleanup()
				return nil, err
			}
			if cfg.Mode == ModeConnector {
				method = maskFailures(method)
			}
			if err := main.Register(method); err != nil {
				cleanup()
				return nil, err
			}
		}
	}
	for _, method := range n.managerMethods() {
		if cfg.Mode == ModeJava && method.Name == "ListAPI" {
			continue // neither a Java module nor the Java Manager lists
		}
		if err := main.Register(method); err != nil {
			cleanup()
			return nil, err
		}
	}

	ln, err := listen(cfg.Listen)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("devnode: listen: %w", err)
	}
	listeners = append(listeners, ln)
	n.main = newEndpoint("kernel", main, ln, false, logger)
	host, _, _ := net.SplitHostPort(cfg.Listen)
	for i, mr := range moduleRoles {
		ln, err := listen(net.JoinHostPort(host, "0"))
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("devnode: listen for %s: %w", mr.role, err)
		}
		listeners = append(listeners, ln)
		n.roles = append(n.roles, newEndpoint(mr.role, roleModules[i], ln, true, logger))
	}
	if cfg.Manager != "" {
		if err := n.newRegistered(host, conn, settings, &modules, &listeners); err != nil {
			cleanup()
			return nil, err
		}
	}
	return n, nil
}

// trustEveryone trusts every connection the node's modules accept: like a
// Java module, the simulated node answers the kernel commands (D17) to
// whoever reaches it, and its tests stop it so.
// listen opens a TCP listener on addr. New takes no context: listening on an
// address of this machine does not wait on anyone.
func listen(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(context.Background(), "tcp", addr)
}

func trustEveryone(*http.Request) bool { return true }

// registeredRole is the node's module toward a Manager (Config.Manager).
const registeredRole = "devnode"

// newRegistered makes the module that registers with the Manager: every
// chain method, on an endpoint of its own, and the link that registers it.
func (n *Node) newRegistered(host string, conn bridge.ConnConfig, settings map[string]any, modules *[]*bridge.Module, listeners *[]net.Listener) error {
	m, err := bridge.NewModule(bridge.ModuleConfig{Abbreviation: registeredRole, Domain: "Nuls", Conn: conn, Settings: settings, TrustAccepted: trustEveryone},
		n.logger.With(slog.String("module", registeredRole)))
	if err != nil {
		return err
	}
	*modules = append(*modules, m)
	for _, mr := range moduleRoles {
		for _, method := range mr.methods(n) {
			method, _ = javaLenient(method)
			if err := m.Register(method); err != nil {
				return err
			}
		}
	}
	ln, err := listen(net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("devnode: listen for %s: %w", registeredRole, err)
	}
	*listeners = append(*listeners, ln)
	ep := newEndpoint(registeredRole, m, ln, true, n.logger)
	n.roles = append(n.roles, ep)
	n.link, err = bridge.NewManagerLink(bridge.ManagerLinkConfig{
		URL: n.cfg.Manager, Module: m,
		ConnectionInformation: bridge.ConnectionInformation{IP: n.cfg.AdvertiseHost, Port: ep.port()},
	}, n.logger.With(slog.String("component", "manager-link")))
	return err
}

// maskFailures answers a method's failures as Nulstar's Connector relays a
// module's: success, with {} (docs/protocol.md#nulstar).
func maskFailures(m bridge.Method) bridge.Method {
	h := m.Handler
	m.Handler = func(ctx context.Context, c *bridge.Call) (any, error) {
		res, err := h(ctx, c)
		if err != nil {
			return map[string]any{}, nil //nolint:nilerr // the failure is what Nulstar hides
		}
		return res, nil
	}
	return m
}

// endpoints returns every endpoint, the main one first.
func (n *Node) endpoints() []*endpoint { return append([]*endpoint{n.main}, n.roles...) }

// URL returns the WebSocket URL of the main endpoint, which answers every
// method and plays the Manager, such as "ws://127.0.0.1:7771".
func (n *Node) URL() string {
	return "ws://" + net.JoinHostPort(n.cfg.AdvertiseHost, n.main.port())
}

// ModuleURLs returns the URL of each of the node's own modules by role
// ("block", "ledger", "account", "transaction"), at the path /ws like a Java
// module's.
func (n *Node) ModuleURLs() map[string]string {
	out := make(map[string]string, len(n.roles))
	for _, e := range n.roles {
		out[e.role] = "ws://" + net.JoinHostPort(n.cfg.AdvertiseHost, e.port()) + "/ws"
	}
	return out
}

// ChainID returns the chain the node runs.
func (n *Node) ChainID() int { return n.cfg.ChainID }

// Height returns the height of the newest block (0 is the genesis block).
func (n *Node) Height() int64 { return n.chain.latest().height() }

// GenesisAccounts returns the funded accounts of the genesis block, with
// their passwords (see GenesisBalance).
func (n *Node) GenesisAccounts() []Account { return n.chain.genesisAccounts() }

// ProduceBlock makes a block now, whatever BlockInterval is, with the
// transfers made since the last block, and raises the latestHeight event. It
// returns the new height. It is safe for concurrent use, also before Run and
// after it returned (no one is told then).
func (n *Node) ProduceBlock() int64 {
	n.produceMu.Lock()
	defer n.produceMu.Unlock()
	b := n.chain.produce()
	if n.logger.Enabled(context.Background(), slog.LevelDebug) {
		n.logger.LogAttrs(context.Background(), slog.LevelDebug, "block",
			slog.Int64("height", b.height()), slog.String("hash", b.hash.String()), slog.Int("txs", len(b.txs)))
	}
	n.trigger("latestHeight", nil)
	return b.height()
}

// Rollback removes the newest blocks (never the genesis block), as a
// node switching to another fork does: the heights after the new tip are
// made again, by the next blocks, with other hashes, and the transfers of
// the blocks removed are packed again. It raises the latestHeight event,
// with the lower height, and returns the new height.
func (n *Node) Rollback(blocks int) int64 {
	n.produceMu.Lock()
	defer n.produceMu.Unlock()
	h := n.chain.rollback(blocks)
	n.logger.Info("rolled back", slog.Int("blocks", blocks), slog.Int64("height", h))
	n.trigger("latestHeight", nil)
	return h
}

// trigger raises an event of method on every module that serves it.
func (n *Node) trigger(method string, match func(json.RawMessage) bool) {
	for _, e := range n.endpoints() {
		e.module.TriggerFunc(method, match)
	}
}

// goAsync runs f in a goroutine that Run waits for, unless Run is stopping.
func (n *Node) goAsync(f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopping {
		return
	}
	n.async.Add(1)
	go func() {
		defer n.async.Done()
		f()
	}()
}

// Run serves every endpoint and makes blocks until ctx ends, or until a
// peer stops one of the node's modules with the kernel command shutdown or
// terminate (D17). It then closes every listener, connection and goroutine
// the node started, and returns nil; it returns an error if a listener
// fails. A node runs once.
func (n *Node) Run(ctx context.Context) error {
	n.mu.Lock()
	if n.ran {
		n.mu.Unlock()
		return errors.New("devnode: Run called twice")
	}
	n.ran = true
	n.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	eps := n.endpoints()
	errc := make(chan error, len(eps))
	var wg sync.WaitGroup
	for _, e := range eps {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := e.srv.Serve(e.ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("devnode: serve %s: %w", e.role, err)
			}
		}()
		go func() {
			defer wg.Done()
			select {
			case <-e.module.Done():
				if ctx.Err() == nil { // not our own shutdown
					n.logger.Info("module stopped by a peer; stopping the node", slog.String("module", e.role))
					cancel()
				}
			case <-ctx.Done():
			}
		}()
	}
	switch {
	case n.leader != nil:
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := n.leader.Run(ctx); err != nil && ctx.Err() == nil {
				n.logger.Warn("connection to the leader stopped", slog.Any("err", err))
			}
		}()
		go func() {
			defer wg.Done()
			n.follow(ctx)
		}()
	case n.cfg.BlockInterval > 0:
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.produceBlocks(ctx)
		}()
	}
	if n.link != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.link.Run(ctx); err != nil && ctx.Err() == nil {
				n.logger.Warn("manager link stopped", slog.Any("err", err))
			}
		}()
	}
	n.logger.Info("devnode running",
		slog.String("url", n.URL()), slog.Int("chain_id", n.cfg.ChainID),
		slog.Duration("block_interval", n.cfg.BlockInterval), slog.Bool("strict", n.cfg.Strict),
		slog.Any("modules", n.ModuleURLs()))

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	n.shutdown(eps)
	wg.Wait()
	n.mu.Lock()
	n.stopping = true
	close(n.stop)
	n.mu.Unlock()
	n.async.Wait()
	n.logger.Info("devnode stopped", slog.Int64("height", n.Height()))
	return err
}

// shutdown stops accepting connections, then closes the modules, which
// close the connections they serve and end their subscriptions.
func (n *Node) shutdown(eps []*endpoint) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, e := range eps {
		if err := e.srv.Shutdown(ctx); err != nil {
			_ = e.srv.Close()
		}
	}
	for _, e := range eps {
		_ = e.module.Close()
	}
}

// produceBlocks makes a block every BlockInterval until ctx ends, but none
// while the node stalls.
func (n *Node) produceBlocks(ctx context.Context) {
	t := time.NewTicker(n.cfg.BlockInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !n.Faults().Stall {
				n.ProduceBlock()
			}
		}
	}
}
