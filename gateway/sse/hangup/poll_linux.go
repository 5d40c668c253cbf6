package hangup

import (
	"sync"

	"golang.org/x/sys/unix"
)

// epoller waits for hang-ups on an epoll instance of its own. An event's
// data is the watch's id, not the descriptor: a descriptor closed and
// reused by another connection never reaches the old watch.
type epoller struct {
	epfd, wakefd int

	mu      sync.Mutex // guards watches, next, closed
	watches map[uint64]Handler
	next    uint64
	closed  bool // the descriptors are closed
}

// hangupEvents are what ends a watch: the peer's FIN (EPOLLRDHUP), a reset
// or error (EPOLLHUP and EPOLLERR, always reported), or data (EPOLLIN),
// which an event stream's client never sends. Edge-triggered: each is told
// once.
const hangupEvents = unix.EPOLLRDHUP | unix.EPOLLIN | unix.EPOLLET

// hungUp are the events that end a watch. An event reports every state of
// the socket asked for, so a hang-up comes with EPOLLOUT too.
const hungUp = unix.EPOLLRDHUP | unix.EPOLLIN | unix.EPOLLHUP | unix.EPOLLERR

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
	return &epoller{epfd: epfd, wakefd: wakefd, watches: map[uint64]Handler{}, next: wakeID + 1}, nil
}

func (p *epoller) add(fd int, h Handler, writable bool) (id uint64, ok bool) {
	events := uint32(hangupEvents)
	if writable {
		events |= unix.EPOLLOUT
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, false
	}
	id = p.next
	p.next++
	ev := unix.EpollEvent{Events: events, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))} //nolint:gosec // G115: the id's bits, split across the event's 8 bytes of data
	if unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev) != nil {
		return 0, false
	}
	p.watches[id] = h
	return id, true
}

func (p *epoller) del(id uint64, fd int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.watches, id)
	if !p.closed {
		// While the socket is open (del comes before its close), its
		// descriptor is this one.
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	}
}

// remove ends the watch id and returns its handler; nil when it ended
// already.
func (p *epoller) remove(id uint64) Handler {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.watches[id]
	delete(p.watches, id)
	return h
}

// lookup returns the handler of the watch id; nil when it ended.
func (p *epoller) lookup(id uint64) Handler {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.watches[id]
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
			switch {
			case ev.Events&hungUp != 0:
				if h := p.remove(id); h != nil {
					h.Hangup()
				}
			case ev.Events&unix.EPOLLOUT != 0:
				if h := p.lookup(id); h != nil {
					h.Writable()
				}
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
