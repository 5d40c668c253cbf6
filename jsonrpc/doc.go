// Package jsonrpc is the JSON-RPC 2.0 wire format (https://www.jsonrpc.org/specification):
// it reads a request body, a single request or a batch, into Requests, and
// writes the Responses. It knows nothing of NULS or HTTP; package gateway
// serves it at POST /jsonrpc.
//
// What the specification leaves open is decided here as follows. A member
// "id" that is absent makes a notification; "id": null is a request whose
// answer has the id null. An id must be a string, a number or null; any
// other makes an Invalid Request. Params, when present, must be an object
// or an array. Duplicate ids in a batch are answered each on its own.
//
// # Concurrency
//
// Parse and the encoding functions hold no state and are safe for
// concurrent use. A Request or Response belongs to its caller.
package jsonrpc
