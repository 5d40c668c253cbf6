// Package calls answers the gateway's calls at once or later, and once per
// key: the HTTP side of POST /rpc's asynchronous answers (RFC 7240
// respond-async, GET /requests/{id}) and Idempotency-Keys (the IETF
// Idempotency-Key draft), over the shared store of package state.
//
// A Keeper records every call while it runs (method, instance, deadline),
// keeps the answers of asynchronous and idempotent calls within their
// bounds (room taken before the call runs, resized to its answer, a 507
// kept in place of one too large), and replays an answer to the retries of
// its key on any instance: a retry on the instance running the call waits
// for it there; one on another instance is answered 409 at once, with
// Retry-After, and never polls the store. Only final answers bind a key
// (not a 429, 502, 503, 504 or a client gone).
//
// # Concurrency
//
// A Keeper's methods are safe for concurrent use. It owns the goroutines
// of the asynchronous calls it started, which Wait waits for; inflight's
// mutex guards its map of the keyed calls running here.
package calls
