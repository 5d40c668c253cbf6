//go:build !linux

package main

import "os/exec"

// setProcAttr does nothing: only Linux has a parent-death signal.
func setProcAttr(*exec.Cmd) {}
