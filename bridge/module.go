package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sort"
	"sync"

	"github.com/gorilla/websocket"
)

// defaultMaxInFlight bounds the Requests one connection may have running at
// once; beyond it a Request is refused at once rather than stalling the
// connection's reader.
const defaultMaxInFlight = 1024

// ModuleConfig describes a module: what it tells a Manager in RegisterAPI
// (D20) and how it serves its connections.
type ModuleConfig struct {
	// Abbreviation is the module's short name, sent in RegisterAPI and in
	// NegotiateConnection on its Manager connection. Required.
	Abbreviation string
	// Name is the module name (ModuleName). Default: Abbreviation.
	Name string
	// Domain is the method namespace (ModuleDomain). Default "Nuls".
	Domain string
	// Version is the module's version (ModuleVersion). Default "1.0".
	Version string
	// Roles are the roles offered with their API versions (ModuleRoles).
	// Default: {Name: ["1.0"]}, as Java modules do.
	Roles map[string][]string
	// Dependencies are the roles required, one API version each.
	Dependencies map[string]string
	// MaxCompressionRate is the highest zlib level the module agrees to
	// send with (D7, D9). Default 9; -1 refuses any compression.
	MaxCompressionRate int
	// MaxInFlight bounds concurrent Requests per connection. Default 1024.
	MaxInFlight int
	// Conn tunes every connection the module serves. Conn.Strict makes the
	// module drop frames with fields Java does not know, as Java does.
	Conn ConnConfig
	// Settings is the initial configuration that confGet, confSet and
	// confReset manage (D17).
	Settings map[string]any
	// OnNotification receives the Notifications peers send (D15).
	OnNotification func(*Peer, *Notification)
	// NoPushes answers a subscription's Request once and never pushes,
	// as Nulstar's Connector does for the modules behind it
	// (docs/protocol.md#subscriptions-through-nulstar):
	// for simulated peers that cannot push.
	NoPushes bool
	// TrustAccepted reports whether a connection the module accepts
	// (ServeHTTP), given its upgrade request, is trusted: whether its
	// Requests may call the TrustedOnly methods, the kernel commands.
	// Nil: no accepted connection is.
	//
	// The connection that is surely the Manager's is the one the module
	// opened to the Manager's URL (ManagerLink, ClientConfig.Trusted),
	// over which the Manager sends its commands (D17, D20). An accepted
	// connection proves nothing of who opened it: its source address
	// could be the Manager's host, and also anything else there, behind
	// the same NAT or in the same pod network. So by default none is
	// trusted, and a module that must answer kernel commands from
	// whoever reaches it (the simulated node, as a Java module does)
	// says so here.
	TrustAccepted func(r *http.Request) bool
	// TrustedCompounds lets only trusted connections register compound
	// methods (RegisterCompoundMethod, UnregisterCompoundMethod, D14):
	// what the module announces to its Manager (RegisterAPI lists the
	// compound methods) is then not a stranger's to add to. Others are
	// refused with err_0012. Default false: any connection may, as D14
	// has it; a connection that is not trusted cannot name a
	// TrustedOnly method as a child either way.
	TrustedCompounds bool
}

// Module is the server side of the protocol (the RPC-TOOL design): handlers
// registered by method name and version, served on accepted connections and
// on the module's own outbound connections. It answers with consolidated
// Responses, runs event and period subscriptions, compound methods and the
// kernel commands.
//
// Module is safe for concurrent use. Its goroutines (one per running
// Request, one per live subscription) are owned by the connection they serve
// and stopped by Close or Shutdown.
type Module struct {
	cfg      ModuleConfig
	logger   *slog.Logger
	ids      *idGenerator
	upgrader websocket.Upgrader

	mu        sync.RWMutex // guards methods, compounds, sessions, accepted, draining, settings, listeners, events
	methods   methodTable
	compounds map[string]*compoundMethod
	sessions  map[*session]struct{}
	accepted  map[*Peer]struct{}
	draining  bool
	settings  map[string]any
	listeners []func()
	// events indexes live event subscriptions by the method whose events
	// drive them (D10).
	events map[string]map[*serverSub]struct{}

	work     sync.WaitGroup // running Requests and subscriptions
	stopOnce sync.Once
	stopped  chan struct{}
}

