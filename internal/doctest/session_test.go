package doctest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// newSession is a session whose documented gateway is srv.
func newSession(t *testing.T, srv *httptest.Server) *Session {
	t.Helper()
	s, err := NewSession(Config{
		Dir: t.TempDir(),
		Env: os.Environ(),
		Addresses: Addresses{
			Gateway:  strings.TrimPrefix(srv.URL, "http://"),
			FreePort: FreePort,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// server answers /ok with 200 "fine", /locked with 401 and streams /stream.
func server(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("fine\n")) //nolint:errcheck // the client may be gone
	})
	mux.HandleFunc("/locked", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no key", http.StatusUnauthorized) })
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("data: 1\n\n")) //nolint:errcheck // the client may be gone
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func block(code string) Block { return Block{Doc: "d.md", Line: 1, Lang: "sh", Code: code} }

func TestRunChecksCurlStatuses(t *testing.T) {
	s := newSession(t, server(t))
	out, err := s.Run(t.Context(), block("curl -s localhost:8080/ok\n"))
	if err != nil || out != "fine\n" {
		t.Fatalf("a 200: %q, %v", out, err)
	}
	if _, err := s.Run(t.Context(), block("curl -s localhost:8080/locked\n")); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a 401 by default: %v", err)
	}
	b := block("curl -s localhost:8080/locked\n")
	b.Status = 401
	if _, err := s.Run(t.Context(), b); err != nil {
		t.Errorf("a 401 expected: %v", err)
	}
	b = block("curl -s localhost:8080/ok\n")
	b.Status = 401
	if _, err := s.Run(t.Context(), b); err == nil {
		t.Error("a 200 where a 401 is expected passed")
	}
	// The example's own --write-out is kept.
	out, err = s.Run(t.Context(), block("curl -s -o /dev/null -w '%{http_code}\\n' localhost:8080/ok\n"))
	if err != nil || out != "200\n" {
		t.Errorf("--write-out: %q, %v", out, err)
	}
}

func TestRunChecksExitAndOutput(t *testing.T) {
	s := newSession(t, server(t))
	if _, err := s.Run(t.Context(), block("false\necho after\n")); err == nil {
		t.Error("a failing command passed")
	}
	b := block("echo hello\n")
	b.Contains = []string{"hello", "bye"}
	if _, err := s.Run(t.Context(), b); err == nil || !strings.Contains(err.Error(), `"bye"`) {
		t.Errorf("missing output: %v", err)
	}
	out, err := s.Run(t.Context(), block("echo 'listen: address in use' > server.log\nexit 3\n"))
	if err == nil || !strings.Contains(out, "server.log") || !strings.Contains(out, "address in use") {
		t.Errorf("a failed block's report lacks the log its server wrote: %v\n%s", err, out)
	}
	b = block("sleep 5\n")
	b.Timeout = 200 * time.Millisecond
	if _, err := s.Run(t.Context(), b); err == nil {
		t.Error("a block past its timeout passed")
	}
}

func TestRunCarriesState(t *testing.T) {
	s := newSession(t, server(t))
	if _, err := s.Run(t.Context(), block("export GREETING=hello\nmkdir sub && cd sub\nLOCAL=1\n")); err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(t.Context(), block("echo \"$GREETING ${LOCAL:-unset} $(basename \"$PWD\")\"\n"))
	if err != nil || out != "hello unset sub\n" {
		t.Errorf("got %q, %v; want exports and the directory carried, not shell variables", out, err)
	}
}

func TestRunStream(t *testing.T) {
	s := newSession(t, server(t))
	b := block("curl -sN localhost:8080/stream\n")
	b.Stream = 300 * time.Millisecond
	b.Contains = []string{"data: 1"}
	if out, err := s.Run(t.Context(), b); err != nil {
		t.Errorf("stream: %q, %v", out, err)
	}
	b.Stream = 0
	b.Timeout = 300 * time.Millisecond
	if _, err := s.Run(t.Context(), b); err == nil || !strings.Contains(err.Error(), "stream") {
		t.Errorf("a stream without its directive: %v", err)
	}
}

func TestRewriteAndCloseKillBackgroundJobs(t *testing.T) {
	s := newSession(t, server(t))
	code, err := s.Rewrite("gateway --listen :8081 --upstream ws://127.0.0.1:7771 &\ncurl localhost:8081/x :8081 :8082 :8080\n")
	if err != nil {
		t.Fatal(err)
	}
	// gateway --listen :A --upstream ws://127.0.0.1:B & curl localhost:A/x :A :C :8080
	f := strings.Fields(code)
	a, b, c := f[2], strings.TrimPrefix(f[4], "ws://127.0.0.1"), f[9]
	if a == ":8081" || b == ":7771" || c == ":8082" || a == b || a == c || f[7] != "localhost"+a+"/x" || f[8] != a || f[10] != ":8080" {
		t.Errorf("rewritten: %q", code)
	}
	out, err := s.Run(t.Context(), block("sleep 300 &\necho $!\n"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the background job is gone before Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the background job outlived Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProgramsNeedThePathLine: the built programs are in the scratch
// directory's bin/, on PATH only once the document's PATH line ran; before,
// a stand-in fails saying so, whatever the environment's PATH holds.
func TestProgramsNeedThePathLine(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "gateway-built")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho built gateway \"$@\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(Config{Dir: t.TempDir(), Env: os.Environ(), Programs: map[string]string{"gateway": fake}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	out, err := s.Run(t.Context(), block("gateway --version\n"))
	if err == nil || !strings.Contains(out, PathLine) {
		t.Errorf("before the PATH line: %q, %v; want a failure naming the line", out, err)
	}
	if _, err := s.Run(t.Context(), block(PathLine+"\n")); err != nil {
		t.Fatal(err)
	}
	out, err = s.Run(t.Context(), block("gateway --version\n"))
	if err != nil || out != "built gateway --version\n" {
		t.Errorf("after the PATH line: %q, %v", out, err)
	}
	// The curl of the session is still the one that checks statuses.
	if out, err := s.Run(t.Context(), block("command -v curl\n")); err != nil || !strings.Contains(out, "doctest-") {
		t.Errorf("curl after the PATH line: %q, %v", out, err)
	}
	// A stand-in of a program the test did not build fails too.
	if _, err := s.Run(t.Context(), block("loadtest -h\n")); err == nil {
		t.Error("loadtest ran, not built")
	}
}
