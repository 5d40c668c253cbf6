package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 2, ""},
		{[]string{"helm"}, 2, ""},
		{[]string{"k8s"}, 2, ""},
		{[]string{"k8s", "-gateway-config", "../../cmd/gateway/config.go", "testdata/release.yaml"}, 0, "ok  testdata/release.yaml"},
		{[]string{"k8s", "-gateway-config", "main.go", "testdata/release.yaml"}, 1, ""},
		{[]string{"k8s", "-gateway-config", "../../cmd/gateway/config.go", "testdata/missing.yaml"}, 1, ""},
		{[]string{"compose", "-gateway-config", "../../cmd/gateway/config.go", "../docker-compose.yml"}, 0, "ok  ../docker-compose.yml"},
		{[]string{"dockerfile", "-root", "../..", "../Dockerfile"}, 0, "ok  ../Dockerfile"},
	} {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stdout.String(), tc.out) {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want %d with %q", tc.args, code, stdout.String(), stderr.String(), tc.code, tc.out)
		}
	}
}
