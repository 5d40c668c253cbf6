package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func noEnv(string) string { return "" }

func TestHelpListsFlagsWithEnv(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"--help"}, noEnv, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"-listen", "GATEWAY_LISTEN", `default ":8080"`, "-upstream", "GATEWAY_UPSTREAM", "-redis-url", "GATEWAY_REDIS_URL", "-topology"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestVersionAndUsageErrors: --version prints one line and stops; a flag
// parseConfig cannot take prints nothing (main says it once, with a hint)
// and is a usage error.
func TestVersionAndUsageErrors(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseConfig([]string{"--version"}, noEnv, &out); !errors.Is(err, errVersion) {
		t.Fatalf("--version: err = %v", err)
	}
	if got := out.String(); !strings.HasPrefix(got, "gateway ") || strings.Count(got, "\n") != 1 {
		t.Errorf("--version printed %q", got)
	}
	for _, bad := range [][]string{{"--max-body-bytes", "abc"}, {"--no-such-flag"}, {"extra"}} {
		out.Reset()
		_, err := parseConfig(bad, noEnv, &out)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "gateway --help") {
			t.Errorf("%q: err = %v, want a usage error pointing at --help", bad, err)
		}
		if out.Len() != 0 {
			t.Errorf("%q printed %q: the caller prints the error once", bad, out.String())
		}
	}
}

