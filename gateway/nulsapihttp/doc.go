// Package nulsapihttp serves the nuls-api profile (package nulsapi) over
// HTTP: POST /nuls-api/jsonrpc, and POST /jsonrpc of a listener of its own
// (cmd/gateway --nuls-api-listen, nuls-api's port 18004), to the clients
// written for NULS's nuls-api server, with its quirks: the id as a string,
// error.code a string, errors at HTTP 200, a batch of one answered as an
// object. ?strict=true answers the same methods as JSON-RPC 2.0 says
// instead (ids as sent, integer codes, notifications unanswered), as POST
// /jsonrpc does.
//
// A body is read, run and bounded as POST /jsonrpc's (package batch). Each
// request costs what it makes the gateway do: its commands' weights, a
// forwarded method's weight, 1 for the others. A method is run from module
// commands, called for the caller through the gateway (Caller: its access,
// its quota, the call pipeline of /rpc), or forwarded to NULS
// public-service (Config.PublicService) when only public-service answers
// it.
//
// # Concurrency
//
// An Endpoint is immutable once built and safe for concurrent use. The
// requests of one body run concurrently (batch.Run) and share its Caller
// and its batch.Budget, both safe for concurrent use. It holds no lock.
package nulsapihttp
