package e2e

import (
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTracingExport runs the binary with --otlp-endpoint at a stand-in
// collector and checks that a call's spans arrive there as OTLP/HTTP
// protobuf, in the caller's trace. Not parallel: it sets the batch
// processor's delay for the process (OTEL_BSP_SCHEDULE_DELAY).
func TestTracingExport(t *testing.T) {
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			mu.Lock()
			bodies = append(bodies, b)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	gw := startGateway(t, "--simulated-node", "--otlp-endpoint", collector.URL)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, gw.URL+"/rpc/latestHeight", strings.NewReader(`{"chainId":2}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	messageID := resp.Header.Get("X-Nuls-Request-Id")
	// The spans are protobuf: the trace ID is there as its 16 bytes, the
	// MessageID and the span names as strings.
	rawTraceID, _ := hex.DecodeString(traceID)
	want := [][]byte{rawTraceID, []byte(messageID), []byte("POST /rpc/{method}"), []byte("nuls latestHeight"), []byte("nuls-gateway")}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		all := bytes.Join(bodies, nil)
		mu.Unlock()
		missing := 0
		for _, w := range want {
			if !bytes.Contains(all, w) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector got %d bytes in %d exports, lacking %d of the expected trace ID, MessageID %q, span names and service", len(all), len(bodies), missing, messageID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
