package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestDocumentRoutes checks what a new user's tools ask of the documents:
// the Swagger UI's own doc.json is the OpenAPI document, probes and
// documents answer HEAD as GET with no body, and a stream does not
// (a HEAD must not subscribe upstream).
func TestDocumentRoutes(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	status, body := get(t, tg.url+"/docs/doc.json")
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]any
	}
	if err := json.Unmarshal([]byte(body), &doc); status != http.StatusOK || err != nil || doc.OpenAPI == "" || doc.Paths["/rpc/{method}"] == nil {
		t.Fatalf("GET /docs/doc.json: %d %v %.200s", status, err, body)
	}
	head := func(path string) (int, int) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, tg.url+path, nil)
		client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("HEAD %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, len(b)
	}
	for path, want := range map[string]int{
		"/openapi.json": 200, "/openrpc.json": 200, "/docs/doc.json": 200, "/docs/index.html": 200, "/docs": 302,
		"/healthz": 200, "/readyz": 200, "/methods": 200, "/compound-methods": 200,
		"/rpc/latestHeight/stream?chainId=2": 405,
	} {
		if got, n := head(path); got != want || n != 0 {
			t.Errorf("HEAD %s: %d with %d body bytes, want %d and none", path, got, n, want)
		}
	}
}
