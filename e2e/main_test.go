package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binDir holds the binaries built for this run; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nuls-gateway-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// builds are the binaries built for this run, by package path.
var (
	buildsMu sync.Mutex // guards builds
	builds   = map[string]*build{}
)

// build is one binary, built at most once per run.
type build struct {
	once sync.Once
	path string
	err  error
}

// gatewayBinary builds cmd/gateway once per run, on first use, so that runs
// selecting no test (-run='^$' -bench=.) build nothing.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv(envGatewayBin); bin != "" {
		return bin // built by the process that started this one
	}
	return binary(t, "./cmd/gateway")
}

// envGatewayBin names a gateway binary already built (the real-peer tests
// run a copy of the test binary inside a network namespace).
const envGatewayBin = "E2E_GATEWAY_BIN"

// devnodeBinary builds cmd/devnode, the simulated NULS node, once per run.
func devnodeBinary(t *testing.T) string {
	t.Helper()
	return binary(t, "./cmd/devnode")
}

// binary builds the main package pkg (relative to the module root) into
// binDir once per run, on first use, and returns the binary's path.
func binary(t *testing.T, pkg string) string {
	t.Helper()
	buildsMu.Lock()
	b, ok := builds[pkg]
	if !ok {
		b = &build{}
		builds[pkg] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() {
		start := time.Now()
		root, err := moduleRoot()
		if err != nil {
			b.err = err
			return
		}
		path := filepath.Join(binDir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-o", path, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
			return
		}
		b.path = path
		t.Logf("built %s in %v", pkg, time.Since(start).Round(time.Millisecond))
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not in a module")
	}
	return filepath.Dir(gomod), nil
}
