package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer ok.Close()
	unready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer unready.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := ln.Addr().String()
	// A port that was free a moment ago: nothing listens there.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	shut := closed.Addr().String()
	closed.Close()
	defer ln.Close()

	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{ok.URL + "/readyz"}, 0},
		{[]string{unready.URL + "/readyz"}, 1},
		{[]string{"tcp://" + open}, 0},
		{[]string{"-timeout", "1s", "tcp://" + shut}, 1},
		{[]string{"-timeout", "1s", "http://" + shut + "/healthz"}, 1},
		{[]string{"ftp://example.invalid/"}, 1},
		{[]string{}, 2},
		{[]string{"a", "b"}, 2},
		{[]string{"-bogus", ok.URL}, 2},
	} {
		var stderr strings.Builder
		if got := run(tc.args, &stderr); got != tc.want {
			t.Errorf("run(%q) = %d, want %d (stderr %q)", tc.args, got, tc.want, stderr.String())
		}
	}
}
