package devnode

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// The transaction module's look-ups (io.nuls.transaction.rpc.cmd
// TransactionCmd): {"tx": "<hex>"}, or {"tx": null} for a hash the node does
// not know. tx_getTx also finds transfers not yet in a block.
// tx_getTxClient, what nuls-api calls, adds the block height (-1 while
// unconfirmed) and the status (1 confirmed, 0 not).

func (n *Node) txMethods() []bridge.Method {
	params := []bridge.Parameter{param("chainId", "int", "", true), param("txHash", "String", "", true)}
	return append(n.newTxMethods(), []bridge.Method{
		{
			Name: "tx_getTx", Description: "根据hash获取交易, 先查未确认, 查不到再查已确认/Get transaction by tx hash",
			Parameters: params,
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				return n.getTx(c, false)
			},
		},
		{
			Name: "tx_getTxClient", Description: "根据hash获取交易，先查未确认，查不到再查已确认/Get transaction by tx hash",
			Parameters: params,
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				tx, height, err := n.lookUpTx(c, false)
				if err != nil || tx == "" {
					return map[string]any{"tx": nil}, err
				}
				status := 0
				if height >= 0 {
					status = 1
				}
				return map[string]any{"tx": tx, "height": height, "status": status}, nil
			},
		},
		{
			Name: "tx_getConfirmedTx", Description: "根据hash获取已确认交易(只查已确认)/Get confirmed transaction by tx hash",
			Parameters: params,
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				return n.getTx(c, true)
			},
		},
	}...)
}

func (n *Node) getTx(c *bridge.Call, confirmedOnly bool) (any, error) {
	tx, _, err := n.lookUpTx(c, confirmedOnly)
	if err != nil || tx == "" {
		return map[string]any{"tx": nil}, err
	}
	return map[string]any{"tx": tx}, nil
}

// lookUpTx finds the transaction of the call's txHash: its hex and block
// height (-1 while unconfirmed), or "" when the node has none.
func (n *Node) lookUpTx(c *bridge.Call, confirmedOnly bool) (string, int64, error) {
	var p struct {
		ChainID flexInt `json:"chainId"`
		TxHash  string  `json:"txHash"`
	}
	if err := c.Bind(&p); err != nil {
		return "", 0, err
	}
	if int(p.ChainID) != n.cfg.ChainID {
		return "", 0, fail(codeTxChain, fmt.Sprintf("chain %d not found", p.ChainID))
	}
	h, ok := nulsdata.ParseHash(p.TxHash)
	if !ok {
		return "", 0, fail(codeTxHash, "hash error: "+p.TxHash)
	}
	b, height, found := n.chain.txByHash(h)
	if !found || (confirmedOnly && height < 0) {
		return "", 0, nil
	}
	return hex.EncodeToString(b), height, nil
}
