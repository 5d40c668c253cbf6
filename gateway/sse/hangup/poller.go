package hangup

import "net"

// poller is a system's way to wait for many connections' hang-ups at once.
type poller interface {
	// add watches c; ok is false when c cannot be (not a socket).
	add(c net.Conn, onHangup func()) (stop func(), ok bool)
	// run waits for hang-ups until close.
	run()
	close() error
	len() int
}