// NewModule returns a module with the kernel commands (D17) registered.
func NewModule(cfg ModuleConfig, logger *slog.Logger) (*Module, error) {
	if cfg.Abbreviation == "" {
		return nil, errors.New("bridge: module needs an Abbreviation")
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Abbreviation
	}
	if cfg.Domain == "" {
		cfg.Domain = "Nuls"
	}
	if cfg.Version == "" {
		cfg.Version = "1.0"
	}
	if cfg.Roles == nil {
		cfg.Roles = map[string][]string{cfg.Name: {"1.0"}}
	}
	if cfg.Dependencies == nil {
		cfg.Dependencies = map[string]string{}
	}
	switch {
	case cfg.MaxCompressionRate == 0:
		cfg.MaxCompressionRate = 9
	case cfg.MaxCompressionRate < 0:
		cfg.MaxCompressionRate = 0
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = defaultMaxInFlight
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Module{
		cfg:    cfg,
		logger: logger,
		ids:    newIDGenerator(),
		upgrader: websocket.Upgrader{
			// Module endpoints serve other modules, not browsers.
			CheckOrigin: func(*http.Request) bool { return true },
		},
		methods:   methodTable{},
		compounds: map[string]*compoundMethod{},
		sessions:  map[*session]struct{}{},
		accepted:  map[*Peer]struct{}{},
		settings:  maps.Clone(cfg.Settings),
		events:    map[string]map[*serverSub]struct{}{},
		stopped:   make(chan struct{}),
	}
	if m.settings == nil {
		m.settings = map[string]any{}
	}
	for _, km := range m.kernelMethods() {
		if err := m.Register(km); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Config returns the module's configuration with defaults filled in.
func (m *Module) Config() ModuleConfig { return m.cfg }

// Register adds a method (one version of it).
func (m *Module) Register(method Method) error {
	r, err := compileMethod(method)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.compounds[r.Name]; ok {
		return fmt.Errorf("bridge: method %s is a compound method", r.Name)
	}
	if err := m.methods.add(r); err != nil {
		return err
	}
	m.notifyLocked()
	return nil
}

// Unregister removes every version of a method. It reports whether there was
// one.
func (m *Module) Unregister(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.methods[name]; !ok {
		return false
	}
	delete(m.methods, name)
	m.notifyLocked()
	return true
}

// OnMethodsChanged registers f to run whenever the method list changes
// (a method or a compound method added or removed): a Manager link re-sends
// RegisterAPI (D14).
func (m *Module) OnMethodsChanged(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, f)
}

// notifyLocked runs the listeners in their own goroutine, outside the lock.
// m.mu must be held.
func (m *Module) notifyLocked() {
	if len(m.listeners) == 0 {
		return
	}
	ls := append([]func(){}, m.listeners...)
	go func() {
		for _, f := range ls {
			f()
		}
	}()
}

// ServeHTTP accepts a WebSocket connection and serves it until it ends. It
// returns once the connection is set up; Close and Shutdown end it.
func (m *Module) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.RLock()
	draining := m.draining
	m.mu.RUnlock()
	if draining {
		http.Error(w, "module is shutting down", http.StatusServiceUnavailable)
		return
	}
	ws, err := m.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	pcfg := m.peerConfig()
	pcfg.trusted = m.cfg.TrustAccepted != nil && m.cfg.TrustAccepted(r)
	p := newPeer(ws, pcfg, m.ids, m.logger.With(slog.String("remote_addr", r.RemoteAddr)))
	m.mu.Lock()
	m.accepted[p] = struct{}{}
	stopping := m.draining
	m.mu.Unlock()
	select {
	case <-p.Done():
		// It ended before it was recorded: its session's cleanup ran
		// too early to forget it.
		m.mu.Lock()
		delete(m.accepted, p)
		m.mu.Unlock()
	default:
	}
	if stopping {
		_ = p.conn.Close()
	}
}

// peerConfig is how the module serves a connection.
func (m *Module) peerConfig() peerConfig {
	return peerConfig{
		conn:           m.cfg.Conn,
		maxCompression: m.cfg.MaxCompressionRate,
		onNotification: m.cfg.OnNotification,
		newSession:     func(p *Peer) requestHandler { return m.newSession(p) },
	}
}

// Peers returns the connections the module has accepted and that are open.
func (m *Module) Peers() []*Peer {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Peer, 0, len(m.accepted))
	for p := range m.accepted {
		out = append(out, p)
	}
	return out
}

// Trigger raises one event of method: every event subscription driven by it
// counts the event and, every N events, re-runs its methods and pushes the
// result (D10). The methods run before Trigger returns, so each push
// carries the state of its own event; call Trigger after the state changed.
// A handler of a subscribed method must not raise its own method's event
// inline (the subscription is busy running it): use a goroutine.
func (m *Module) Trigger(method string) { m.TriggerFunc(method, nil) }

