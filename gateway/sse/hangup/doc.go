// Package hangup tells when the client of a connection the server only
// writes to (a Server-Sent Events stream taken over from net/http) hangs
// up, without a goroutine per connection; and, for a socket its owner
// writes without blocking, when it has room again.
//
// On Linux one goroutine waits on an epoll instance of its own for the
// sockets' hang-ups (EPOLLRDHUP, EPOLLHUP, EPOLLERR), and for anything
// they send, which an event stream's client never does after its request:
// both end the watch, as a read of the connection would. WatchSocket's
// sockets, which their owner took out of Go's poller and writes with
// non-blocking system calls, are watched for EPOLLOUT too, edge-triggered:
// the kernel reports it once a write found the send buffer full and the
// client has since taken some. Watch's connections stay in Go's poller for
// their writes; an epoll instance's interest list is its own, so the two
// do not meet. Without a poller (elsewhere than Linux), Watch falls back to
// a goroutine blocked in a read of one byte, and WatchSocket fails.
//
// Concurrency: a Watcher's methods are safe for concurrent use. A watch's
// Hangup is called at most once, and its Writable any number of times,
// from the Watcher's goroutine (Watch's fallback: from its own), and not
// once Unwatch or stop has returned unless the call was already under way:
// they must be safe to run alongside the owner's own close, and must not
// block. Close stops the goroutine and waits for it. Lock order: a caller's
// locks, then Watcher.mu, then the poller's.
package hangup
