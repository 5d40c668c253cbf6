package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestCommandLine runs the built binary as a user does: --help and
// --version print to standard output and exit 0; a bad flag prints one
// line to standard error, not the usage, and exits 2.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	bin := gatewayBinary(t)
	run := func(args ...string) (stdout, stderr string, code int) {
		var out, errb bytes.Buffer
		// Bounded: a gateway that starts instead of refusing would
		// serve until killed.
		ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = gatewayEnv()
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("%v: %v", args, err)
		}
		return out.String(), errb.String(), code
	}
	if out, errs, code := run("--help"); code != 0 || !strings.Contains(out, "Usage: gateway") || !strings.Contains(out, "-upstream") || errs != "" {
		t.Errorf("--help: exit %d, stdout %.100q, stderr %.100q", code, out, errs)
	}
	if out, errs, code := run("--version"); code != 0 || !strings.HasPrefix(out, "gateway ") || strings.Count(out, "\n") != 1 || errs != "" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	out, errs, code := run("--max-body-bytes", "abc")
	if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || strings.Contains(errs, "Usage") || !strings.Contains(errs, "-max-body-bytes") {
		t.Errorf("bad flag: exit %d, stdout %q, stderr %q: want exit 2 and one line on stderr", code, out, errs)
	}
	// No upstream and no --simulated-node: no made-up chain by accident.
	// It does not start, and says how to choose.
	out, errs, code = run("--listen", "127.0.0.1:0")
	if code != 1 || out != "" || !strings.Contains(errs, "--upstream") || !strings.Contains(errs, "--simulated-node") {
		t.Errorf("no upstream: exit %d, stdout %q, stderr %q: want exit 1 naming --upstream and --simulated-node", code, out, errs)
	}
}
