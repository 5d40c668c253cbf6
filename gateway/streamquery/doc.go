// Package streamquery reads what a stream asks for in its query string
// (GET /rpc/{method}/stream, and the JSON-RPC socket's subscribe, which
// builds the same query): the subscription mode (eventCounter, period,
// range) and the method's parameters, typed by the method's declaration.
// It checks the form only; whether the caller may stream the method, and
// what the policy lets the gateway poll, are the gateway's.
//
// Every error it returns is an *Error: the request is malformed (400).
//
// # Concurrency
//
// Its functions keep no state and are safe for concurrent use.
package streamquery
