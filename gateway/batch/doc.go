// Package batch reads and runs the requests of one JSON-RPC body, for the
// gateway's JSON-RPC fronts (POST /jsonrpc and the nuls-api profile): Read
// parses a body of at most MaxRequests requests, Run runs them a few at a
// time, and a Budget bounds the bytes of their answers together, so that a
// batch of large answers cannot make the gateway hold without bound: each
// answer spends it, and once it is spent the batch's remaining requests are
// refused without being run (ErrAnswersTooLarge).
//
// # Concurrency
//
// Read and Run keep no state; Run returns once every request is done. A
// Budget is safe for concurrent use by the requests of its batch (an
// atomic count, no lock); a nil *Budget bounds nothing.
package batch
