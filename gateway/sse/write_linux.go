package sse

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// dupSocket returns a descriptor of conn's socket of the caller's own: a
// duplicate, non-blocking and close-on-exec. Closing conn then leaves the
// socket open.
func dupSocket(conn net.Conn) (int, bool) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, false
	}
	fd, derr := -1, error(nil)
	if err := raw.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil || derr != nil {
		return -1, false
	}
	// Go's sockets are non-blocking already, and a duplicate shares the
	// flag; a write of the pump must never block, so make sure.
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, false
	}
	return fd, true
}

// sendFD writes what is pending and b to the stream's socket with one
// system call (write, or writev with a backlog) that never blocks; what
// the socket does not take is kept (keep) for when it has room again, as
// the pump's hang-up watcher tells (Writable). The caller holds d.mu.
func (d *detached) sendFD(b []byte) error {
	var n int
	var err error
	switch {
	case len(d.pending) == 0 && len(b) == 0:
		return nil
	case len(d.pending) == 0:
		n, err = unix.Write(d.fd, b)
	default:
		n, err = unix.Writev(d.fd, [][]byte{d.pending, b})
	}
	if err != nil && !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
		return err
	}
	n = max(n, 0)
	if n == len(d.pending)+len(b) {
		d.pending = nil
		return nil
	}
	d.keep(n, b)
	return nil
}

func closeFD(fd int) { _ = unix.Close(fd) }
