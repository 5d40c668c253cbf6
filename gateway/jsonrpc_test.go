package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/batch"
	"github.com/nuls-gateway/nuls-gateway/gateway/rpcerrors"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
)

// rpcAnswer is a JSON-RPC response as a client reads it.
type rpcAnswer struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int            `json:"code"`
		Message string         `json:"message"`
		Data    rpcerrors.Data `json:"data"`
	} `json:"error"`
}

func jsonRPCPost(t *testing.T, url, body string, header map[string]string) (int, string) {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	status, _, b := postWith(t, url+"/jsonrpc", body, h)
	return status, b
}

// TestJSONRPC: requests by name and by position, a batch answered each on
// its own in order, notifications unanswered, and the errors of the
// specification and of the gateway, with the NULS failure in error.data.
func TestJSONRPC(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{Anonymous: auth.AnonymousPolicy{Scopes: []string{bridge.ScopePublic}, Methods: []string{"latestHeight", "getBalance"}}})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	acct := tg.node.GenesisAccounts()[0]
	one := func(body string) rpcAnswer {
		t.Helper()
		status, b := jsonRPCPost(t, tg.url, body, nil)
		var a rpcAnswer
		if err := json.Unmarshal([]byte(b), &a); status != http.StatusOK || err != nil || a.JSONRPC != "2.0" {
			t.Fatalf("%s: %d %s", body, status, b)
		}
		return a
	}
	if a := one(`{"jsonrpc":"2.0","method":"latestHeight","params":{"chainId":2},"id":1}`); a.Error != nil || !strings.HasPrefix(string(a.Result), `{"value":`) || string(a.ID) != "1" {
		t.Errorf("by name: %+v", a)
	}
	// By position, in the declared order: chainId, assetChainId, assetId, address.
	if a := one(`{"jsonrpc":"2.0","method":"getBalance","params":[2,2,1,"` + acct.Address + `"],"id":"b"}`); a.Error != nil || !strings.Contains(string(a.Result), "100000000000000") || string(a.ID) != `"b"` {
		t.Errorf("by position: %+v", a)
	}
	for _, tt := range []struct {
		name, body   string
		code, status int
	}{
		{"unknown method", `{"jsonrpc":"2.0","method":"nope","id":1}`, -32601, 404},
		{"reserved rpc. method", `{"jsonrpc":"2.0","method":"rpc.nope","id":1}`, -32601, 404},
		// The method is looked up before its params are read.
		{"unknown method with positional params", `{"jsonrpc":"2.0","method":"nope","params":[2,"x"],"id":1}`, -32601, 404},
		{"not for anonymous callers, positional params", `{"jsonrpc":"2.0","method":"info","params":[2],"id":1}`, rpcerrors.Unauthorized, 401},
		{"too many positional params", `{"jsonrpc":"2.0","method":"latestHeight","params":[2,3],"id":1}`, -32602, 400},
		{"undeclared param", `{"jsonrpc":"2.0","method":"latestHeight","params":{"chainId":2,"x":1},"id":1}`, -32602, 400},
		{"module failure", `{"jsonrpc":"2.0","method":"getBalance","params":[2,2,1,"nonsense"],"id":1}`, rpcerrors.ModuleError, 422},
		{"not for anonymous callers", `{"jsonrpc":"2.0","method":"info","params":{"chainId":2},"id":1}`, rpcerrors.Unauthorized, 401},
		{"parse error", `{"jsonrpc":"2.0",`, -32700, 0},
		{"invalid request", `{"jsonrpc":"1.0","method":"latestHeight","id":1}`, -32600, 0},
		{"empty batch", `[]`, -32600, 0},
		{"batch too large", "[" + strings.Repeat(`{"jsonrpc":"2.0","method":"latestHeight","params":[2],"id":1},`, batch.MaxRequests) + `{"jsonrpc":"2.0","method":"latestHeight","params":[2],"id":1}]`, -32600, 0},
	} {
		a := one(tt.body)
		if a.Error == nil || a.Error.Code != tt.code || a.Error.Data.Status != tt.status {
			t.Errorf("%s: %+v, want code %d with status %d", tt.name, a.Error, tt.code, tt.status)
		}
	}
	module := one(`{"jsonrpc":"2.0","method":"getBalance","params":[2,2,1,"nonsense"],"id":1}`).Error.Data
	if module.ResponseStatus == 0 || module.ResponseErrorCode == "" || module.Method != "getBalance" {
		t.Errorf("module failure data %+v: want the NULS status, code and method", module)
	}

	// A batch: answers in order, the notification unanswered, the
	// invalid element answered with id null.
	status, b := jsonRPCPost(t, tg.url, `[
		{"jsonrpc":"2.0","method":"latestHeight","params":[2],"id":1},
		{"jsonrpc":"2.0","method":"latestHeight","params":[2]},
		{"jsonrpc":"2.0","method":"nope","id":"x"},
		7,
		{"jsonrpc":"2.0","method":"getBalance","params":{"chainId":2,"assetChainId":2,"assetId":1,"address":"`+acct.Address+`"},"id":3}]`, nil)
	var batch []rpcAnswer
	if err := json.Unmarshal([]byte(b), &batch); status != http.StatusOK || err != nil || len(batch) != 4 {
		t.Fatalf("batch: %d %s", status, b)
	}
	ids := []string{string(batch[0].ID), string(batch[1].ID), string(batch[2].ID), string(batch[3].ID)}
	if fmt.Sprint(ids) != `[1 "x" null 3]` || batch[0].Error != nil || batch[1].Error.Code != -32601 || batch[2].Error.Code != -32600 || batch[3].Error != nil {
		t.Errorf("batch answers %s", b)
	}
	// Only notifications: nothing to answer.
	if status, b := jsonRPCPost(t, tg.url, `[{"jsonrpc":"2.0","method":"latestHeight","params":[2]}]`, nil); status != http.StatusNoContent || b != "" {
		t.Errorf("notifications only: %d %q", status, b)
	}
	// A credential reaches what the anonymous policy does not.
	status, b = jsonRPCPost(t, tg.url, `{"jsonrpc":"2.0","method":"info","params":{"chainId":2},"id":1}`, bearer(ta.public))
	if status != http.StatusOK || !strings.Contains(b, `"result":{`) {
		t.Errorf("with a credential: %d %s", status, b)
	}
}

