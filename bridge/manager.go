package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// defaultRegisterTimeout bounds the wait for the RegisterAPI answer. Nulstar
// answers only once every dependency is registered, and Java modules allow
// 180 s; we retry through the reconnect loop instead of waiting that long.
const defaultRegisterTimeout = 30 * time.Second

// Endpoint is where a role's module listens, as a Manager's role table gives
// it (D20).
type Endpoint struct {
	IP   string
	Port string
	// APIVersion is set by Nulstar and absent from the Java Manager's
	// table.
	APIVersion string
}

// URL returns the WebSocket URL of the endpoint. Java modules listen at /ws;
// a table without APIVersion comes from the Java Manager, whose modules are
// all Java (docs/protocol.md#registration, D20).
func (e Endpoint) URL() string {
	u := "ws://" + net.JoinHostPort(e.IP, e.Port)
	if e.APIVersion == "" {
		u += "/ws"
	}
	return u
}

// RoleTable maps each role to the endpoint of a module that plays it.
type RoleTable map[string]Endpoint

// ConnectionInformation is where a module's own WebSocket server listens.
type ConnectionInformation struct {
	IP   string `json:"IP"`
	Port string `json:"Port"`
}

// Registration is the parameter object of RegisterAPI (D20).
type Registration struct {
	Abbreviation          string                `json:"Abbreviation"`
	ModuleName            string                `json:"ModuleName"`
	ModuleDomain          string                `json:"ModuleDomain"`
	ModuleVersion         string                `json:"ModuleVersion"`
	ModuleRoles           map[string][]string   `json:"ModuleRoles"`
	Dependencies          map[string]string     `json:"Dependencies"`
	ConnectionInformation ConnectionInformation `json:"ConnectionInformation"`
	Methods               []MethodInfo          `json:"Methods"`
}

// Registration describes the module for RegisterAPI, with its current
// method list (compound methods included). The kernel commands (D17) are
// not in it: every module answers them, and a Manager that consolidates
// the modules' methods refuses a name that two modules announce (Nulstar's
// ServiceManager then answers no GetConsolidatedAPI: NSM-4); the Java
// modules do not announce them either.
func (m *Module) Registration(ci ConnectionInformation) Registration {
	kernel := map[string]bool{}
	for _, km := range m.kernelMethods() {
		kernel[km.Name] = true
	}
	var methods []MethodInfo
	for _, mi := range m.Methods() {
		if !kernel[mi.MethodName] {
			methods = append(methods, mi)
		}
	}
	if methods == nil {
		methods = []MethodInfo{}
	}
	return Registration{
		Abbreviation:          m.cfg.Abbreviation,
		ModuleName:            m.cfg.Name,
		ModuleDomain:          m.cfg.Domain,
		ModuleVersion:         m.cfg.Version,
		ModuleRoles:           m.cfg.Roles,
		Dependencies:          m.cfg.Dependencies,
		ConnectionInformation: ci,
		Methods:               methods,
	}
}

// ParseRoleTable reads the result of RegisterAPI:
// {"Dependencies": {"<role>": {"IP": ..., "Port": ...[, "APIVersion": ...]}}}.
// IP and Port may be strings or numbers.
func ParseRoleTable(result json.RawMessage) (RoleTable, error) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(result, &outer); err != nil {
		return nil, fmt.Errorf("bridge: RegisterAPI result: %w", err)
	}
	table := RoleTable{}
	deps, ok := outer["Dependencies"]
	if !ok || jsonKind(deps) == "null" {
		return table, nil // Nulstar answers {} for a module without dependencies
	}
	var roles map[string]map[string]json.RawMessage
	if err := json.Unmarshal(deps, &roles); err != nil {
		return nil, fmt.Errorf("bridge: RegisterAPI Dependencies: %w", err)
	}
	for role, fields := range roles {
		var e Endpoint
		for k, v := range fields {
			s, err := scalarString("Dependencies."+role+"."+k, v)
			if err != nil {
				return nil, err
			}
			switch strings.ToLower(k) {
			case "ip":
				e.IP = s
			case "port":
				e.Port = s
			case "apiversion":
				e.APIVersion = s
			}
		}
		if e.IP == "" || e.Port == "" {
			continue // Nulstar lists unmet dependencies with empty IP and Port
		}
		table[role] = e
	}
	return table, nil
}

// ManagerLinkConfig configures a ManagerLink.
type ManagerLinkConfig struct {
	// URL of the Manager, such as ws://127.0.0.1:7771.
	URL string
	// Module is registered with the Manager and answers the Manager's
	// Requests (kernel commands) on the same connection, which is
	// trusted (ClientConfig.Trusted). Required.
	Module *Module
	// ConnectionInformation is where Module's own server listens, for the
	// other modules to call it.
	ConnectionInformation ConnectionInformation
	// RegisterTimeout bounds the wait for RegisterAPI's answer. Default 30s.
	RegisterTimeout time.Duration
	// Client tunes the Manager connection; URL, Abbreviation,
	// FixedAbbreviation, Module, Trusted and OnConnect are set by the
	// link.
	Client ClientConfig
	// OnRoles is told every new role table.
	OnRoles func(RoleTable)
}