// TriggerFunc raises an event of method for the subscriptions whose
// parameters match reports true for (nil matches all), such as the
// subscriptions to getBalance of the addresses a transfer touched.
func (m *Module) TriggerFunc(method string, match func(params json.RawMessage) bool) {
	m.mu.RLock()
	subs := make([]*serverSub, 0, len(m.events[method]))
	for s := range m.events[method] {
		subs = append(subs, s)
	}
	m.mu.RUnlock()
	for _, s := range subs {
		if match == nil || match(s.req.RequestMethods[0].Params) {
			s.event()
		}
	}
}

// Done is closed when the module has stopped: after Close, after Shutdown,
// or after a peer's shutdown or terminate command (D17).
func (m *Module) Done() <-chan struct{} { return m.stopped }

// Shutdown drains the module: new Requests are refused, running ones finish
// (until ctx ends), subscriptions end, and accepted connections are closed
// after their last Response is sent.
func (m *Module) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.draining = true
	m.mu.Unlock()
	finished := make(chan struct{})
	go func() {
		m.waitRequests()
		close(finished)
	}()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = m.Close() // Run reports why it stopped, not how the close went
	return err
}

// runningRequests returns how many Requests are running, across sessions.
func (m *Module) runningRequests() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var n int64
	for s := range m.sessions {
		n += s.inflight.Load()
	}
	return n
}

// waitRequests waits until no one-shot Request is running.
func (m *Module) waitRequests() {
	m.mu.RLock()
	sessions := make([]*session, 0, len(m.sessions))
	for s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.RUnlock()
	for _, s := range sessions {
		s.requests.Wait()
	}
}

// Close stops the module at once: every subscription and running Request is
// cancelled and every accepted connection closed. It waits for the module's
// goroutines.
func (m *Module) Close() error {
	m.mu.Lock()
	m.draining = true
	peers := make([]*Peer, 0, len(m.accepted))
	for p := range m.accepted {
		peers = append(peers, p)
	}
	sessions := make([]*session, 0, len(m.sessions))
	for s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.Unlock()
	for _, s := range sessions {
		s.cancel() // sessions on Client connections end here too
	}
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Close()
		}()
	}
	wg.Wait()
	m.work.Wait()
	m.stopOnce.Do(func() { close(m.stopped) })
	return nil
}

// MethodInfo is the wire description of a method, the element of RegisterAPI
// Methods[] and the value of a ListAPI entry (D20).
type MethodInfo struct {
	MethodName        string          `json:"MethodName"`
	MethodDescription string          `json:"MethodDescription"`
	MethodMinEvent    string          `json:"MethodMinEvent"`
	MethodMinPeriod   string          `json:"MethodMinPeriod"`
	MethodScope       string          `json:"MethodScope"`
	Parameters        []ParameterInfo `json:"Parameters"`
}

// ParameterInfo is the wire description of a parameter.
type ParameterInfo struct {
	ParameterName        string `json:"ParameterName"`
	ParameterType        string `json:"ParameterType"`
	ParameterValidRange  string `json:"ParameterValidRange"`
	ParameterValidRegExp string `json:"ParameterValidRegExp"`
}

// Methods describes every method the module serves, compound methods
// included, sorted by name. Of several versions the highest is described.
func (m *Module) Methods() []MethodInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]MethodInfo, 0, len(m.methods)+len(m.compounds))
	for _, vs := range m.methods {
		out = append(out, vs[len(vs)-1].info())
	}
	for _, c := range m.compounds {
		out = append(out, c.info(m.methods))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MethodName < out[j].MethodName })
	return out
}

func (r *registered) info() MethodInfo {
	mi := MethodInfo{
		MethodName:        r.Name,
		MethodDescription: r.Description,
		MethodMinEvent:    fmt.Sprint(r.MinEvent),
		MethodMinPeriod:   fmt.Sprint(r.MinPeriod),
		MethodScope:       string(r.Scope),
		Parameters:        []ParameterInfo{},
	}
	for _, p := range r.Parameters {
		mi.Parameters = append(mi.Parameters, ParameterInfo{
			ParameterName: p.Name, ParameterType: p.Type, ParameterValidRange: p.ValidRange, ParameterValidRegExp: p.ValidRegExp,
		})
	}
	return mi
}
