// Package nulsapi is the nuls-api profile: methods of the JSON-RPC API that
// NULS's own HTTP server, nuls-api (nuls-v2's module/nuls-api, POST
// /jsonrpc on port 18004), offers the web wallet, the explorer and the
// SDKs, answered from module commands with the shapes nuls-api returns,
// and the quirks of its answers that those clients depend on.
//
// A Method names its positional parameters (nuls-api takes params as an
// array, chainId first) and builds its result from module commands through
// a Caller, which package gateway implements with its access checks and
// upstream. Compat encodes answers as nuls-api does: the id echoed as a
// string ("null" when there was none), error.code a string ("-32601",
// "1000", or the module's code such as "lg_1014"), every request answered
// (nuls-api has no notifications), and a batch of one answered as an
// object.
//
// # Concurrency
//
// The method table is built once and never changes; Lookup and the
// methods are safe for concurrent use, as the Caller must be.
package nulsapi
