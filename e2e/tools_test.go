package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// toolTimeout bounds one tool run (a build, npm ci, a generator): npm ci of
// the SDK's 488 packages takes about 45 s with a cold cache.
const toolTimeout = 3 * time.Minute

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

// npmProjects are the npm projects of testdata installed for this run.
var (
	npmMu       sync.Mutex
	npmProjects = map[string]*build{}
)

// npmProject installs the npm project testdata/<name> (npm ci, from its
// lock file) into binDir once per run, on first use, and returns its
// directory, with node's path to run its scripts. The tests that use it
// only read it.
func npmProject(t *testing.T, name string) (dir, node string) {
	t.Helper()
	node = needTool(t, "node", "install Node.js 18 or later")
	npm := needTool(t, "npm", "install npm with Node.js")
	npmMu.Lock()
	p, ok := npmProjects[name]
	if !ok {
		p = &build{}
		npmProjects[name] = p
	}
	npmMu.Unlock()
	p.once.Do(func() {
		dir := filepath.Join(binDir, "npm-"+name)
		src := filepath.Join("testdata", name)
		entries, err := os.ReadDir(src)
		if err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			p.err = err
			return
		}
		for _, e := range entries {
			if !e.IsDir() {
				copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dir, e.Name()))
			}
		}
		runTool(t, dir, nil, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		p.path = dir
	})
	if p.err != nil {
		t.Fatal(p.err)
	}
	if p.path == "" {
		t.Fatalf("npm project %s was not installed (an earlier test failed installing it)", name)
	}
	return p.path, node
}
