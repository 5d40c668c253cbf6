package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// toolTimeout bounds one tool run (a build, npm ci, a generator).
const toolTimeout = 60 * time.Second

// needTool returns the path of a tool the test cannot do without. When it is
// missing the test skips, loudly; with E2E_REQUIRE_TOOLS=1 (CI) it fails.
func needTool(t *testing.T, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	missing(t, "%s not found (%v): %s", name, err, hint)
	return ""
}

// missing skips the test loudly, or fails it when E2E_REQUIRE_TOOLS=1.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("E2E_REQUIRE_TOOLS") == "1" {
		t.Fatalf("E2E_REQUIRE_TOOLS=1 and "+format, args...)
	}
	t.Skipf("!!! SKIPPED: "+format, args...)
}

// runTool runs a command to completion in dir, with env added to the
// environment, and returns its standard output; it fails the test with the
// command's output when it fails or takes longer than toolTimeout.
func runTool(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	ownGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %v", name, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
