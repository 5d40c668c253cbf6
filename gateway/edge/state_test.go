package edge

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRequestState checks the request state over a real socket: the ID is
// the client's X-Request-Id when it sent one and this process's otherwise,
// the status written is recorded, and http.ResponseController reaches the
// connection through the wrapper.
func TestRequestState(t *testing.T) {
	t.Parallel()
	type seen struct {
		id     string
		status int
	}
	got := make(chan seen, 1)
	h := Track(time.Second)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the request state: %v", err)
		}
		_, _ = io.WriteString(w, "ok")
		got <- seen{RequestID(r), StateOf(r).Status()}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	call := func(given string) seen {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if given != "" {
			req.Header.Set(headerRequestIDIn, given)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return <-got
	}
	a, b := call(""), call("")
	if !strings.HasPrefix(a.id, requestIDPrefix+"-") || a.id == b.id {
		t.Errorf("request IDs %q and %q: want distinct, with prefix %q", a.id, b.id, requestIDPrefix)
	}
	if a.status != http.StatusTeapot {
		t.Errorf("status %d recorded, want %d", a.status, http.StatusTeapot)
	}
	if c := call("edge-42"); c.id != "edge-42" {
		t.Errorf("request ID %q, want the client's edge-42", c.id)
	}
	// A stranger's text that is not an ID does not name the request.
	for _, bad := range []string{strings.Repeat("x", 129), "two words", "caf\u00e9"} {
		if c := call(bad); !strings.HasPrefix(c.id, requestIDPrefix+"-") {
			t.Errorf("X-Request-Id %q taken as the request ID %q", bad, c.id)
		}
	}
}
