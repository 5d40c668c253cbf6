// Package rpcerrors holds the gateway's own JSON-RPC error codes, in the
// range the specification leaves to servers (-32000 to -32099), and the
// data those errors carry. POST /jsonrpc, the JSON-RPC socket and the
// nuls-api profile's strict mode answer with them, so that a client reads
// one failure the same way on each.
//
// # Concurrency
//
// The package has constants and a plain type; it holds no state.
package rpcerrors
