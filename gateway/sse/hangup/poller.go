package hangup

// poller is a system's way to wait for many sockets at once.
type poller interface {
	// add watches the socket fd with events (hangupEvents, and
	// writableEvents when h wants to know its socket has room again); ok
	// is false when fd cannot be watched (not a socket, or closed).
	add(fd int, h Handler, writable bool) (id uint64, ok bool)
	// del ends the watch id of fd.
	del(id uint64, fd int)
	// run waits for the sockets until close.
	run()
	close() error
	len() int
}
