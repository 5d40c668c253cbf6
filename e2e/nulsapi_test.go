package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestNulsAPIClient plays a client written for NULS's nuls-api server,
// pointed at the gateway's --nuls-api-listen instead of port 18004: the
// requests as nuls-api's documentation writes them (POST /jsonrpc, params
// by position, Content-Type application/json;charset=UTF-8, id 1234), and
// the answers' shape as it shows them.
func TestNulsAPIClient(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, "--simulated-node", "--nuls-api-listen", "127.0.0.1:0")
	if gw.NulsAPIURL == "" {
		t.Fatal("the gateway did not log its nuls-api listener's address")
	}
	call := func(method, params string) map[string]json.RawMessage {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, gw.NulsAPIURL+"/jsonrpc",
			strings.NewReader(`{"jsonrpc":"2.0","method":"`+method+`","params":`+params+`,"id":1234}`))
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var a map[string]json.RawMessage
		if err := json.Unmarshal(b, &a); err != nil || resp.StatusCode != http.StatusOK || string(a["id"]) != `"1234"` || string(a["jsonrpc"]) != `"2.0"` {
			t.Fatalf("%s: %d %s", method, resp.StatusCode, b)
		}
		return a
	}
	keys := func(raw json.RawMessage) string {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ",")
	}
	// The fields of the documentation's example answers (nuls-api's
	// BlockHeaderDto also has the two timestamps its example predates).
	bal := call("getAccountBalance", `[2,2,1,"`+genesisAddress+`"]`)
	if got := keys(bal["result"]); got != "balance,consensusLock,freeze,nonce,nonceType,timeLock,totalBalance" {
		t.Errorf("getAccountBalance fields %s", got)
	}
	hdr := call("getBestBlockHeader", `[2]`)
	if got := keys(hdr["result"]); got != "blockSignature,blockVersion,consensusMemberCount,hash,height,mainVersion,merkleHash,packingAddress,packingIndexOfRound,preHash,roundIndex,roundStartTime,roundStartTimestamp,size,stateRoot,time,timestamp,txCount" {
		t.Errorf("getBestBlockHeader fields %s", got)
	}
	if h := call("getLatestHeight", `[2]`); len(h["result"]) == 0 {
		t.Error("getLatestHeight: no result")
	}
	blk := call("getBlockByHeight", `[2,0]`)
	if got := keys(blk["result"]); got != "header,txs" {
		t.Errorf("getBlockByHeight fields %s", got)
	}
	// A method it does not serve, with nuls-api's code for it.
	if e := call("createAccount", `[2,1,"abcd1234"]`)["error"]; !strings.Contains(string(e), `"code":"-32601"`) {
		t.Errorf("createAccount: %s", e)
	}
}
