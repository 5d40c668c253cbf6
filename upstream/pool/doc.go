// Package pool makes several NULS nodes one upstream: a Pool implements
// upstream.Upstream over its members, each a node in its own topology, and
// sends every call to a node it has measured itself.
//
// Each member's head is polled (latestHeight, every HeadInterval): a poll
// that fails marks the node unresponsive, a head more than MaxLag blocks
// behind the best marks it lagging, and a head that has not moved for
// StallAfter while it is behind the best marks it stalled. The others are
// in rotation, best first by lag, then by latency (an EWMA of its calls and
// polls). A poll, not a subscription, because a node whose head is frozen
// keeps answering polls with the same height, which tells a stall from a
// quiet chain, and because a Nulstar Connector pushes nothing after a
// subscription's first answer.
//
// Reads go to the best node; one that fails for a reason of the node's
// (not connected, connection lost, timed out, the module's internal error)
// is retried once on the next node within the caller's deadline, and with
// HedgeAfter a second copy goes to the next node when the first is slower
// than that or the node's recent p95. The caller's own failures (bad
// parameters, an unknown method, a business failure) are never retried.
// Streams are subscribed on the best node; when it leaves rotation the
// pool ends the subscription, and the hub subscribes again (a gap event).
// With Config.Standbys > 0 (experimental, off by default: a move can
// still deliver a push twice under fast blocks), OpenStream, which
// upstream.Feeds uses, keeps a primary subscription on the best node and
// standbys on the next ones, which keep their recent pushes. When the
// primary's node leaves rotation the pool closes the primary; a standby
// that kept the last push delivered takes over and first delivers the
// pushes after it: each once, in order, so that the stream's consumer sees
// no switch, even with two nodes failing at once. A successor that is
// behind drops its pushes until it reaches the last one delivered. Only
// when none can tell is the first push after the switch marked
// Resubscribed (a gap). New standbys are opened at each poll.
//
// Writes (Config.IsWrite) go to one node, and to another only when the
// first was not connected, so the Request never left; when the Request may
// have reached a node that then failed, the answer is an error wrapping
// ErrOutcomeUnknown, which the gateway answers with 502.
//
// # Concurrency
//
// A Pool is safe for concurrent use. Run owns one polling goroutine per
// member and returns when they have stopped. Each stream owns one
// goroutine, which its Close stops. Each member's state is
// guarded by its own node.mu; Pool.mu guards the best head, taken after no
// node.mu (lock order: node.mu, never two at once, never with Pool.mu).
package pool
