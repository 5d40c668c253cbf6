package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerfile(t *testing.T) {
	good := readFile(t, "../Dockerfile")
	check := func(src string) error {
		path := filepath.Join(t.TempDir(), "Dockerfile")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return errors.Join(checkDockerfile(path, "../..")...)
	}
	if err := check(good); err != nil {
		t.Fatalf("Dockerfile fails: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"root", "USER 65532:65532", "USER root", `USER "root"`},
		{"no user", "USER 65532:65532\n", "", `USER ""`},
		{"named user", "USER 65532:65532", "USER nonroot:nonroot", "numeric non-root"},
		{"fat base", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:bookworm-slim", "final stage FROM debian:bookworm-slim"},
		{"paths", "-trimpath ", "", "without -trimpath"},
		{"cgo", "CGO_ENABLED=0 ", "", "without CGO_ENABLED=0"},
		{"old go", "ARG GO_VERSION=1.26", "ARG GO_VERSION=1.25", "older than go.mod"},
		{"shell entrypoint", `ENTRYPOINT ["/gateway"]`, "ENTRYPOINT /gateway", "shell form"},
		{"other entrypoint", `ENTRYPOINT ["/gateway"]`, `ENTRYPOINT ["/devnode"]`, "want [\"/gateway\"]"},
		{"no probe", "/out/gateway /out/devnode /out/probe /", "/out/gateway /out/devnode /", "HEALTHCHECK runs /probe"},
		{"no port", "EXPOSE 8080", "EXPOSE 9090", "does not EXPOSE 8080"},
		{"lint", " AS build", " as build", "FromAsCasing"},
		{"parse", `	CMD ["/probe", "http://127.0.0.1:8080/healthz"]`, "", "HEALTHCHECK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("Dockerfile has no %q", tc.old)
			}
			err := check(strings.Replace(good, tc.old, tc.new, 1))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestDockerignore(t *testing.T) {
	ignore := filepath.Join(t.TempDir(), ".dockerignore")
	pkgs := []string{"./cmd/gateway", "./deployments/probe"}
	for _, tc := range []struct{ patterns, want string }{
		{readFile(t, "../../.dockerignore"), ""},
		{"openapi/*.json\n", "excludes openapi/swagger.json"},
		{"deployments\n", "excludes deployments/probe/main.go"},
		{"*.sum\n", "excludes go.sum"},
		{"**/*.lua\n", "excludes subscriptions/lua/"},
	} {
		if err := os.WriteFile(ignore, []byte(tc.patterns), 0o644); err != nil {
			t.Fatal(err)
		}
		err := errors.Join(checkDockerignore("../..", ignore, pkgs)...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.patterns, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want an error with %q", tc.patterns, err, tc.want)
		}
	}
}
