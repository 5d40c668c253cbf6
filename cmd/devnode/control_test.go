package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
)

// TestControl sets and reads a node's faults over the control endpoint.
func TestControl(t *testing.T) {
	t.Parallel()
	n, err := devnode.New(devnode.Config{Listen: "127.0.0.1:0", BlockInterval: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	srv := httptest.NewServer(controlHandler(n))
	defer srv.Close()

	do := func(method, body string) (int, string) {
		t.Helper()
		path := "/faults"
		if method == http.MethodPost {
			path = "/rollback"
		}
		if method == "PRODUCE" {
			method, path = http.MethodPost, "/produce"
		}
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := do(http.MethodPut, `{"stall":true,"lag":20,"delay":"250ms"}`); code != 200 || body != `{"stall":true,"lag":20,"delay":"250ms"}` {
		t.Errorf("PUT: %d %s", code, body)
	}
	if f := n.Faults(); !f.Stall || f.Lag != 20 || f.Delay != 250*time.Millisecond {
		t.Errorf("faults %+v", f)
	}
	for _, bad := range []string{`{"delay":"soon"}`, `{"lag":-1}`, `{"stal":true}`, `[`, strings.Repeat(" ", 5<<10) + "{}"} {
		if code, _ := do(http.MethodPut, bad); code != http.StatusBadRequest {
			t.Errorf("PUT %.20q: %d, want 400", bad, code)
		}
	}
	if code, body := do(http.MethodPut, `{}`); code != 200 || body != `{"stall":false,"lag":0,"delay":"0s"}` {
		t.Errorf("heal: %d %s", code, body)
	}
	if code, body := do(http.MethodGet, ""); code != 200 || body != `{"stall":false,"lag":0,"delay":"0s"}` {
		t.Errorf("GET: %d %s", code, body)
	}
	for range 5 {
		n.ProduceBlock()
	}
	before := n.Height()
	if code, body := do(http.MethodPost, `{"blocks":3}`); code != 200 || body != fmt.Sprintf(`{"height":%d}`, before-3) || n.Height() != before-3 {
		t.Errorf("POST /rollback: %d %s, height %d", code, body, n.Height())
	}
	for _, bad := range []string{`{}`, `{"blocks":0}`, `{"blocks":-2}`, `{"block":1}`} {
		if code, _ := do(http.MethodPost, bad); code != http.StatusBadRequest {
			t.Errorf("POST /rollback %s: %d, want 400", bad, code)
		}
	}
	before = n.Height()
	if code, body := do("PRODUCE", `{"blocks":7}`); code != 200 || body != fmt.Sprintf(`{"height":%d}`, before+7) || n.Height() != before+7 {
		t.Errorf("POST /produce: %d %s, height %d", code, body, n.Height())
	}
	for _, bad := range []string{`{}`, `{"blocks":0}`, `{"blocks":10001}`, `{"block":1}`} {
		if code, _ := do("PRODUCE", bad); code != http.StatusBadRequest {
			t.Errorf("POST /produce %s: %d, want 400", bad, code)
		}
	}
}
