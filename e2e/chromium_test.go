package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// chromiumFlags run Chromium headless as root on a machine without a
// display or network: without the background-networking flags it keeps
// trying to reach Google's services.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-extensions", "--disable-default-apps", "--no-default-browser-check", "--mute-audio",
}

// findChromium returns the Chromium binary: E2E_CHROMIUM, else chromium or
// chromium-browser on PATH. When there is none the test skips loudly
// (scripts/ensure-chromium.sh installs Debian's).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("E2E_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			missing(t, "E2E_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "no chromium on PATH: run scripts/ensure-chromium.sh (apt-get install chromium) or set E2E_CHROMIUM")
	return ""
}

// startChromium opens url in a headless Chromium with a new profile. The
// browser and every process it started are killed in t.Cleanup.
func startChromium(t *testing.T, bin, url string) {
	t.Helper()
	// Created before the browser starts, so removed after it is killed.
	// The browser writes only there: its profile, and its HOME and TMPDIR
	// (dconf, NSS database, shared memory files).
	home := t.TempDir()
	profile := filepath.Join(home, "profile")
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+profile, url)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "TMPDIR="+home, "XDG_CONFIG_HOME=", "XDG_CACHE_HOME=")
	logs := &procLog{}
	cmd.Stdout, cmd.Stderr = logs, logs
	// Renderer processes inherit the output pipes: do not wait for them
	// past the group kill.
	cmd.WaitDelay = 2 * time.Second
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = killGroup(cmd)
		<-exited //nolint:errcheck // killed: the wait is what counts
		// The crash handlers daemonize out of the group; their command
		// lines name the profile's home.
		if pids := killStragglers(home, 3*time.Second); len(pids) > 0 {
			t.Logf("killed chromium processes %v, still running 3s after the browser", pids)
		}
		if t.Failed() {
			t.Logf("chromium output:\n%s", logs)
		}
	})
}