// TestJSONRPCRateLimit: a batch costs the sum of its methods' weights, and
// beyond the quota the whole body gets 429.
func TestJSONRPCRateLimit(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: limitedConfig(ta, ratelimit.NewLocal())})
	addr := from("203.0.113.9", nil)
	// The anonymous quota is 5 units: a batch of 4 leaves 1.
	body := "[" + strings.TrimSuffix(strings.Repeat(`{"jsonrpc":"2.0","method":"latestHeight","params":[2],"id":1},`, 4), ",") + "]"
	if status, b := jsonRPCPost(t, tg.url, body, addr); status != http.StatusOK {
		t.Fatalf("first batch: %d %s", status, b)
	}
	if status, b := jsonRPCPost(t, tg.url, body, addr); status != http.StatusTooManyRequests {
		t.Fatalf("second batch: %d %s, want 429", status, b)
	}
}

// TestJSONRPCCompound: a compound method is a JSON-RPC method too, by name
// and by position (its declared parameters: its aliases, then what its
// children declare unaliased).
func TestJSONRPCCompound(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta}})
	def := `{"name":"heightTwice","methods":[{"method":"latestHeight","params":{"chainId":"chain"}},{"method":"info"}]}`
	if status, _, body := postWith(t, tg.url+"/compound-methods", def, bearer(ta.admin)); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	for _, params := range []string{`{"chain":2,"chainId":2}`, `[2,2]`} {
		status, b := jsonRPCPost(t, tg.url, `{"jsonrpc":"2.0","method":"heightTwice","params":`+params+`,"id":1}`, nil)
		if status != http.StatusOK || !strings.Contains(b, `"result":{"latestHeight":{"value":`) || !strings.Contains(b, `"info":{`) {
			t.Errorf("params %s: %d %s", params, status, b)
		}
	}
}
