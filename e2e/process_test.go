package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Timings of a gateway process.
const (
	startTimeout = 15 * time.Second // until it listens, is ready and knows its methods
	stopTimeout  = 10 * time.Second // from SIGTERM to exit
)

// gatewayProc is a running cmd/gateway process.
type gatewayProc struct {
	// URL is the gateway's base URL, such as http://127.0.0.1:41234.
	URL string
	// NulstarURL is the --nulstar-listen endpoint's, when started with it,
	// and NulsAPIURL the --nuls-api-listen one's.
	NulstarURL, NulsAPIURL string
	// Instance is the instance name the gateway logged (its name in
	// Redis: lease holder, call records).
	Instance string

	cmd  *exec.Cmd
	logs *procLog
	// exited is closed when the process has exited; waitErr is then set.
	exited  chan struct{}
	waitErr error
	// killed is set by kill: the exit is expected.
	killed atomic.Bool
}

// listeningLine is the gateway's "gateway listening" log record.
type listeningLine struct {
	Msg, Addr, Instance string
}

// startGateway runs the gateway binary on a free port of 127.0.0.1, with
// args, which name its upstream (--upstream, or --simulated-node for the
// simulated node in-process), and returns once
// it is ready and has discovered its methods. The process is stopped in
// t.Cleanup, where the test fails unless SIGTERM ends it with status 0; the
// gateway's log is in the test log when the test fails.
func startGateway(t *testing.T, args ...string) *gatewayProc {
	t.Helper()
	bin := gatewayBinary(t)
	listening := make(chan listeningLine, 1)
	p := &gatewayProc{exited: make(chan struct{})}
	p.logs = &procLog{onLine: func(line []byte) {
		var rec listeningLine
		if json.Unmarshal(line, &rec) == nil {
			// Logged before "gateway listening", by the same writer.
			switch rec.Msg {
			case "Nulstar HTTP endpoint listening":
				p.NulstarURL = "http://" + rec.Addr
			case "nuls-api profile listening":
				p.NulsAPIURL = "http://" + rec.Addr
			}
		}
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "gateway listening" {
			select {
			case listening <- rec:
			default:
			}
		}
	}}
	args = append([]string{"--listen", "127.0.0.1:0", "--log-format", "json"}, args...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = gatewayEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	ownGroup(p.cmd)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case rec := <-listening:
		p.URL = "http://" + rec.Addr
		p.Instance = rec.Instance
	case <-p.exited:
		t.Fatalf("gateway %s exited before listening: %v", strings.Join(args, " "), p.waitErr)
	case <-timer.C:
		t.Fatalf("gateway did not log its address within %v", startTimeout)
	}
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	if err := p.waitReady(ctx); err != nil {
		t.Fatalf("gateway at %s: %v", p.URL, err)
	}
	return p
}

// gatewayEnv is the test's environment without the gateway's variables, so
// that only the flags configure it.
func gatewayEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEWAY_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady polls until /readyz answers 200 and /methods reports the
// upstream's methods discovered (the OpenAPI document lists them then).
func (p *gatewayProc) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		last = p.ready(ctx)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", last)
		case <-p.exited:
			return fmt.Errorf("exited: %v", p.waitErr)
		case <-tick.C:
		}
	}
}

func (p *gatewayProc) ready(ctx context.Context) error {
	status, _, err := httpGet(ctx, p.URL+"/readyz")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("/readyz: status %d", status)
	}
	status, body, err := httpGet(ctx, p.URL+"/methods")
	if err != nil {
		return err
	}
	// Discovered from the upstream, or described by the catalog (an
	// upstream that lists nothing, as a Java module).
	var list struct {
		Discovered bool
		Source     string
	}
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil || !(list.Discovered || list.Source == "catalog") {
		return fmt.Errorf("/methods: status %d: %.200s", status, body)
	}
	return nil
}

// stop sends SIGTERM and fails the test unless the gateway exits with
// status 0 within stopTimeout; it kills the gateway if it does not.
func (p *gatewayProc) stop(t *testing.T) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Logf("gateway logs:\n%s", p.logs)
		}
	}()
	select {
	case <-p.exited:
		if !p.killed.Load() {
			t.Errorf("gateway exited before the end of the test: %v", p.waitErr)
		}
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("gateway after SIGTERM: %v, want exit status 0", p.waitErr)
		}
	case <-timer.C:
		t.Errorf("gateway still running %v after SIGTERM: killed", stopTimeout)
		_ = killGroup(p.cmd)
		<-p.exited
	}
}

// kill ends the gateway with SIGKILL, as a crash would, and waits for it
// to exit.
func (p *gatewayProc) kill(t *testing.T) {
	t.Helper()
	p.killed.Store(true)
	if err := killGroup(p.cmd); err != nil {
		t.Fatalf("kill gateway %s: %v", p.Instance, err)
	}
	<-p.exited
}

// logCount counts the gateway's JSON log records whose message is msg.
func (p *gatewayProc) logCount(msg string) int {
	n := 0
	for _, line := range strings.Split(p.logs.String(), "\n") {
		var rec struct{ Msg string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			n++
		}
	}
	return n
}

// httpGet returns the status and body of a GET.
func httpGet(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}
