package hangup

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recorder is a Handler that counts what it is told.
type recorder struct {
	hangups, writables atomic.Int32
	hung, writable     chan struct{}
}

func newRecorder() *recorder {
	return &recorder{hung: make(chan struct{}, 4), writable: make(chan struct{}, 64)}
}

func (r *recorder) Hangup() {
	r.hangups.Add(1)
	r.hung <- struct{}{}
}

func (r *recorder) Writable() {
	r.writables.Add(1)
	select {
	case r.writable <- struct{}{}:
	default:
	}
}

// ownSocket returns a non-blocking descriptor of c's socket of the test's
// own, closed at the end, as the pump takes one over.
func ownSocket(t *testing.T, c net.Conn) int {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	var derr error
	if err := raw.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil || derr != nil {
		t.Fatal(err, derr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}

// TestWatchSocket: a socket written without blocking is told when it has
// room again after a write it did not take whole, and when its client
// hangs up, once; after Unwatch, of nothing.
func TestWatchSocket(t *testing.T) {
	ln := listen(t)
	w := newWatcher(t)
	server, client := pair(t, ln)
	fd := ownSocket(t, server)
	rec := newRecorder()
	id, err := w.WatchSocket(fd, rec)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the socket until it takes no more.
	chunk := make([]byte, 64<<10)
	sent := 0
	for {
		n, err := unix.Write(fd, chunk)
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	// Drain what was told so far (the watch's start may report the
	// socket writable once).
	time.Sleep(20 * time.Millisecond)
	for len(rec.writable) > 0 {
		<-rec.writable
	}
	if _, err := io.ReadFull(client, make([]byte, sent)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.writable:
	case <-time.After(5 * time.Second):
		t.Fatal("not told that the socket has room again")
	}
	if n := rec.hangups.Load(); n != 0 {
		t.Fatalf("told of %d hang-ups before the client hung up", n)
	}
	_ = client.Close()
	select {
	case <-rec.hung:
	case <-time.After(5 * time.Second):
		t.Fatal("not told of the hang-up")
	}
	w.Unwatch(id, fd)
	time.Sleep(20 * time.Millisecond)
	if n := rec.hangups.Load(); n != 1 {
		t.Errorf("told of %d hang-ups, want 1", n)
	}
	if n := w.Watching(); n != 0 {
		t.Errorf("%d watches left", n)
	}
}

// TestUnwatchSocket: a socket no longer watched is told nothing when its
// client hangs up.
func TestUnwatchSocket(t *testing.T) {
	ln := listen(t)
	w := newWatcher(t)
	server, client := pair(t, ln)
	fd := ownSocket(t, server)
	rec := newRecorder()
	id, err := w.WatchSocket(fd, rec)
	if err != nil {
		t.Fatal(err)
	}
	w.Unwatch(id, fd)
	_ = client.Close()
	time.Sleep(50 * time.Millisecond)
	if n := rec.hangups.Load(); n != 0 {
		t.Errorf("told of %d hang-ups after Unwatch", n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WatchSocket(fd, rec); !errors.Is(err, ErrClosed) {
		t.Errorf("WatchSocket after Close: %v", err)
	}
}
