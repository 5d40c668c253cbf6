// Package nulstarhttp serves the Nulstar Connector's HTTP endpoint (port
// 8089): a script posts a raw protocol Request message and gets the raw
// Response message back. The gateway serves it at POST /nulstar, and at
// POST / of a listener of its own (cmd/gateway --nulstar-listen), so that
// such scripts work unchanged and in parallel (the Connector's endpoint
// fails under two concurrent connections). It calls public methods only,
// whatever the credential: it is a door for scripts, not for
// administration. The caller's authentication, body limits and rate limit
// are the gateway's (Backend), those of /rpc.
//
// Answers follow the Connector's (docs/protocol.md#nulstar): every
// failure is a Response at HTTP 200, with the Connector's statuses: 2
// method not found (for a method the caller may not call, too), 5 timeout
// or unavailable, 7 a body that is not a JSON Request message; a module's
// own failure keeps its status, code and comment.
//
// # Concurrency
//
// An Endpoint is immutable once built and safe for concurrent use; each
// request runs on its handler's goroutine. Its only shared state is the
// counter that numbers the Response messages (atomic). It holds no lock.
package nulstarhttp
