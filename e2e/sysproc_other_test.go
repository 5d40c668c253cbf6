//go:build !linux

package e2e

import (
	"os/exec"
	"time"
)

// ownGroup is a no-op where process groups and Pdeathsig are not available.
func ownGroup(*exec.Cmd) {}

// killGroup kills cmd only: its children are not tracked on this system.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}

// killStragglers finds nothing: processes are not listed on this system.
func killStragglers(string, time.Duration) []int { return nil }
