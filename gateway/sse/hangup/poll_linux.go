package hangup

import (
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// epoller waits for hang-ups on an epoll instance of its own. An event's
// data is the watch's id, not the descriptor: a descriptor closed and
// reused by another connection never reaches the old watch.
type epoller struct {
	epfd, wakefd int

	mu      sync.Mutex // guards watches, next, closed
	watches map[uint64]func()
	next    uint64
	closed  bool // the descriptors are closed
}

// hangupEvents are what ends a watch: the peer's FIN (EPOLLRDHUP), a reset
// or error (EPOLLHUP and EPOLLERR, always reported), or data (EPOLLIN),
// which an event stream's client never sends. Edge-triggered: each is told
// once.
const hangupEvents = unix.EPOLLRDHUP | unix.EPOLLIN | unix.EPOLLET

// wakeID is the data of the eventfd Close writes to.
const wakeID = 0

func newPoller() (poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, err
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &unix.EpollEvent{Events: unix.EPOLLIN}); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(wakefd)
		return nil, err
	}
	return &epoller{epfd: epfd, wakefd: wakefd, watches: map[uint64]func(){}, next: wakeID + 1}, nil
}

func (p *epoller) add(c net.Conn, onHangup func()) (stop func(), ok bool) {
	sc, isSys := c.(syscall.Conn)
	if !isSys {
		return nil, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false
	}
	id := p.next
	p.next++
	p.watches[id] = onHangup
	var added bool
	err = raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: hangupEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))} //nolint:gosec // G115: the id's bits, split across the event's 8 bytes of data
		added = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev) == nil
	})
	if err != nil || !added {
		delete(p.watches, id)
		p.mu.Unlock()
		return nil, false
	}
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			delete(p.watches, id)
			if p.closed {
				return
			}
			// While the connection is open (stop comes before its
			// close), its descriptor is this one.
			_ = raw.Control(func(fd uintptr) {
				_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
			})
		})
	}, true
}

func (p *epoller) remove(id uint64) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.watches[id]
	delete(p.watches, id)
	return f
}

func (p *epoller) run() {
	var events [128]unix.EpollEvent
	for {
		n, err := unix.EpollWait(p.epfd, events[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32 //nolint:gosec // G115: the id's bits back from the event's data
			if id == wakeID {
				p.mu.Lock()
				p.closed = true
				_ = unix.Close(p.epfd)
				_ = unix.Close(p.wakefd)
				p.mu.Unlock()
				return
			}
			if f := p.remove(id); f != nil {
				f()
			}
		}
	}
}

func (p *epoller) close() error {
	var one [8]byte
	one[0] = 1
	_, err := unix.Write(p.wakefd, one[:])
	return err
}

func (p *epoller) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.watches)
}