// ManagerLink keeps a module registered with a NULS Manager (D20): on every
// (re)connection it sends RegisterAPI with the module's Abbreviation, learns
// the role table from the answer, and subscribes to its updates (the Java
// Manager pushes a new table when a module joins). When the module's method
// list changes it sends RegisterAPI again (D14).
type ManagerLink struct {
	cfg    ManagerLinkConfig
	client *Client
	logger *slog.Logger

	regMu sync.Mutex // serialises RegisterAPI sends

	mu    sync.Mutex // guards roles
	roles RoleTable
}

// NewManagerLink returns a link; Run connects it.
func NewManagerLink(cfg ManagerLinkConfig, logger *slog.Logger) (*ManagerLink, error) {
	if cfg.Module == nil {
		return nil, errors.New("bridge: ManagerLink needs a Module")
	}
	if cfg.RegisterTimeout <= 0 {
		cfg.RegisterTimeout = defaultRegisterTimeout
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &ManagerLink{cfg: cfg, logger: logger, roles: RoleTable{}}
	cc := cfg.Client
	cc.URL = cfg.URL
	// The Manager connection carries the module's own Abbreviation, the
	// one RegisterAPI declares (D22).
	cc.Abbreviation = cfg.Module.cfg.Abbreviation
	cc.FixedAbbreviation = true
	cc.Module = cfg.Module
	// The Manager's own connection, the one the module opened to the URL
	// it was given: the Manager may stop and reconfigure the module over
	// it (D17).
	cc.Trusted = true
	cc.OnConnect = l.register
	client, err := NewClient(cc, logger)
	if err != nil {
		return nil, err
	}
	l.client = client
	cfg.Module.OnMethodsChanged(l.methodsChanged)
	return l, nil
}

// Run keeps the link until ctx ends.
func (l *ManagerLink) Run(ctx context.Context) error { return l.client.Run(ctx) }

// Client returns the Manager connection, for calling the Manager's methods.
func (l *ManagerLink) Client() *Client { return l.client }

// Roles returns the last role table.
func (l *ManagerLink) Roles() RoleTable {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.roles)
}

// Report sends a Notification to the Manager, such as the D8 report of a
// module connection that cannot be negotiated.
func (l *ManagerLink) Report(ctx context.Context, n *Notification) error {
	p := l.client.Peer()
	if p == nil {
		return ErrNotConnected
	}
	return p.Send(ctx, p.NewMessage(n))
}

// NotOperational is the D8 report: a connection to url failed negotiation.
func NotOperational(url string, err error) *Notification {
	data, _ := json.Marshal(map[string]string{"URL": url, "Error": err.Error()})
	return &Notification{
		NotificationType:    "ModuleNotOperational",
		NotificationComment: "negotiation with " + url + " failed: " + err.Error(),
		NotificationData:    data,
	}
}

// register runs on every new Manager connection, before it is used.
func (l *ManagerLink) register(ctx context.Context, p *Peer) error {
	table, err := l.sendRegisterAPI(ctx, p)
	if err != nil {
		return err
	}
	l.setRoles(table)
	// Subscribe to role table updates; a Manager that refuses (Nulstar
	// answers once) sends an error we ignore.
	req := l.registerRequest()
	req.SubscriptionEventCounter = 1
	if _, err := p.subscribe(ctx, req, roleSink{l}); err != nil {
		return err
	}
	return nil
}

func (l *ManagerLink) registerRequest() *Request {
	reg := l.cfg.Module.Registration(l.cfg.ConnectionInformation)
	params, _ := json.Marshal(reg)
	return &Request{RequestMethods: []MethodCall{{Method: "RegisterAPI", Params: params}}}
}

func (l *ManagerLink) sendRegisterAPI(ctx context.Context, p *Peer) (RoleTable, error) {
	l.regMu.Lock()
	defer l.regMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RegisterTimeout)
	defer cancel()
	reply, err := p.CallMethods(ctx, l.registerRequest().RequestMethods)
	if err != nil {
		return nil, fmt.Errorf("bridge: RegisterAPI: %w", err)
	}
	return ParseRoleTable(reply.Results[0].Result)
}

func (l *ManagerLink) setRoles(t RoleTable) {
	l.mu.Lock()
	changed := !maps.Equal(l.roles, t)
	l.roles = t
	l.mu.Unlock()
	if changed {
		roles := make([]string, 0, len(t))
		for r := range t {
			roles = append(roles, r)
		}
		sort.Strings(roles)
		l.logger.Info("role table", slog.Any("roles", roles))
		if l.cfg.OnRoles != nil {
			l.cfg.OnRoles(maps.Clone(t))
		}
	}
}

// methodsChanged re-sends RegisterAPI with the new method list (D14).
func (l *ManagerLink) methodsChanged() {
	p := l.client.Peer()
	if p == nil {
		return // the next connection registers the new list
	}
	table, err := l.sendRegisterAPI(context.Background(), p)
	if err != nil {
		l.logger.Warn("re-registering after a method change failed", slog.Any("err", err))
		return
	}
	l.setRoles(table)
}

