// Package edge is the gateway's HTTP edge: what every request meets before
// a route does, and what keeps a stranger from holding the gateway.
//
//   - Track gives each request its State: its ID (the client's
//     X-Request-Id, or this process's), its caller once authenticated, the
//     status written, and whether its body was read; a refusal written
//     before the body was read closes the connection, so that a body never
//     sent cannot hold it.
//   - StrictFraming refuses a request head that frames its body two ways
//     (Transfer-Encoding and Content-Length: request smuggling).
//   - Guard: the cross-origin guard (CrossOrigin), CORS for the allowed
//     origins, the bounds of a body (size, media type, deadline:
//     LimitBody), and the client's address behind trusted proxies
//     (ClientIP). What it refuses it hands to GuardConfig.Refuse, the
//     gateway's one error writer.
//   - WriteJSON and WriteRaw: how every route answers JSON.
//
// # Concurrency
//
// A State is written by its request's handler goroutine only, before
// anything else reads it. A Guard is immutable once built; its middleware
// is safe for concurrent use.
package edge
