package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

// bins holds the gateway and devnode binaries the smoke tests run, built
// once by TestMain.
var bins map[string]string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loadtest-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins, err = buildBinaries(context.Background(), dir, slog.New(slog.DiscardHandler), "gateway", "devnode", "loadtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// runLoadtest runs the command with args plus the binaries built for the
// tests, and returns its report; it fails the test on an error.
func runLoadtest(t *testing.T, args ...string) string {
	t.Helper()
	args = append(args, "--gateway-bin", bins["gateway"], "--devnode-bin", bins["devnode"], "--floor-bin", bins["loadtest"])
	var out, logs bytes.Buffer
	if err := run(t.Context(), args, &out, &logs); err != nil {
		t.Fatalf("loadtest %s: %v\nlogs:\n%s", strings.Join(args, " "), err, logs.String())
	}
	return out.String()
}

func wantLines(t *testing.T, report string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(report, w) {
			t.Errorf("report lacks %q:\n%s", w, report)
		}
	}
	if strings.Contains(report, "Errors:") {
		t.Errorf("requests failed:\n%s", report)
	}
}

// TestRPCSmoke runs the rpc subcommand end to end, tiny, so that the tool
// cannot rot: both paths, every table, the half-load pass.
func TestRPCSmoke(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		extra []string
		node  string
	}{
		{name: "devnode process", node: "node (cmd/devnode): pid"},
		{name: "embedded node", extra: []string{"--embedded-node"}, node: "node: in the gateway's process"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"rpc", "--concurrency", "1,2", "--warmup", "20ms", "--duration", "200ms", "--rounds", "2", "--alloc-calls", "200"}, tt.extra...)
			report := runLoadtest(t, args...)
			wantLines(t, report, "| 1 | direct |", "| 2 | gateway |", "| 2 | floor |", "| 2 | gateway/direct |",
				"Peak throughput: gateway", "| direct | ", "Added p99 latency at half load", tt.node,
				"floor (loadtest floor, a minimal net/http JSON endpoint): pid", "| workers | gateway µs | floor µs |", "| floor | ", "CPU per call at the same rate", "gateway/floor **",
				"Heap allocations per call of the serving process", "Batch and compound calls, per child method", "| compound | ", "Worst per child against a plain call: **")
		})
	}
}

// TestRPCProxySmoke makes the calls through nginx as a reverse proxy to the
// floor too, when nginx is installed (Debian: nginx-light).
func TestRPCProxySmoke(t *testing.T) {
	t.Parallel()
	const nginx = "/usr/sbin/nginx"
	if _, err := os.Stat(nginx); err != nil {
		t.Skipf("no nginx here (%v): apt-get install nginx-light", err)
	}
	report := runLoadtest(t, "rpc", "--concurrency", "2", "--warmup", "20ms", "--duration", "200ms", "--rounds", "1", "--alloc-calls", "200", "--nginx", nginx)
	wantLines(t, report, "proxy (/usr/sbin/nginx, one process", "| 2 | proxy |", "| nginx µs (proxy) |", "| proxy | ", "nginx proxying to the floor")
}

// TestSSESmoke opens a few streams and measures two events.
func TestSSESmoke(t *testing.T) {
	t.Parallel()
	report := runLoadtest(t, "sse", "--streams", "20", "--events", "2", "--block-interval", "100ms", "--dial-concurrency", "4")
	wantLines(t, report, "## sse: 20 streams", "received every measured event: **20 of 20**", "| with the streams | 21 |", "Memory per stream:")
}

