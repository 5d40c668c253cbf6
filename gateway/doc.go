// Package gateway is the HTTP and SSE front door of a NULS 2 module network:
// plain HTTP calls become NULS Requests, subscriptions become Server-Sent
// Event streams, and an OpenAPI document describes every callable method.
//
// Every caller is a stranger until its credential says otherwise (package
// auth): the routes that call the upstream or change state authenticate it,
// and access decides what it may call, by the scope package policy gives
// each method: the strictest of the listing, the catalog and the gateway's
// rules, so that no listing opens a secret-bearing command. The module
// protocol's own commands are never callable; the kernel commands only by
// the admin scope, when the operator allows them. On the way out, an answer
// that carries a secret field reaches only the admin scope (release). Rate limits (package ratelimit),
// fair shares of the streams, body deadlines and size limits bound what one
// caller can hold; cross-site requests from origins not allowed are refused.
//
// The upstream is reached through the Upstream interface: Direct for one
// endpoint serving every method (topology T1: a Nulstar Connector, a Java
// module, the simulated node) and Managed for a Manager whose role table
// names the modules (T2). Streams read from a subscriptions hub, which shares
// one upstream subscription among the clients of the same method,
// parameters and mode.
//
// Each concern with a package of its own gets from the Server only what it
// is handed, a config struct and a narrow interface, and never imports
// package gateway; the Server keeps the routes, their documentation (the
// swag annotations) and the one mapping of errors to statuses:
//
//   - streams: the SSE streams (GET /rpc/{method}/stream, GET
//     /notifications, their start from a height), over streamGate (the
//     caller, its access, its rate plan, its stream slots);
//   - nulstarhttp: the Nulstar Connector's HTTP endpoint (POST /nulstar),
//     over nulstarGate (the checks and calls of /rpc);
//   - nulsapihttp: the nuls-api profile (POST /nuls-api/jsonrpc), over
//     nulsAPIBackend and nulsAPICaller (the caller's quota and access, the
//     call pipeline, the answers of POST /jsonrpc);
//   - batch: a JSON-RPC body read, run and its answers bounded, for POST
//     /jsonrpc and the nuls-api profile;
//   - compoundhttp: the compound methods (POST and GET /compound-methods,
//     DELETE /compound-methods/{name}) and their announcement on the
//     gateway's module, over compoundGate (the caller, its rate plan, the
//     validation of a definition, the documents, the run of a compound
//     method a module calls); their check, cost and run in the call
//     pipeline stay here;
//   - socket: the JSON-RPC WebSocket (GET /jsonrpc), over socketCaller;
//   - calls: asynchronous and idempotent calls, and their kept answers;
//   - edge: what every request meets before a route;
//   - slots: the bounds of the streams;
//   - sse: the SSE writer, and the pump that serves detached streams;
//   - documents: the documents describing the methods;
//   - metrics: the Prometheus metrics; streamquery: a stream's query string.
//
// # Concurrency
//
// A Server's handlers are safe for concurrent use. Server.Run owns its
// background work (method discovery, and the rights watcher, which checks
// the credentials of open streams and sockets again every second and ends
// those that expired or were revoked) and, when its context ends, ends every
// stream before the HTTP server is shut down (http.Server.Shutdown waits for
// handlers, and a stream never returns on its own). Errors reach HTTP in one
// place, httpStatus.
//
//	@title						NULS 2 gateway
//	@version					1.0
//	@description				HTTP and Server-Sent Events front door of a NULS 2 module network. POST /rpc/{method} calls a NULS method with the JSON body as its parameters; GET /rpc/{method}/stream streams its subscription pushes. Errors are RFC 9457 problem documents carrying the NULS ResponseStatus, ResponseErrorCode and comment.
//	@license.name				MIT
//	@license.url				https://opensource.org/license/mit
//	@BasePath					/
//	@externalDocs.description	NULS 2 module protocol
//	@externalDocs.url			https://github.com/nuls-io/nuls-v2
//
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				An API key (ngw_...) or a JWT, as "Bearer <credential>".
//
//	@securityDefinitions.apikey	APIKeyAuth
//	@in							header
//	@name						X-API-Key
//	@description				An API key (ngw_...).
//
//	@securityDefinitions.apikey	StreamTicket
//	@in							query
//	@name						ticket
//	@description				A stream ticket from POST /stream-tickets, for EventSource, which cannot send headers.
package gateway
