package main

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel end the child if the load test dies without
// stopping it, so that no gateway outlives a crashed run.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
