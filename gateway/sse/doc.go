// Package sse writes Server-Sent Events (WHATWG HTML, "Server-sent
// events"): a Writer for a stream its handler serves, and the Pump, which
// serves the HTTP/1.1 streams taken over from net/http.
//
// A stream served by a handler goroutine costs that goroutine's stack and
// net/http's buffers for the connection: about 30 KiB, which 10,000 streams
// multiply. So once its headers are decided, an HTTP/1.1 stream is
// detached: the connection is taken over (Hijack), the handler returns, and
// the Pump writes the stream's events. The Pump takes a descriptor of the
// socket of its own and closes the connection, which frees Go's poller
// entry and net/http's structures for it, and writes the socket with
// non-blocking system calls: what the socket does not take waits in the
// stream's backlog, written first (writev) when package hangup's one
// goroutine says the socket has room again; a client that takes nothing
// for Config.WriteTimeout is dropped, and one that has not taken its last
// events gets no more until it has (they wait, shared, in the topic's
// log, until it falls out of it). The Pump runs one goroutine per topic,
// which writes a topic's new events, rendered once, to all its streams,
// in parallel chunks. No goroutine waits for the client to go away: the
// same hangup goroutine is told by the kernel (epoll) when any detached
// stream's client hangs up, and that stream is closed. An idle stream is
// then its socket, its member of the topic and a few words of the Pump's.
// A connection whose socket cannot be taken over (TLS) is written through
// the connection, each write within 50 ms. What the Pump needs of the
// gateway is explicit: its Config, an Observer, a Rights watcher, and the
// EndData hook that renders why a stream ended.
//
// # Concurrency
//
// A Writer is used by one goroutine. A Pump's methods are safe for
// concurrent use; Shutdown ends every stream and waits for the Pump's
// goroutines. Lock order: Pump.mu, then group.mu; a detached stream's mu,
// then the hang-up watcher's locks. A detached stream's socket, backlog and
// watch are guarded by its mu; its other fields but its closed flag and its
// lost reason are used by its group's goroutine only; close may run on the
// hang-up watcher's goroutine, or Shutdown's.
package sse
