// Package hangup tells when the client of a connection the server only
// writes to (a Server-Sent Events stream taken over from net/http) hangs
// up, without a goroutine per connection.
//
// On Linux one goroutine waits on an epoll instance of its own for the
// connections' hang-ups (EPOLLRDHUP, EPOLLHUP, EPOLLERR), and for anything
// they send, which an event stream's client never does after its request:
// both end the stream, as a read of the connection would. Go's own poller
// keeps the same sockets in its epoll instance for the writes; an epoll
// instance's interest list is its own, so the two do not meet. Elsewhere,
// Watch falls back to a goroutine blocked in a read of one byte.
//
// Concurrency: a Watcher's methods are safe for concurrent use. A
// connection's onHangup is called at most once, from the Watcher's
// goroutine (or the fallback's), and not once its stop has returned unless
// the call was already under way: it must be safe to run alongside the
// owner's own close, and must not block. Close stops the goroutine and waits
// for it.
package hangup