func TestConfigFromEnvAndFlags(t *testing.T) {
	env := map[string]string{envListen: "127.0.0.1:9000", envCallTimeout: "3s", envScopes: "public,admin", envSimulatedNode: "true"}
	c, err := parseConfig([]string{"--max-streams", "7"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.CallTimeout != 3*time.Second || c.MaxStreams != 7 || len(c.Scopes) != 2 {
		t.Errorf("config %+v", c)
	}
	// A flag beats the environment.
	c, _ = parseConfig([]string{"--listen", ":1"}, func(k string) string { return env[k] }, io.Discard)
	if c.Listen != ":1" {
		t.Errorf("listen %q", c.Listen)
	}
	for _, bad := range [][]string{
		{"--upstream", "http://x"}, {"--topology", "mesh"}, {"--scopes", "root"}, {"--log-level", "loud"}, {"--listen", "nope"}, {"extra"},
	} {
		if _, err := parseConfig(bad, noEnv, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := parseConfig(nil, func(k string) string {
		if k == envCallTimeout {
			return "soon"
		}
		return ""
	}, io.Discard); err == nil {
		t.Error("bad env duration accepted")
	}
}

// startRun runs the binary's run() and returns its address, a stop that
// cancels it (SIGTERM) and waits, and the channel run's result arrives on.
// Without --upstream in args, it runs the simulated node.
func startRun(t *testing.T, args ...string) (addr string, stop func() error, result <-chan error) {
	t.Helper()
	if !slices.Contains(args, "--upstream") {
		args = append(args, "--simulated-node")
	}
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	errc := make(chan error, 1)
	var logs syncBuffer
	go func() {
		errc <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), noEnv, io.Discard, &logs, listening)
	}()
	select {
	case addr = <-listening:
	case err := <-errc:
		cancel()
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("not listening")
	}
	results := make(chan error, 1)
	var once sync.Once
	var err error
	wait := func() error {
		once.Do(func() { err = <-errc; results <- err })
		return err
	}
	stop = func() error { cancel(); return wait() }
	go func() { _ = wait() }()
	t.Cleanup(func() { _ = stop() })
	return addr, stop, results
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitReady(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("gateway never ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunEmbedded: with no upstream the binary starts the simulated node;
// cancelling (SIGTERM) stops everything and returns nil.
func TestRunEmbedded(t *testing.T) {
	addr, stop, _ := startRun(t, "--devnode-block-interval", "50ms")
	waitReady(t, addr)
	resp, err := http.Post("http://"+addr+"/rpc/latestHeight", "application/json", strings.NewReader(`{"chainId":2}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `{"value":`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	// A stream open at shutdown ends; run returns.
	sresp, err := http.Get("http://" + addr + "/rpc/latestHeight/stream?chainId=2")
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := io.ReadAll(sresp.Body); err != nil {
		t.Logf("stream read after shutdown: %v", err)
	}
}

// TestShutdownCommand covers D17 for the gateway itself: in the manager
// topology the gateway is a NULS module, and the shutdown command drains
// and stops it, sent by the Manager over the connection the gateway
// registered on. Sent by anyone else on the module endpoint, it does not
// exist.
func TestShutdownCommand(t *testing.T) {
	node, err := devnode.New(devnode.Config{Listen: "127.0.0.1:0", BlockInterval: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nctx, ncancel := context.WithCancel(context.Background())
	ndone := make(chan struct{})
	go func() { defer close(ndone); _ = node.Run(nctx) }()
	defer func() { ncancel(); <-ndone }()

	moduleAddr := freeAddr(t)
	addr, _, result := startRun(t, "--upstream", node.URL(), "--topology", "manager", "--module-listen", moduleAddr)
	waitReady(t, addr)
	// The module endpoint is not on the HTTP listener: no stranger can
	// send the shutdown command there.
	if resp, err := http.Get("http://" + addr + "/ws"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /ws on the HTTP listener: %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	c, err := bridge.NewClient(bridge.ClientConfig{URL: "ws://" + moduleAddr + "/ws", FirstDialJitter: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	cdone := make(chan struct{})
	go func() { defer close(cdone); _ = c.Run(cctx) }()
	defer func() { ccancel(); <-cdone }()
	wctx, wcancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer wcancel()
	if err := c.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"shutdown", "terminate", "confSet"} {
		var rpcErr *bridge.RPCError
		if _, err := c.Call(t.Context(), method, map[string]any{"a": 1}); !errors.As(err, &rpcErr) || !rpcErr.MethodNotFound() {
			t.Fatalf("%s from a stranger on the module endpoint: %v, want Cmd not found", method, err)
		}
	}
	select {
	case err := <-result:
		t.Fatalf("a stranger stopped the gateway: %v", err)
	default:
	}
	waitReady(t, addr)
	if _, err := node.CallModule(t.Context(), "gateway", "shutdown", nil); err != nil {
		t.Fatalf("shutdown command from the Manager: %v", err)
	}
	// run returns by itself: nobody cancels its context.
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not stop after the shutdown command")
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestTuneGC: without GOGC the gateway sets it from the live heap, at
// defaultGCPercent for a small one; with GOGC set it leaves the runtime's
// setting alone and runs no tuner.
func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	runtime.GC() // the live heap as of now: a test binary's few MiB
	tuner := tuneGC(noEnv, slog.New(slog.DiscardHandler))
	if tuner == nil {
		t.Fatal("GOGC unset: no tuner")
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, defaultGCPercent)
	}
	if tuneGC(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	}, slog.New(slog.DiscardHandler)) != nil {
		t.Error("GOGC=100: a tuner")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100: GC percent %d, want it left at 100", got)
	}
}

// TestGCPercent: the headroom above the live heap, bounded by a
// percentage of it both ways; the headroom, by the allocation rate.
func TestGCPercent(t *testing.T) {
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{0, gcMaxHeadroom, defaultGCPercent},
		{4 << 20, gcMaxHeadroom, defaultGCPercent},
		{16 << 20, gcMaxHeadroom, 200},
		{32 << 20, gcMaxHeadroom, 100},
		{128 << 20, gcMaxHeadroom, 25},
		{1 << 30, gcMaxHeadroom, gcMinPercent},
		{8 << 20, gcMinHeadroom, 50},
		{1 << 30, gcMinHeadroom, gcMinPercent},
	} {
		if got := gcPercent(c.live, c.headroom); got != c.want {
			t.Errorf("gcPercent(%d MiB, %d MiB) = %d, want %d", c.live>>20, c.headroom>>20, got, c.want)
		}
	}
	for _, c := range []struct {
		rate float64
		want uint64
	}{
		{0, gcMinHeadroom},
		{1 << 20, gcMinHeadroom},
		{8 << 20, 16 << 20},
		{100 << 20, gcMaxHeadroom},
	} {
		if got := gcHeadroom(c.rate); got != c.want {
			t.Errorf("gcHeadroom(%.0f MiB/s) = %d MiB, want %d", c.rate/(1<<20), got>>20, c.want>>20)
		}
	}
}

// TestGCTunerFollowsTheHeap: GOGC falls as the live heap grows past the
// headroom, and as the allocations stop; it comes back up when they
// resume and the heap is freed.
func TestGCTunerFollowsTheHeap(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	tuner := newGCTuner()
	now := time.Now()
	runtime.GC()
	if got := tuner.tune(now); got != defaultGCPercent {
		t.Fatalf("small heap, at start: GOGC %d, want %d", got, defaultGCPercent)
	}
	// 96 MiB kept alive in small pieces, as streams keep theirs, made in
	// a second: the headroom is the largest.
	kept := make([][]byte, 96<<10)
	for i := range kept {
		kept[i] = make([]byte, 1<<10)
	}
	runtime.GC()
	now = now.Add(time.Second)
	if got := tuner.tune(now); got < 30 || got > 40 {
		t.Errorf("about 100 MiB live, 96 MiB allocated in a second: GOGC %d, want about 33", got)
	}
	// Nothing allocated for a minute: the headroom is the least.
	for range 60 {
		now = now.Add(time.Second)
		tuner.tune(now)
	}
	// GOGC moves by more than a tenth or not at all.
	if got := tuner.tune(now.Add(time.Second)); got < gcMinPercent || got > gcMinPercent*11/10 {
		t.Errorf("about 100 MiB live, idle: GOGC %d, want %d", got, gcMinPercent)
	}
	runtime.KeepAlive(kept) // and no longer
	runtime.GC()
	// 64 MiB of garbage in a second, over the small heap again.
	for range 64 << 10 {
		sink = make([]byte, 1<<10)
	}
	if got := tuner.tune(now.Add(2 * time.Second)); got != defaultGCPercent {
		t.Errorf("heap freed, 64 MiB/s allocated: GOGC %d, want %d", got, defaultGCPercent)
	}
}

// sink keeps the compiler from optimizing the allocations of a test away.
var sink []byte

// TestComponentFailureStopsProcess: a component that fails (here the debug
// listener, whose address is taken) stops the whole process with its
// error, the other components drained, instead of leaving the gateway
// serving without it.
func TestComponentFailureStopsProcess(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var logs syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(t.Context(), []string{"--listen", "127.0.0.1:0", "--simulated-node", "--debug-listen", busy.Addr().String()}, noEnv, io.Discard, &logs, nil)
	}()
	select {
	case err := <-errc:
		if err == nil || !strings.HasPrefix(err.Error(), "debug: ") || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("run: %v, want the debug listener's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the gateway goes on serving without its debug listener:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "component failed") || !strings.Contains(logs.String(), "gateway stopped") {
		t.Errorf("the log does not tell the failure and the stop:\n%s", logs.String())
	}
}

// TestUpstreamRequired: the gateway serves a made-up chain only when told
// to: with neither --upstream nor --simulated-node it does not start, and
// says how to choose; it refuses both at once, and --dev-wallet or the
// manager topology with the simulated node.
func TestUpstreamRequired(t *testing.T) {
	_, err := parseConfig(nil, noEnv, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--upstream") || !strings.Contains(err.Error(), "--simulated-node") || !strings.Contains(err.Error(), envSimulatedNode) {
		t.Errorf("no upstream: %v, want an error naming --upstream and --simulated-node", err)
	}
	for _, bad := range [][]string{
		{"--simulated-node", "--upstream", "ws://127.0.0.1:7771"},
		{"--dev-wallet"},
		{"--dev-wallet", "--upstream", "ws://127.0.0.1:7771"},
		{"--simulated-node", "--topology", "manager"},
	} {
		if _, err := parseConfig(bad, noEnv, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	for _, ok := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--upstream", "ws://127.0.0.1:7771"}, nil},
		{[]string{"--simulated-node", "--dev-wallet"}, nil},
		{nil, map[string]string{envSimulatedNode: "1", envDevWallet: "1"}},
	} {
		if _, err := parseConfig(ok.args, func(k string) string { return ok.env[k] }, io.Discard); err != nil {
			t.Errorf("%v %v: %v", ok.args, ok.env, err)
		}
	}
}

// TestSimulatedNodeSaysSo: a gateway serving the simulated node says so in
// a WARN at start and in every /readyz answer, without failing readiness;
// one in front of an upstream says nothing of the kind.
func TestSimulatedNodeSaysSo(t *testing.T) {
	node, err := devnode.New(devnode.Config{Listen: "127.0.0.1:0", BlockInterval: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nctx, ncancel := context.WithCancel(context.Background())
	ndone := make(chan struct{})
	go func() { defer close(ndone); _ = node.Run(nctx) }()
	defer func() { ncancel(); <-ndone }()

	for _, tt := range []struct {
		name      string
		args      []string
		simulated bool
	}{
		{"simulated", []string{"--simulated-node"}, true},
		{"upstream", []string{"--upstream", node.URL()}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var logs syncBuffer
			listening := make(chan string, 1)
			errc := make(chan error, 1)
			go func() {
				errc <- run(ctx, append([]string{"--listen", "127.0.0.1:0", "--log-format", "json"}, tt.args...), noEnv, io.Discard, &logs, listening)
			}()
			var addr string
			select {
			case addr = <-listening:
			case err := <-errc:
				t.Fatalf("run: %v", err)
			}
			waitReady(t, addr)
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			var h struct {
				Status   string
				Warnings []string
			}
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || h.Status != "ok" {
				t.Fatalf("/readyz: %d %+v %v", resp.StatusCode, h, err)
			}
			warned := strings.Contains(logs.String(), `"level":"WARN","msg":"`+msgSimulatedNode+`"`)
			if says := len(h.Warnings) == 1 && strings.Contains(h.Warnings[0], "simulated node"); says != tt.simulated || warned != tt.simulated {
				t.Errorf("/readyz warnings %q, start WARN %v: want the simulated node named: %v", h.Warnings, warned, tt.simulated)
			}
			cancel()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestWarnSimulatedRepeats: the WARN comes again every period until its
// context ends.
func TestWarnSimulatedRepeats(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		warnSimulated(ctx, logger, 10*time.Millisecond, []slog.Attr{slog.String("url", "ws://x")})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "level=WARN") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5s of a 10ms period:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
