package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
)

// TestExactAmounts: an amount past 2^53 (the simulated node's token
// balance, 10^18 + 1) is answered as a string of its digits by POST /rpc and
// JSON-RPC and in a stream, and as the node's number with Prefer:
// bigint=number.
func TestExactAmounts(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	addr := tg.node.GenesisAccounts()[0].Address
	params := `{"chainId":2,"assetChainId":2,"assetId":` + "2" + `,"address":"` + addr + `"}`
	want := devnode.TokenBalance.String()
	status, _, body := post(t, tg.url+"/rpc/getBalance", params)
	if status != http.StatusOK || !strings.Contains(body, `"total":"`+want+`"`) || !strings.Contains(body, `"available":"`+want+`"`) {
		t.Errorf("POST /rpc/getBalance: %d %s, want the amounts as strings", status, body)
	}
	status, _, body = postWith(t, tg.url+"/rpc/getBalance", params, map[string]string{"Prefer": "bigint=number"})
	if status != http.StatusOK || !strings.Contains(body, `"total":`+want+`,`) && !strings.Contains(body, `"total":`+want+`}`) {
		t.Errorf("with Prefer: bigint=number: %d %s, want the node's numbers", status, body)
	}
	status, _, body = post(t, tg.url+"/jsonrpc", `{"jsonrpc":"2.0","id":1,"method":"getBalance","params":`+params+`}`)
	if status != http.StatusOK || !strings.Contains(body, `"total":"`+want+`"`) {
		t.Errorf("JSON-RPC getBalance: %d %s", status, body)
	}
	status, _, body = post(t, tg.url+"/rpc", `{"getBalance":`+params+`,"latestHeight":{"chainId":2}}`)
	if status != http.StatusOK || !strings.Contains(body, `"total":"`+want+`"`) {
		t.Errorf("POST /rpc with several methods: %d %s", status, body)
	}
	// A stream's pushes too: its readers share one log.
	s := openSSE(t, tg.url+"/rpc/getBalance/stream?chainId=2&assetChainId=2&assetId=2&address="+addr, "")
	if ev := s.next(5 * time.Second); !strings.Contains(ev.Data, `"total":"`+want+`"`) || !strings.Contains(ev.Data, `"available":"`+want+`"`) {
		t.Errorf("GET /rpc/getBalance/stream: %+v, want the amounts as strings", ev)
	}
}
