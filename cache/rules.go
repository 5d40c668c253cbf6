package cache

import (
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// A rule says how an answer of one command tells its height: the height
// the answer stands at, or false when the answer is not one to keep (an
// empty answer, a transaction not yet confirmed, anything unreadable).
type rule func(params, result json.RawMessage) (height int64, ok bool)

// rules are the commands whose successful answers cannot change once their
// block is deep enough. Reads by height or by hash of blocks, headers and
// transactions; nothing else is ever cached.
var rules = map[string]rule{
	"getBlockHeaderByHeight": blockAnswer,
	"getBlockByHeight":       blockAnswer,
	"getBlockHeaderByHash":   blockAnswer,
	"getBlockByHash":         blockAnswer,
	// tx_getTxClient is the transaction with its block's height and its
	// status; tx_getTx and tx_getConfirmedTx answer no height, so their
	// depth cannot be told, and they are not cached.
	"tx_getTxClient": confirmedTx,
}

// Cacheable reports whether method's answers may ever be cached.
func Cacheable(method string) bool {
	_, ok := rules[method]
	return ok
}

// blockAnswer reads the height of a block or header answer, {"value":
// "<hex>"}: a block starts with its header, whose height is the
// little-endian uint32 after the previous hash, the Merkle hash and the
// time.
func blockAnswer(_, result json.RawMessage) (int64, bool) {
	var v struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(result, &v) != nil || v.Value == "" {
		return 0, false
	}
	b, err := hex.DecodeString(strings.TrimPrefix(v.Value, "0x"))
	if err != nil {
		return 0, false
	}
	h, ok := nulsdata.BlockHeight(b)
	return h, ok
}

// confirmedTx reads tx_getTxClient's {"tx", "height", "status": 1}.
func confirmedTx(_, result json.RawMessage) (int64, bool) {
	var v struct {
		Tx     *string         `json:"tx"`
		Height json.Number     `json:"height"`
		Status json.RawMessage `json:"status"`
	}
	if json.Unmarshal(result, &v) != nil || v.Tx == nil || *v.Tx == "" || string(v.Status) != "1" {
		return 0, false
	}
	h, err := strconv.ParseInt(v.Height.String(), 10, 64)
	return h, err == nil && h >= 0
}

// Methods returns the commands whose answers may be cached, sorted.
func Methods() []string { return slices.Sorted(maps.Keys(rules)) }
