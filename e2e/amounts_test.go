package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// tokenBalance is the simulated node's first genesis account's balance of
// its token (asset 2): 10^18 + 1, past JavaScript's 2^53
// (bridge/devnode.TokenBalance).
const tokenBalance = "1000000000000000001"

// getBalanceTotal matches the type openapi-typescript gives getBalance's
// total in its answer.
var getBalanceTotal = regexp.MustCompile(`(?s)\n    getBalance: \{.*?\n    \};`)

// TestExactAmountsInJavaScript reads 10^18 + 1 as JavaScript clients do:
// through a client generated from the OpenAPI document (openapi-typescript
// types, openapi-fetch calls), whose type for the amount must be a string
// and whose value must be exact; and through NULS's JS SDK against the
// nuls-api profile. With Prefer: bigint=number the same client gets a
// number, which JSON.parse rounds: the failure the default prevents.
func TestExactAmountsInJavaScript(t *testing.T) {
	t.Parallel()
	tsDir, node := npmProject(t, "ts")
	sdkDir, _ := npmProject(t, "sdk")
	gw := startGateway(t, "--simulated-node", "--nuls-api-listen", "127.0.0.1:0")

	types := filepath.Join(t.TempDir(), "api.d.ts")
	runTool(t, tsDir, nil, node, filepath.Join(tsDir, "node_modules", "openapi-typescript", "bin", "cli.js"), gw.URL+"/openapi.json", "-o", types)
	src, err := os.ReadFile(types)
	if err != nil {
		t.Fatal(err)
	}
	op := getBalanceTotal.Find(src)
	if op == nil || !regexp.MustCompile(`\btotal\??: string;`).Match(op) {
		t.Errorf("openapi-typescript's getBalance does not type total as a string:\n%.3000s", op)
	}

	var got struct {
		Total, Type, NumberTotal, NumberType string
		Error                                any
	}
	out := runTool(t, tsDir, nil, node, filepath.Join(tsDir, "balance.mjs"), gw.URL, genesisAddress, "2")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("balance.mjs: %v %s", err, out)
	}
	if got.Total != tokenBalance || got.Type != "string" {
		t.Errorf("the generated client read total %q (%s), want %s exactly", got.Total, got.Type, tokenBalance)
	}
	if got.NumberType != "number" || got.NumberTotal == tokenBalance {
		t.Errorf("with Prefer: bigint=number JSON.parse read %s (%s): the number should have been rounded", got.NumberTotal, got.NumberType)
	}

	out = runTool(t, sdkDir, nil, node, "transfer.js", "balance", gw.NulsAPIURL+"/jsonrpc", genesisAddress, "2")
	var sdk struct{ TotalBalance, Balance string }
	if err := json.Unmarshal([]byte(out), &sdk); err != nil || sdk.TotalBalance != tokenBalance || sdk.Balance != tokenBalance {
		t.Errorf("the JS SDK read %s (%v), want %s", out, err, tokenBalance)
	}
}
