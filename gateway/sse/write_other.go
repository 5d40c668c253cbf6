//go:build !linux

package sse

// writeNow writes b within fanOutWrite (see write_linux.go).
func (d *detached) writeNow(b []byte) (int, error) { return d.write(fanOutWrite, b) }
