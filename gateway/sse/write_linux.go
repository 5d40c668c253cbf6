package sse

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// writeNow writes b to the stream's socket with one write system call, no
// deadline set and no poller involved, as a fan-out round writes to every
// stream: a socket with room in its send buffer takes it all at once. What
// it does not take (a client a buffer behind) is written as before, within
// fanOutWrite, or the stream is dropped. The deadline a plain write sets
// costs a timer update per stream and event; this costs the system call.
func (d *detached) writeNow(b []byte) (int, error) {
	if !d.rawChecked {
		// Once: a net.TCPConn makes a new RawConn at every call.
		d.rawChecked = true
		if sc, ok := d.conn.(syscall.Conn); ok {
			d.raw, _ = sc.SyscallConn()
		}
	}
	raw := d.raw
	if raw == nil {
		return d.write(fanOutWrite, b)
	}
	var n int
	var werr error
	if err := raw.Write(func(fd uintptr) bool {
		n, werr = unix.Write(int(fd), b)
		return true // once: a short write finishes below
	}); err != nil {
		return 0, err
	}
	n = max(n, 0)
	switch {
	case werr == nil && n == len(b):
		return n, nil
	case werr == nil, errors.Is(werr, unix.EAGAIN), errors.Is(werr, unix.EINTR):
		m, err := d.write(fanOutWrite, b[n:])
		return n + m, err
	default:
		return n, werr
	}
}
