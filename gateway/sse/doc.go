// Package sse writes Server-Sent Events (WHATWG HTML, "Server-sent
// events"): a Writer for a stream its handler serves, and the Pump, which
// serves the HTTP/1.1 streams taken over from net/http.
//
// A stream served by a handler goroutine costs that goroutine's stack and
// net/http's buffers for the connection: about 30 KiB, which 10,000 streams
// multiply. So once its headers are decided, an HTTP/1.1 stream is
// detached: the connection is taken over (Hijack), the handler returns, and
// the Pump writes the stream's events. It runs one goroutine per topic,
// which writes a topic's new events to all its streams, in parallel chunks,
// each write under a deadline: a client that cannot take its events is
// dropped rather than waited for. No goroutine waits for the client to go
// away: package hangup's one goroutine is told by the kernel (epoll) when
// any detached stream's client hangs up, and that stream is closed. An
// idle stream is then its connection, its member of the topic and a few
// words of the Pump's. What the Pump needs of the gateway is
// explicit: its Config, an Observer, a Rights watcher, and the EndData hook
// that renders why a stream ended.
//
// # Concurrency
//
// A Writer is used by one goroutine. A Pump's methods are safe for
// concurrent use; Shutdown ends every stream and waits for the Pump's
// goroutines. Lock order: Pump.mu, then group.mu; a detached stream's
// hangMu is taken alone. A detached stream's fields but its closed flag, its
// lost reason and its hang-up watch are used by its group's goroutine only;
// close may run on the hang-up watcher's goroutine.
package sse