// TestSSENchanSmoke measures a few streams on the gateway and then on
// nchan, when nginx and its nchan module are installed (Debian: nginx-light,
// libnginx-mod-nchan).
func TestSSENchanSmoke(t *testing.T) {
	t.Parallel()
	const nginx, module = "/usr/sbin/nginx", "/usr/lib/nginx/modules/ngx_nchan_module.so"
	for _, f := range []string{nginx, module} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("no nchan here (%v): apt-get install nginx-light libnginx-mod-nchan", err)
		}
	}
	report := runLoadtest(t, "sse", "--streams", "20", "--events", "2", "--block-interval", "100ms", "--dial-concurrency", "4",
		"--nchan", nginx, "--nchan-module", module)
	wantLines(t, report, "## sse: the same on nchan", "nchan streams that received every message: **20 of 20**", "p99 delivery, gateway/nchan: **", "RSS per stream: nchan")
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{name: "rpc defaults", args: []string{"rpc"}, ok: true},
		{name: "rpc all flags", args: []string{"rpc", "--concurrency", "1, 4", "--duration", "1s", "--warmup", "0s", "--method", "getBalance", "--params", `{"chainId":2}`, "--open-workers", "8", "--gateway-gomaxprocs", "1", "--node-gomaxprocs", "1"}, ok: true},
		{name: "rpc existing node and gateway", args: []string{"rpc", "--node", "ws://127.0.0.1:7771", "--gateway", "http://127.0.0.1:8080"}, ok: true},
		{name: "rpc gateway without node", args: []string{"rpc", "--gateway", "http://127.0.0.1:8080"}},
		{name: "rpc embedded and node", args: []string{"rpc", "--embedded-node", "--node", "ws://127.0.0.1:7771"}},
		{name: "rpc bad concurrency", args: []string{"rpc", "--concurrency", "1,x"}},
		{name: "rpc zero concurrency", args: []string{"rpc", "--concurrency", "0"}},
		{name: "rpc params not an object", args: []string{"rpc", "--params", "[1]"}},
		{name: "rpc bad node URL", args: []string{"rpc", "--node", "http://x"}},
		{name: "rpc zero block interval", args: []string{"rpc", "--block-interval", "0"}},
		{name: "rpc stray argument", args: []string{"rpc", "extra"}},
		{name: "sse defaults", args: []string{"sse"}, ok: true},
		{name: "sse no blocks", args: []string{"sse", "--block-interval", "-1s"}},
		{name: "sse relative path", args: []string{"sse", "--path", "rpc/x"}},
		{name: "sse zero streams", args: []string{"sse", "--streams", "0"}},
		{name: "unknown subcommand", args: []string{"wrk"}},
		{name: "no subcommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			switch {
			case len(tt.args) == 0 || (tt.args[0] != "rpc" && tt.args[0] != "sse"):
				err = run(t.Context(), tt.args, &bytes.Buffer{}, &bytes.Buffer{})
			case tt.args[0] == "rpc":
				_, err = parseRPCFlags(tt.args[1:], &bytes.Buffer{})
			default:
				_, err = parseSSEFlags(tt.args[1:], &bytes.Buffer{})
			}
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestParseLogLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		line string
		want map[string]string
	}{
		{
			name: "gateway listening",
			line: `time=2026-11-21T20:16:24.832Z level=INFO msg="gateway listening" addr=127.0.0.1:18080 upstream=ws://127.0.0.1:35657 scopes=public`,
			want: map[string]string{"time": "2026-11-21T20:16:24.832Z", "level": "INFO", "msg": "gateway listening", "addr": "127.0.0.1:18080", "upstream": "ws://127.0.0.1:35657", "scopes": "public"},
		},
		{
			name: "escaped quotes",
			line: `msg="say \"hi\"" n=1`,
			want: map[string]string{"msg": `say "hi"`, "n": "1"},
		},
		{name: "not a record", line: "gateway: something failed", want: map[string]string{}},
		{name: "stops at text", line: "a=1 free text b=2", want: map[string]string{"a": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, parseLogLine(tt.line)); diff != "" {
				t.Errorf("parseLogLine (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 1000; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := summary{N: 1000, P50: 500 * time.Millisecond, P90: 900 * time.Millisecond, P99: 990 * time.Millisecond, P999: 999 * time.Millisecond, Max: time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(summary{}, summarize(nil)); diff != "" {
		t.Errorf("summarize(nil) (-want +got):\n%s", diff)
	}
	if got := percentile([]time.Duration{7}, 99.9); got != 7 {
		t.Errorf("percentile of one sample = %v", got)
	}
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	text := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
go_memstats_heap_inuse_bytes 3.2768e+06
nuls_gateway_http_requests_total{code="200",method="GET",route="/readyz"} 7
nuls_gateway_active_streams 0
`
	got, err := parseMetrics(bufio.NewScanner(strings.NewReader(text)))
	if err != nil {
		t.Fatal(err)
	}
	want := metricSet{"go_goroutines": 42, "go_memstats_heap_inuse_bytes": 3276800, "nuls_gateway_active_streams": 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseMetrics (-want +got):\n%s", diff)
	}
}

// TestStreamReader reads a scripted SSE stream: the retry hint and
// comments are skipped, ids give sequence numbers and latencies, an end
// event ends the stream.
func TestStreamReader(t *testing.T) {
	t.Parallel()
	sent := time.Now().Add(-50 * time.Millisecond).UnixMilli()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		fmt.Fprint(w, "retry: 3000\n\n")
		_ = rc.Flush()
		fmt.Fprintf(w, "id: %d-7\ndata: {\"value\":7}\n\n: keep-alive\n\n", sent)
		_ = rc.Flush()
		fmt.Fprintf(w, "id: %d-8\r\ndata: {\"value\":8}\r\n\r\n", sent)
		_ = rc.Flush()
		fmt.Fprint(w, "event: end\ndata: {}\n\n")
	}))
	defer srv.Close()
	s, err := openStream(t.Context(), strings.TrimPrefix(srv.URL, "http://"), "/rpc/latestHeight/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var seen []uint64
	s.read(func(seq uint64) { seen = append(seen, seq) })
	if diff := cmp.Diff([]uint64{8}, seen); diff != "" {
		t.Errorf("events after the first (-want +got):\n%s", diff)
	}
	if s.lastSeq.Load() != 8 || len(s.deliveries) != 2 || s.deliveries[0].Seq != 7 {
		t.Errorf("deliveries %+v, last %d", s.deliveries, s.lastSeq.Load())
	}
	for _, d := range s.deliveries {
		if d.Latency < 50*time.Millisecond || d.Latency > 10*time.Second {
			t.Errorf("latency %v, want about 50ms", d.Latency)
		}
	}
	if s.err == nil || !strings.Contains(s.err.Error(), "end event") {
		t.Errorf("err = %v, want the end event", s.err)
	}
}

// TestStreamRefused reports an error answer instead of a stream.
func TestStreamRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "too many streams", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := openStream(t.Context(), strings.TrimPrefix(srv.URL, "http://"), "/x")
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("err = %v, want the 503", err)
	}
}
