// Package socket serves JSON-RPC 2.0 over a WebSocket (GET /jsonrpc): the
// calls of POST /jsonrpc, and subscriptions to the gateway's streams, as
// Ethereum's eth_subscribe does:
//
//	→ {"jsonrpc":"2.0","method":"subscribe","params":["newHeaders",{"chainId":2}],"id":1}
//	← {"jsonrpc":"2.0","result":"1","id":1}
//	← {"jsonrpc":"2.0","method":"subscription","params":{"subscription":"1","id":"<event id>","result":{…}}}
//	→ {"jsonrpc":"2.0","method":"unsubscribe","params":["1"],"id":2}
//
// An event that is not a push carries its type ("gap", "upstream-error",
// "end") beside its result. What a call does, what it costs and who may
// make it is the gateway's (Backend); the socket keeps the connection: its
// reads and their bounds, a writer that drops a client that does not read,
// the pings, the subscriptions, and the close frame of a socket whose
// credential no longer holds (Lose).
//
// # Concurrency
//
// A Socket's reader runs on the goroutine that calls Run; its writer, a
// watcher of its ends and each subscription on goroutines of their own.
// Run returns once they all have. Lose may be called from any goroutine,
// any number of times. Socket.mu guards the subscriptions; it is never held
// while calling the Backend or writing.
package socket
