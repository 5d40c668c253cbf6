package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// browserTimeout bounds the wait for the page's report: Chromium's start,
// the stream and its pushes.
const browserTimeout = 30 * time.Second

// streamPage opens an EventSource on the gateway named in its query,
// collects pushes, and POSTs them to /report on its own origin.
const streamPage = `<!doctype html>
<meta charset="utf-8">
<title>e2e EventSource</title>
<script>
const params = new URLSearchParams(location.search);
const want = Number(params.get("want"));
const events = [];
let sent = false;
function report(error) {
  if (sent) return;
  sent = true;
  fetch("/report", {method: "POST", body: JSON.stringify({events, error})});
}
window.onerror = (msg) => report("script error: " + msg);
const es = new EventSource(params.get("gateway") + "/rpc/latestHeight/stream?chainId=2");
es.onmessage = (e) => {
  events.push({id: e.lastEventId, data: e.data, origin: e.origin});
  if (events.length === want) { es.close(); report(""); }
};
// A stream refused by CORS fails for good: readyState CLOSED.
es.onerror = () => { if (es.readyState === EventSource.CLOSED) { report("EventSource closed"); } };
setTimeout(() => { es.close(); report("timeout in the page"); }, 20000);
</script>
`

// pageReport is what the page POSTs.
type pageReport struct {
	Events []struct{ ID, Data, Origin string }
	Error  string
}

// TestBrowserEventSource opens a gateway stream from a page of another
// origin in headless Chromium: the gateway's CORS answer must let the
// browser's EventSource read the pushes, and the heights must increase.
func TestBrowserEventSource(t *testing.T) {
	t.Parallel()
	chromium := findChromium(t)
	reports := make(chan pageReport, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, streamPage)
	})
	mux.HandleFunc("POST /report", func(_ http.ResponseWriter, r *http.Request) {
		var rep pageReport
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			rep.Error = "bad report: " + err.Error()
		}
		select {
		case reports <- rep:
		default:
		}
	})
	page := httptest.NewServer(mux)
	t.Cleanup(page.Close)

	// Short blocks: a few pushes in well under a second.
	gw := startGateway(t, "--simulated-node", "--cors-origins", page.URL, "--devnode-block-interval", "200ms")
	const want = 3
	startChromium(t, chromium, page.URL+"/?want=3&gateway="+url.QueryEscape(gw.URL))

	var rep pageReport
	select {
	case rep = <-reports:
	case <-time.After(browserTimeout):
		t.Fatalf("no report from the page within %v", browserTimeout)
	}
	if rep.Error != "" || len(rep.Events) < 2 {
		t.Fatalf("page: error %q after %d pushes %+v, want %d pushes", rep.Error, len(rep.Events), rep.Events, want)
	}
	var last int64 = -1
	ids := map[string]bool{}
	for i, e := range rep.Events {
		var d struct{ Value *int64 }
		if err := json.Unmarshal([]byte(e.Data), &d); err != nil || d.Value == nil {
			t.Fatalf("push %d data %q: want {\"value\":N}", i, e.Data)
		}
		if *d.Value <= last {
			t.Errorf("push %d height %d after %d: want increasing heights", i, *d.Value, last)
		}
		last = *d.Value
		if e.ID == "" || ids[e.ID] {
			t.Errorf("push %d id %q: want a new event id", i, e.ID)
		}
		ids[e.ID] = true
		if e.Origin != gw.URL {
			t.Errorf("push %d origin %q, want the gateway's %q", i, e.Origin, gw.URL)
		}
	}
	t.Logf("pushes in the browser: %+v", rep.Events)
}
