package devnode

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// The ledger module's methods (io.nuls.ledger.rpc.cmd.AccountStateCmd).
// Amounts are JSON numbers, as Jackson writes Java BigIntegers. Transfers are
// applied at once (see chain.transfer), so the confirmed and unconfirmed
// states are the same: nonceType is always 1 (confirmed), and
// isConfirmed changes nothing. Locks do not exist on the devnode: freeze,
// permanentLocked and timeHeightLocked are 0.

// nonceTypeConfirmed is LedgerConstant.CONFIRMED_NONCE.
const nonceTypeConfirmed = 1

func (n *Node) ledgerMethods() []bridge.Method {
	params := []bridge.Parameter{
		param("chainId", "int", "[1-65535]", true),
		param("assetChainId", "int", "[1-65535]", true),
		param("assetId", "int", "[1-65535]", true),
		param("address", "String", "", true),
	}
	withConfirmed := append(append([]bridge.Parameter(nil), params...), param("isConfirmed", "boolean", "", false))
	return []bridge.Method{
		{
			Name: "getBalance", Description: "获取账户资产(已入区块)",
			// The live node declares MethodMinEvent 0; the devnode raises
			// this event for the addresses a transfer touches, so that a
			// client can follow a balance.
			MinEvent: 1, MinPeriod: 1,
			Parameters: params,
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				k, err := n.ledgerKey(c)
				if err != nil {
					return nil, err
				}
				b := n.chain.balance(k)
				return map[string]*big.Int{
					"total": b, "freeze": new(big.Int), "available": b,
					"permanentLocked": new(big.Int), "timeHeightLocked": new(big.Int),
				}, nil
			},
		},
		{
			Name: "getNonce", Description: "获取账户资产NONCE值",
			Parameters: withConfirmed,
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				k, err := n.ledgerKey(c)
				if err != nil {
					return nil, err
				}
				nonce := n.chain.nonce(k)
				return map[string]any{"nonce": hex.EncodeToString(nonce[:]), "nonceType": nonceTypeConfirmed}, nil
			},
		},
		{
			Name: "getBalanceNonce", Description: "获取账户资产余额与NONCE值",
			Parameters: withConfirmed,
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				k, err := n.ledgerKey(c)
				if err != nil {
					return nil, err
				}
				nonce := n.chain.nonce(k)
				return map[string]any{
					"nonce": hex.EncodeToString(nonce[:]), "nonceType": nonceTypeConfirmed,
					"available": n.chain.balance(k), "freeze": new(big.Int),
					"permanentLocked": new(big.Int), "timeHeightLocked": new(big.Int),
				}, nil
			},
		},
	}
}

// balanceParams are the parameters of the ledger's methods.
type balanceParams struct {
	ChainID      flexInt  `json:"chainId"`
	AssetChainID flexInt  `json:"assetChainId"`
	AssetID      flexInt  `json:"assetId"`
	Address      string   `json:"address"`
	IsConfirmed  flexBool `json:"isConfirmed"`
}

// ledgerKey reads and checks the balance a ledger call is about.
func (n *Node) ledgerKey(c *bridge.Call) (assetKey, error) {
	var p balanceParams
	if err := c.Bind(&p); err != nil {
		return assetKey{}, err
	}
	if int(p.ChainID) != n.cfg.ChainID {
		return assetKey{}, fail(codeLedgerChain, fmt.Sprintf("chain %d is not initialised", p.ChainID))
	}
	if _, _, err := nulsdata.ParseAddress(p.Address); err != nil {
		return assetKey{}, fail(codeLedgerAddress, "address error: "+p.Address)
	}
	return assetKey{p.Address, int(p.AssetChainID), int(p.AssetID)}, nil
}

// balanceEvent raises the getBalance event for the subscriptions to any of
// the addresses.
func (n *Node) balanceEvent(addresses []string) {
	touched := make(map[string]bool, len(addresses))
	for _, a := range addresses {
		touched[a] = true
	}
	n.trigger("getBalance", func(params json.RawMessage) bool {
		var p struct {
			Address string `json:"address"`
		}
		return json.Unmarshal(params, &p) == nil && touched[p.Address]
	})
}
