package devnode

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// Transactions built and signed by a client (a wallet, an SDK), as the
// transaction module takes them: tx_newTx checks and broadcasts one, and
// tx_verifyTx only checks (the live node of the vectors has no
// tx_broadcast, so neither has the devnode). They answer {"value": true, "hash": "<hash>"}.
// The devnode takes transfers only, and does not verify signatures (its
// keys are made up); it checks what the ledger would: each input's nonce
// is its account's last, balances cover the inputs, inputs cover the
// outputs, and the chain's asset pays at least the fee.

// codeTxInvalid is the transaction module's TX_VERIFY failure.
const codeTxInvalid = "tx_0013"

func (n *Node) newTxMethods() []bridge.Method {
	params := []bridge.Parameter{param("chainId", "int", "", true), param("tx", "String", "", true)}
	method := func(name, description string, apply bool) bridge.Method {
		return bridge.Method{Name: name, Description: description, Parameters: params,
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				var p struct {
					ChainID flexInt `json:"chainId"`
					Tx      string  `json:"tx"`
				}
				if err := c.Bind(&p); err != nil {
					return nil, err
				}
				if int(p.ChainID) != n.cfg.ChainID {
					return nil, fail(codeTxChain, fmt.Sprintf("chain %d not found", p.ChainID))
				}
				raw, err := hex.DecodeString(p.Tx)
				if err != nil {
					return nil, fail(codeParameterError, "tx is not hex")
				}
				h, touched, err := n.chain.acceptTx(raw, apply)
				if err != nil {
					return nil, err
				}
				if apply {
					n.balanceEvent(touched)
				}
				return map[string]any{"value": true, "hash": h.String()}, nil
			}}
	}
	return []bridge.Method{
		method("tx_newTx", "接收本地新交易/receive a new transaction", true),
		// The real node's description, word for word (bridge/testdata/vectors).
		method("tx_verifyTx", "验证交易接口，包括含基础验证、验证器、账本验证/Verify transation", false), //nolint:misspell // as the node spells it
	}
}

// acceptTx checks a serialized transfer and, with apply, applies it as
// transfer does. It returns its hash and the addresses it touches.
func (c *chain) acceptTx(raw []byte, apply bool) (hash, []string, error) {
	ntx, err := nulsdata.ParseTransaction(raw)
	if err != nil {
		return hash{}, nil, fail(codeParameterError, "tx deserialize error: "+err.Error())
	}
	if ntx.Type != txTypeTransfer {
		return hash{}, nil, fail(codeTxInvalid, fmt.Sprintf("the devnode takes transfers (type 2), not type %d", ntx.Type))
	}
	cd, err := nulsdata.ParseCoinData(ntx.CoinData)
	if err != nil || len(cd.From) == 0 || len(cd.To) == 0 {
		return hash{}, nil, fail(codeTxInvalid, fmt.Sprintf("coin data: %v", err))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h := ntx.Hash()
	if c.txs[h] != nil {
		return hash{}, nil, fail(codeTxInvalid, "transaction already exists: "+h.String())
	}
	type asset struct{ chainID, id int }
	in, out := map[asset]*big.Int{}, map[asset]*big.Int{}
	sum := func(m map[asset]*big.Int, k asset, v *big.Int) {
		if m[k] == nil {
			m[k] = new(big.Int)
		}
		m[k].Add(m[k], v)
	}
	t := &tx{typ: ntx.Type, time: ntx.Time, remark: ntx.Remark, data: ntx.TxData, hash: h, height: -1, bytes: raw}
	var touched []string
	spend := map[assetKey]*big.Int{}
	for _, f := range cd.From {
		k := assetKey{nulsdata.AddressString(f.Address), int(f.AssetChainID), int(f.AssetID)}
		if k.address == "" || len(f.Nonce) != 8 {
			return hash{}, nil, fail(codeTxInvalid, "bad input")
		}
		if nonce := c.nonces[k]; string(nonce[:]) != string(f.Nonce) {
			return hash{}, nil, fail(codeTxInvalid, fmt.Sprintf("nonce of %s is %x, not %x", k.address, nonce, f.Nonce))
		}
		if spend[k] == nil {
			spend[k] = new(big.Int)
		}
		spend[k].Add(spend[k], f.Amount)
		sum(in, asset{k.assetChainID, k.assetID}, f.Amount)
		var nonce [8]byte
		copy(nonce[:], f.Nonce)
		t.froms = append(t.froms, coinFrom{address: f.Address, assetChainID: f.AssetChainID, assetID: f.AssetID, amount: f.Amount, nonce: nonce, locked: f.Locked})
		touched = append(touched, k.address)
	}
	for _, o := range cd.To {
		if nulsdata.AddressString(o.Address) == "" || o.Amount.Sign() <= 0 {
			return hash{}, nil, fail(codeTxInvalid, "bad output")
		}
		sum(out, asset{int(o.AssetChainID), int(o.AssetID)}, o.Amount)
		t.tos = append(t.tos, coinTo{address: o.Address, assetChainID: o.AssetChainID, assetID: o.AssetID, amount: o.Amount, lockTime: o.LockTime})
		touched = append(touched, nulsdata.AddressString(o.Address))
	}
	for k, o := range out {
		if i := in[k]; i == nil || i.Cmp(o) < 0 {
			return hash{}, nil, fail(codeAccUnderpaid, fmt.Sprintf("inputs of asset %d-%d do not cover the outputs", k.chainID, k.id))
		}
	}
	fee := new(big.Int)
	if i := in[asset{c.id, assetID}]; i != nil {
		fee.Set(i)
	}
	if o := out[asset{c.id, assetID}]; o != nil {
		fee.Sub(fee, o)
	}
	if fee.Cmp(big.NewInt(minFee)) < 0 {
		return hash{}, nil, fail(codeAccFee, "insufficient fee")
	}
	for k, v := range spend {
		if bal := c.balances[k]; bal == nil || bal.Cmp(v) < 0 {
			return hash{}, nil, fail(codeAccBalance, "insufficient balance: "+k.address)
		}
	}
	if !apply {
		return h, touched, nil
	}
	for k, v := range spend {
		c.balances[k].Sub(c.balances[k], v)
		var n [8]byte
		copy(n[:], h[nulsdata.HashLen-8:])
		c.nonces[k] = n
	}
	for _, o := range cd.To {
		k := assetKey{nulsdata.AddressString(o.Address), int(o.AssetChainID), int(o.AssetID)}
		if c.balances[k] == nil {
			c.balances[k] = new(big.Int)
		}
		c.balances[k].Add(c.balances[k], o.Amount)
	}
	c.pending = append(c.pending, t)
	c.txs[h] = t
	return h, touched, nil
}
