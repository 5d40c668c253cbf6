package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real peers: the Java NULS 2 library with its test Manager and a demo
// module, and Nulstar's ServiceManager and Connector, built by the scripts
// of ../shared/real-peers into the folder E2E_REAL_PEERS names. They bind
// fixed ports in network namespaces of their own, so the checks run in a
// copy of this test binary started inside the namespace
// (TestRealPeerInside), against a gateway it starts there.
const (
	envRealPeers        = "E2E_REAL_PEERS"
	envRealPeersScripts = "E2E_REAL_PEERS_SCRIPTS"
	envRealPeerInside   = "E2E_REAL_PEER_INSIDE" // the gateway's arguments, one per line
)

// TestRealPeers runs the gateway in front of each real peer, both
// topologies, and checks what a user with curl and a browser would.
func TestRealPeers(t *testing.T) {
	p := os.Getenv(envRealPeers)
	if p == "" {
		t.Skipf("SKIPPING REAL-PEER TESTS: set %s to a folder built by ../shared/real-peers (build-java.sh, build-nulstar.sh)", envRealPeers)
	}
	if os.Getuid() != 0 {
		t.Skip("SKIPPING REAL-PEER TESTS: the peers' network namespaces need root")
	}
	scripts := os.Getenv(envRealPeersScripts)
	if scripts == "" {
		scripts = filepath.Join("..", "..", "shared", "real-peers")
	}
	gw, dn := gatewayBinary(t), devnodeBinary(t)
	script := func(name string, env ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(scripts, name), p)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	inside := func(t *testing.T, ns, name string, args ...string) {
		t.Helper()
		cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run", "^TestRealPeerInside$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), envGatewayBin+"="+gw, envRealPeerInside+"="+strings.Join(args, "\n"), "E2E_REAL_PEER_NAME="+name)
		out, err := cmd.CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "| ") {
				t.Log(strings.TrimSpace(line))
			}
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}

	t.Run("java", func(t *testing.T) {
		script("start-java.sh")
		t.Cleanup(func() { script("stop-java.sh") })
		port, err := os.ReadFile(filepath.Join(p, "run", "java", "demo.port"))
		if err != nil {
			t.Fatal(err)
		}
		inside(t, "rpjava", "Java module (T1)", "--upstream", "ws://10.77.0.1:"+strings.TrimSpace(string(port))+"/ws")
		inside(t, "rpjava", "Java mykernel (T2)", "--upstream", "ws://127.0.0.1:7771/", "--topology", "manager")
	})
	t.Run("nulstar", func(t *testing.T) {
		script("start-nulstar.sh", "MODULE_CMD="+dn+" --listen 127.0.0.1:17000 --manager ws://127.0.0.1:7771")
		t.Cleanup(func() { script("stop-nulstar.sh") })
		inside(t, "rpnulstar", "Nulstar Connector (T1)", "--upstream", "ws://127.0.0.1:7772", "--event-poll-interval", "1s")
		inside(t, "rpnulstar", "Nulstar ServiceManager (T2)", "--upstream", "ws://127.0.0.1:7771", "--topology", "manager")
	})
}

// TestRealPeerInside is TestRealPeers' check of one upstream, run inside
// the peer's namespace.
func TestRealPeerInside(t *testing.T) {
	args := os.Getenv(envRealPeerInside)
	if args == "" {
		t.Skip("run by TestRealPeers inside a real peer's network namespace")
	}
	name := os.Getenv("E2E_REAL_PEER_NAME")
	g := startGateway(t, append(strings.Split(args, "\n"), "--rate-plans", "anonymous=unlimited,default=unlimited")...)
	row := map[string]string{}
	check := func(what string, ok bool, format string, a ...any) {
		t.Helper()
		got := fmt.Sprintf(format, a...)
		row[what] = got
		if !ok {
			t.Errorf("%s: %s: %s", name, what, got)
		}
	}
	call := func(path, body string) (int, string) {
		a, err := post(t.Context(), g.URL+path, body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return a.Status, string(a.Body)
	}
	st, body := call("/rpc/latestHeight", `{"chainId":2}`)
	check("call", st == 200 && strings.Contains(body, `"value"`), "%d %.60s", st, body)
	st, body = call("/rpc", `{"latestHeight":{"chainId":2},"getBlockHeaderByHeight":{"chainId":2,"height":1}}`)
	check("two methods", st == 200 && strings.Contains(body, `"getBlockHeaderByHeight"`), "%d %.60s", st, body)
	st, _ = call("/rpc/noSuchMethod", `{}`)
	check("unknown", st == 404, "%d", st)
	st, _ = call("/rpc/getBlockHeaderByHeight", `{"chainId":2,"height":"one"}`)
	check("bad parameter", st == 400, "%d", st)

	heights, _ := streamHeights(t, g.URL+"/rpc/latestHeight/stream?chainId=2", 3, 10*time.Second)
	rising := len(heights) == 3 && heights[0] < heights[1] && heights[1] < heights[2]
	check("event stream", rising, "%v", heights)
	_, gaps := streamHeights(t, g.URL+"/rpc/latestHeight/stream?chainId=2&period=1", 4, 10*time.Second)
	apart := len(gaps) == 3
	for _, d := range gaps {
		apart = apart && d > 600*time.Millisecond && d < 1600*time.Millisecond
	}
	check("period=1 stream", apart, "%v apart", gaps)
	st, _, _ = httpGet(t.Context(), g.URL+"/rpc/noSuchMethod/stream?chainId=2")
	check("unknown stream", st == 404, "%d", st)

	_, mbody, _ := httpGet(t.Context(), g.URL+"/methods")
	var ml struct {
		Source  string
		Methods []struct {
			Name       string
			Parameters []struct{ Name string }
		}
	}
	_ = json.Unmarshal(mbody, &ml)
	params := -1
	for _, m := range ml.Methods {
		if m.Name == "latestHeight" {
			params = len(m.Parameters)
		}
	}
	check("/methods", params > 0, "%s, %d methods, latestHeight with %d parameters", ml.Source, len(ml.Methods), params)
	_, doc, _ := httpGet(t.Context(), g.URL+"/openapi.json")
	check("/openapi.json", strings.Contains(string(doc), `"/rpc/latestHeight"`), "%d bytes", len(doc))
	var cells []string
	for _, k := range []string{"call", "two methods", "unknown", "bad parameter", "event stream", "period=1 stream", "unknown stream", "/methods", "/openapi.json"} {
		cells = append(cells, row[k])
	}
	t.Logf("| %s | %s |", name, strings.Join(cells, " | "))
}

// streamHeights reads up to n events of a stream within d, and the times
// between them.
func streamHeights(t *testing.T, url string, n int, d time.Duration) ([]int64, []time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil
	}
	defer resp.Body.Close()
	var heights []int64
	var gaps []time.Duration
	last := time.Time{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(heights) < n {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var v struct{ Value int64 }
		if json.Unmarshal([]byte(data), &v) != nil {
			continue
		}
		now := time.Now()
		if !last.IsZero() {
			gaps = append(gaps, now.Sub(last).Round(10*time.Millisecond))
		}
		last = now
		heights = append(heights, v.Value)
	}
	return heights, gaps
}