// roleSink receives the pushes of the RegisterAPI subscription.
type roleSink struct{ l *ManagerLink }

func (s roleSink) push(_ *Peer, _ *Message, r *Response) {
	if !r.Succeeded() {
		return
	}
	result, ok := r.Result("RegisterAPI")
	if !ok {
		return
	}
	if t, err := ParseRoleTable(result); err == nil {
		s.l.setRoles(t)
	}
}

// ModulesConfig configures Modules.
type ModulesConfig struct {
	// Client is the template of every module connection; URL is set per
	// endpoint.
	Client ClientConfig
	// Exclude lists host:port endpoints not to connect to: the Manager
	// itself and our own server.
	Exclude []string
	// ManagerHost replaces an endpoint IP of 0.0.0.0 (the Java Manager
	// lists itself so).
	ManagerHost string
}

// Modules keeps one Client per module endpoint of a role table (T2: a
// gateway behind a Manager calls the modules directly). Several roles served
// by one process share its Client. Connections open one at a time per host
// (D22).
type Modules struct {
	cfg    ModulesConfig
	logger *slog.Logger

	mu      sync.Mutex // guards ctx, clients, roles, pending
	ctx     context.Context
	clients map[string]*moduleClient // by URL
	roles   map[string]string        // role → URL
	pending RoleTable                // a table given before Run
	wg      sync.WaitGroup
}

type moduleClient struct {
	*Client
	cancel context.CancelFunc
}

// NewModules returns an empty set; Run starts it and Update fills it.
func NewModules(cfg ModulesConfig, logger *slog.Logger) *Modules {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Modules{cfg: cfg, logger: logger, clients: map[string]*moduleClient{}, roles: map[string]string{}}
}

// Run owns the module connections until ctx ends.
func (ms *Modules) Run(ctx context.Context) error {
	ms.mu.Lock()
	ms.ctx = ctx
	if ms.pending != nil {
		ms.updateLocked(ms.pending)
		ms.pending = nil
	}
	ms.mu.Unlock()
	<-ctx.Done()
	ms.mu.Lock()
	for _, c := range ms.clients {
		c.cancel()
	}
	ms.mu.Unlock()
	ms.wg.Wait()
	return nil
}

// Update connects to the endpoints of t that are new and drops those gone. A
// table given before Run is applied when Run starts.
func (ms *Modules) Update(t RoleTable) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.ctx == nil {
		ms.pending = maps.Clone(t)
		return
	}
	if ms.ctx.Err() != nil {
		return
	}
	ms.updateLocked(t)
}

// updateLocked applies a role table. ms.mu must be held.
func (ms *Modules) updateLocked(t RoleTable) {
	roles := map[string]string{}
	for role, e := range t {
		if e.IP == "0.0.0.0" && ms.cfg.ManagerHost != "" {
			e.IP = ms.cfg.ManagerHost
		}
		u := e.URL()
		if pu, err := url.Parse(u); err == nil && contains(ms.cfg.Exclude, pu.Host) {
			continue
		}
		roles[role] = u
	}
	ms.roles = roles
	want := map[string]bool{}
	for _, u := range roles {
		want[u] = true
	}
	for u, c := range ms.clients {
		if !want[u] {
			c.cancel()
			delete(ms.clients, u)
		}
	}
	for u := range want {
		if _, ok := ms.clients[u]; ok {
			continue
		}
		cc := ms.cfg.Client
		cc.URL = u
		c, err := NewClient(cc, ms.logger)
		if err != nil {
			ms.logger.Warn("bad module endpoint", slog.String("url", u), slog.Any("err", err))
			continue
		}
		ctx, cancel := context.WithCancel(ms.ctx)
		ms.clients[u] = &moduleClient{Client: c, cancel: cancel}
		ms.wg.Add(1)
		go func() {
			defer ms.wg.Done()
			_ = c.Run(ctx)
		}()
	}
}

// Clients returns the Client of each role.
func (ms *Modules) Clients() map[string]*Client {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	out := make(map[string]*Client, len(ms.roles))
	for role, u := range ms.roles {
		if c, ok := ms.clients[u]; ok {
			out[role] = c.Client
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Answer is one module's answer to CallEach: its result, or its failure.
type Answer struct {
	Result json.RawMessage
	Err    error
}

// CallEach calls one method on every module of the role table (the
// RPC-TOOL design's callMultiplyRpc: the status of each module, shutdown
// of all), once per module process, and returns each role's answer; the
// roles one process serves share its answer. Modules not connected answer
// ErrNotConnected.
func (ms *Modules) CallEach(ctx context.Context, method string, params any) map[string]Answer {
	byClient := map[*Client][]string{}
	for role, c := range ms.Clients() {
		byClient[c] = append(byClient[c], role)
	}
	out := make(map[string]Answer, len(byClient))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c, roles := range byClient {
		wg.Go(func() {
			var a Answer
			if !c.Ready() {
				a.Err = ErrNotConnected
			} else {
				a.Result, a.Err = c.Call(ctx, method, params)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range roles {
				out[r] = a
			}
		})
	}
	wg.Wait()
	return out
}
