package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// devnodeGenesisPassword is the simulated node's genesis accounts' password
// (bridge/devnode.GenesisPassword).
const devnodeGenesisPassword = "nuls123456"

// TestNulsSDK runs NULS's JavaScript SDK (nuls-sdk-js, pinned in
// testdata/sdk), unchanged, against the gateway's --nuls-api-listen: an
// address it made is funded, then the SDK's own transfer flow reads the
// balance and nonce (getAccountBalance), assembles and signs the
// transaction, and has it validated and broadcast (validateTx,
// broadcastTx). The hash the SDK computed must be the one the gateway
// answers, and the transfer must be found.
func TestNulsSDK(t *testing.T) {
	t.Parallel()
	dir, node := npmProject(t, "sdk")
	gw := startGateway(t, "--simulated-node", "--nuls-api-listen", "127.0.0.1:0", "--dev-wallet")

	var acct struct{ Address, Pri, Pub string }
	if err := json.Unmarshal([]byte(runTool(t, dir, nil, node, "transfer.js", "new")), &acct); err != nil || !strings.HasPrefix(acct.Address, "tNULSe") {
		t.Fatalf("the SDK's new address: %+v %v", acct, err)
	}
	fund := `{"chainId":2,"inputs":[{"address":"` + genesisAddress + `","assetsChainId":2,"assetsId":1,"amount":"1000100000","password":"` + devnodeGenesisPassword + `"}],` +
		`"outputs":[{"address":"` + acct.Address + `","assetsChainId":2,"assetsId":1,"amount":"1000000000"}]}`
	if status, body := httpPost(t, gw.URL+"/rpc/ac_transfer", fund); status != 200 {
		t.Fatalf("funding the SDK's address: %d %s", status, body)
	}

	out := runTool(t, dir, nil, node, "transfer.js", "send", gw.NulsAPIURL+"/jsonrpc", acct.Pri, acct.Pub, acct.Address, genesisAddress, "100000000")
	var got struct {
		Balance   struct{ Balance, Nonce string }
		Hash      string
		Validated struct {
			Success bool
			Data    struct{ Value bool }
		}
		Broadcast struct {
			Value bool
			Hash  string
		}
		Exception string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Exception != "" {
		t.Fatalf("the SDK: %v %s", err, out)
	}
	if got.Balance.Balance != "1000000000" || got.Balance.Nonce != "0000000000000000" {
		t.Errorf("the SDK read balance %+v", got.Balance)
	}
	if !got.Validated.Success || !got.Validated.Data.Value || !got.Broadcast.Value || got.Broadcast.Hash != got.Hash || len(got.Hash) != 64 {
		t.Fatalf("the SDK's transfer: %s", out)
	}
	// The gateway knows it by the SDK's hash.
	status, body := httpPost(t, gw.NulsAPIURL+"/jsonrpc", `{"jsonrpc":"2.0","method":"getTx","params":[2,"`+got.Hash+`"],"id":1}`)
	if status != 200 || !strings.Contains(body, `"remark":"from nuls-sdk-js"`) || !strings.Contains(body, `"address":"`+acct.Address+`"`) {
		t.Errorf("getTx of the SDK's transfer: %d %s", status, body)
	}
}

// httpPost posts a JSON body and returns the status and the body.
func httpPost(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
