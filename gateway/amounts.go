package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/nuls-gateway/nuls-gateway/amounts"
	"github.com/nuls-gateway/nuls-gateway/catalog"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// preferBigintNumber is the RFC 7240 preference a client sends to get the
// node's amounts as it answered them, JSON numbers: exact in a client that
// reads big numbers (Go, Java), rounded past 2^53 by JavaScript's
// JSON.parse. Without it the gateway's own profiles (POST /rpc, JSON-RPC
// 2.0) answer every amount the catalog declares as a string of digits.
const preferBigintNumber = "bigint=number"

// wantsNumbers reports whether r asks for amounts as the node's numbers.
func wantsNumbers(r *http.Request) bool {
	return r != nil && calls.Prefers(r, preferBigintNumber)
}

// exactAmounts renders the amounts of method's result as strings of digits,
// as the catalog types them (package amounts), unless r prefers numbers.
// Other methods' results, and those the catalog does not type, are
// returned as they are.
func (s *Server) exactAmounts(r *http.Request, method string, result json.RawMessage) json.RawMessage {
	if wantsNumbers(r) {
		return result
	}
	return exactIn(s.types, method, result)
}

// exactIn renders the amounts of method's result as cat types them.
func exactIn(cat *catalog.Catalog, method string, result json.RawMessage) json.RawMessage {
	cmd, ok := cat.Lookup(method)
	if !ok {
		return result
	}
	return amounts.Stringify(result, amounts.Answer(cmd.Result))
}

// StreamAmounts is the hub's Render for the streams (subscriptions.Config):
// the amounts of each push of a method cat types (nil: the NULS 2
// modules') as strings of digits, once per push for every reader. A stream
// has no preference: its readers share one log.
func StreamAmounts(cat *catalog.Catalog) func(subscriptions.Key, json.RawMessage) json.RawMessage {
	if cat == nil {
		cat = catalog.NULS2()
	}
	return func(k subscriptions.Key, data json.RawMessage) json.RawMessage { return exactIn(cat, k.Method, data) }
}
