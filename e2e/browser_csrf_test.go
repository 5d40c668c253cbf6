package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// attackPage is a page of another origin that makes the visitor's browser
// send ac_transfer to the gateway every way a page can without CORS: a
// fetch in no-cors mode with a text/plain body (a "simple request", sent
// without a preflight), an HTML form posting text/plain, and a beacon. It
// then opens a stream through an <img>, and reports.
const attackPage = `<!doctype html>
<meta charset="utf-8">
<title>e2e cross-site</title>
<form id="f" method="POST" enctype="text/plain" target="sink"><input name='{"x":"' value='"}'></form>
<iframe name="sink"></iframe>
<script>
const params = new URLSearchParams(location.search);
const gw = params.get("gateway");
const body = params.get("body");
async function attack() {
  const results = [];
  try {
    await fetch(gw + "/rpc/ac_transfer", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body});
    results.push("fetch sent");
  } catch (e) { results.push("fetch failed: " + e); }
  try {
    await fetch(gw + "/rpc/ac_transfer", {method: "POST", mode: "no-cors", body: new Blob([body])});
    results.push("blob sent");
  } catch (e) { results.push("blob failed: " + e); }
  results.push("beacon " + navigator.sendBeacon(gw + "/rpc/ac_transfer", body));
  const f = document.getElementById("f");
  f.action = gw + "/rpc/ac_transfer";
  f.submit();
  const img = new Image();
  img.src = gw + "/rpc/latestHeight/stream?chainId=2";
  await new Promise(r => setTimeout(r, 1500));
  fetch("/report", {method: "POST", body: JSON.stringify({results})});
}
attack();
</script>
`

// TestBrowserCrossSiteTransfer is hole 3 of the security review: bodies were
// accepted whatever their Content-Type, so a page of another origin ran
// ac_transfer with a text/plain POST, CORS off. In headless Chromium, every
// way a foreign page can send it is refused and no coin moves.
func TestBrowserCrossSiteTransfer(t *testing.T) {
	t.Parallel()
	chromium := findChromium(t)
	reports := make(chan []string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, attackPage)
	})
	mux.HandleFunc("POST /report", func(_ http.ResponseWriter, r *http.Request) {
		var rep struct{ Results []string }
		_ = json.NewDecoder(r.Body).Decode(&rep)
		select {
		case reports <- rep.Results:
		default:
		}
	})
	page := httptest.NewServer(mux)
	t.Cleanup(page.Close)

	gw := startGateway(t, "--simulated-node", "--dev-wallet") // CORS off: no origin is allowed; the transfer open to anonymous callers
	before := balanceOf(t, gw.URL, accountB)
	okPosts, okGets := requestsWith(t, gw.URL, "", "POST", "200"), requestsWith(t, gw.URL, "/rpc/{method}/stream", "GET", "200")
	body := transferBody(accountA, accountB, 1_000_000)
	startChromium(t, chromium, page.URL+"/?gateway="+url.QueryEscape(gw.URL)+"&body="+url.QueryEscape(body))
	select {
	case rep := <-reports:
		t.Logf("the page: %v", rep)
	case <-time.After(browserTimeout):
		t.Fatalf("no report from the page within %v", browserTimeout)
	}
	// The requests did reach the gateway, and were refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Refused before routing: the route is not known yet.
		refused := requestsWith(t, gw.URL, "", "POST", "403") + requestsWith(t, gw.URL, "", "POST", "415")
		if refused >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway refused %v of the page's POSTs, want the 4 transfers", refused)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ok := requestsWith(t, gw.URL, "", "POST", "200") - okPosts; ok != 0 {
		t.Fatalf("%v of the page's POSTs answered 200", ok)
	}
	if after := balanceOf(t, gw.URL, accountB); after.Cmp(before) != 0 {
		t.Fatalf("a page of another origin moved coins: balance %v, was %v", after, before)
	}
	if n := requestsWith(t, gw.URL, "/rpc/{method}/stream", "GET", "200") - okGets; n != 0 {
		t.Fatalf("an <img> of another origin opened a stream")
	}
}

// requestsWith counts a gateway's requests of a route (any when empty),
// HTTP method and status in its nuls_gateway_http_requests_total.
func requestsWith(t *testing.T, base, route, method, code string) float64 {
	t.Helper()
	status, body, err := httpGet(t.Context(), base+"/metrics")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", status, err)
	}
	prefix := fmt.Sprintf(`nuls_gateway_http_requests_total{code=%q,method=%q,route=`, code, method)
	n := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		r, v, _ := strings.Cut(rest, "} ")
		if route != "" && r != strconv.Quote(route) {
			continue
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		n += f
	}
	return n
}
