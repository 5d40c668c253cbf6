// Package streams serves the gateway's Server-Sent Event streams: a
// method's subscription (GET /rpc/{method}/stream) and the Manager's
// notifications (GET /notifications). A stream reads what it asks for
// (Key: the method, its parameters and subscription mode, checked against
// the caller's access and the policy), takes one of the caller's stream
// slots, joins its topic in the subscriptions hub, and is then handed to
// the sse.Pump, or, when the pump cannot take it (HTTP/2,
// Config.HandlerStreams), served by its handler goroutine until the client
// leaves, the credential no longer holds, the topic ends or the server
// shuts down.
//
// A stream of heights (newHeaders, latestHeight) can start from a height:
// with fromHeight, or with a Last-Event-ID carrying the client's last
// height that the topic's log no longer holds. It is sent the headers
// fetched from the node first (the backfill), charged to the caller's rate
// plan, then the live events.
//
// What the streams need of the gateway is explicit: its Gateway (the
// caller, its access, its rate plan and stream slots), the Hub, the
// Upstream the headers are fetched from, the Pump, the Rights watcher,
// the Metrics, and the EndData hook that renders why a stream ended. The
// routes stay the gateway's; errors reach HTTP there, an *Error as 400.
//
// # Concurrency
//
// A Server's methods are safe for concurrent use; each stream is served on
// its request's goroutine, and its state is used by that goroutine only. A
// stream's rights watch may end it from the watcher's goroutine: the
// reason is set before the stream is told. Server.backfills bounds the
// streams fetching and holding headers at once (MaxConcurrentBackfills): a
// turn is taken before the fetch and given back once the headers are
// written or the stream ends. The package holds no lock of its own, so it
// has no lock order.
package streams
