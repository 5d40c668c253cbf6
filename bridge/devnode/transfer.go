package devnode

import (
	"crypto/sha256"
	"fmt"
	"math/big"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

const (
	// minFee is the smallest fee of a transfer, in units of the chain's
	// asset: 0.001 NULS, the Java node's fee for a transaction under 1 KB
	// (TransactionFeeCalculator.NORMAL_PRICE_PRE_1024_BYTES).
	minFee = 100_000
	// maxRemarkBytes bounds a transfer's remark.
	maxRemarkBytes = 100
)

// coin is one input or output of ac_transfer (Java CoinDTO). Inputs carry
// the password of the account they spend from.
type coin struct {
	Address       string  `json:"address"`
	AssetsChainID flexInt `json:"assetsChainId"`
	AssetsID      flexInt `json:"assetsId"`
	Amount        amount  `json:"amount"`
	Password      string  `json:"password"`
}

// transferRequest is the parameter object of ac_transfer (Java TransferDTO).
type transferRequest struct {
	ChainID flexInt `json:"chainId"`
	Inputs  []coin  `json:"inputs"`
	Outputs []coin  `json:"outputs"`
	Remark  string  `json:"remark"`
}

// transfer checks a transfer as the Java account and ledger modules do and
// applies it at once: balances and nonces change immediately, and the
// transaction waits in the pending list for the next block. Per asset, the
// inputs must cover the outputs; the inputs of the chain's own asset must
// exceed its outputs by at least minFee, and that difference, the fee, is
// burnt. It returns the transaction hash and every address it touched.
func (c *chain) transfer(r *transferRequest) (hash, []string, error) {
	if int(r.ChainID) != c.id {
		return hash{}, nil, fail(codeAccChain, fmt.Sprintf("chain %d does not exist", r.ChainID))
	}
	if len(r.Inputs) == 0 {
		return hash{}, nil, fail(codeAccNoFrom, "the transfer has no input")
	}
	if len(r.Outputs) == 0 {
		return hash{}, nil, fail(codeAccNoTo, "the transfer has no output")
	}
	if len(r.Remark) > maxRemarkBytes {
		return hash{}, nil, fail(codeAccRemark, fmt.Sprintf("remark longer than %d bytes", maxRemarkBytes))
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	t := &tx{typ: txTypeTransfer, time: uint32(c.now().Unix()), remark: []byte(r.Remark)}
	var touched []string
	seen := map[string]bool{}
	touch := func(a string) {
		if !seen[a] {
			seen[a] = true
			touched = append(touched, a)
		}
	}
	type asset struct{ chainID, id int }
	in, out := map[asset]*big.Int{}, map[asset]*big.Int{}
	add := func(m map[asset]*big.Int, k asset, v *big.Int) {
		if m[k] == nil {
			m[k] = new(big.Int)
		}
		m[k].Add(m[k], v)
	}
	spend := map[assetKey]*big.Int{}
	var spendOrder []assetKey

	for _, cn := range r.Inputs {
		raw, err := c.checkCoinLocked(cn)
		if err != nil {
			return hash{}, nil, err
		}
		a := c.byAddress[cn.Address]
		if a == nil {
			return hash{}, nil, fail(codeAccNotExist, "account not found: "+cn.Address)
		}
		if sha256.Sum256([]byte(cn.Password)) != a.password {
			return hash{}, nil, fail(codeAccPassword, "password is wrong for "+cn.Address)
		}
		k := assetKey{cn.Address, int(cn.AssetsChainID), int(cn.AssetsID)}
		if spend[k] == nil {
			spend[k] = new(big.Int)
			spendOrder = append(spendOrder, k)
		}
		spend[k].Add(spend[k], cn.Amount.Int)
		add(in, asset{k.assetChainID, k.assetID}, cn.Amount.Int)
		t.froms = append(t.froms, coinFrom{
			address: raw, assetChainID: uint16(cn.AssetsChainID), assetID: uint16(cn.AssetsID),
			amount: new(big.Int).Set(cn.Amount.Int), nonce: c.nonces[k],
		})
		if t.signer == nil {
			t.signer = a.pubkey
		}
		touch(cn.Address)
	}
	for _, cn := range r.Outputs {
		raw, err := c.checkCoinLocked(cn)
		if err != nil {
			return hash{}, nil, err
		}
		add(out, asset{int(cn.AssetsChainID), int(cn.AssetsID)}, cn.Amount.Int)
		t.tos = append(t.tos, coinTo{
			address: raw, assetChainID: uint16(cn.AssetsChainID), assetID: uint16(cn.AssetsID),
			amount: new(big.Int).Set(cn.Amount.Int),
		})
		touch(cn.Address)
	}

	for k, o := range out {
		i := in[k]
		if i == nil || i.Cmp(o) < 0 {
			return hash{}, nil, fail(codeAccUnderpaid, fmt.Sprintf("inputs of asset %d-%d do not cover the outputs", k.chainID, k.id))
		}
	}
	own := asset{c.id, assetID}
	fee := new(big.Int)
	if i := in[own]; i != nil {
		fee.Set(i)
	}
	if o := out[own]; o != nil {
		fee.Sub(fee, o)
	}
	if fee.Cmp(big.NewInt(minFee)) < 0 {
		return hash{}, nil, fail(codeAccFee, fmt.Sprintf("insufficient fee: inputs of asset %d-%d must exceed the outputs by %d", c.id, assetID, minFee))
	}
	for _, k := range spendOrder {
		if bal := c.balances[k]; bal == nil || bal.Cmp(spend[k]) < 0 {
			return hash{}, nil, fail(codeAccBalance, "insufficient balance: "+k.address)
		}
	}

	t.seal()
	t.height = -1
	for _, k := range spendOrder {
		c.balances[k].Sub(c.balances[k], spend[k])
		var n [8]byte
		copy(n[:], t.hash[nulsdata.HashLen-8:])
		c.nonces[k] = n
	}
	for _, cn := range r.Outputs {
		k := assetKey{cn.Address, int(cn.AssetsChainID), int(cn.AssetsID)}
		if c.balances[k] == nil {
			c.balances[k] = new(big.Int)
		}
		c.balances[k].Add(c.balances[k], cn.Amount.Int)
	}
	c.pending = append(c.pending, t)
	c.txs[t.hash] = t
	return t.hash, touched, nil
}

// checkCoinLocked checks a coin's address and amount and returns the raw
// address. c.mu must be held.
func (c *chain) checkCoinLocked(cn coin) ([]byte, error) {
	chainID, raw, err := nulsdata.ParseAddress(cn.Address)
	if err != nil {
		return nil, fail(codeAccAddress, "address error: "+cn.Address)
	}
	if chainID != c.id {
		return nil, fail(codeAccOtherChain, "not an address of the current chain: "+cn.Address)
	}
	if cn.Amount.Int == nil || cn.Amount.Sign() <= 0 {
		return nil, fail(codeAccAmount, "amount must be positive: "+cn.Address)
	}
	if cn.AssetsChainID < 1 || cn.AssetsChainID > 65535 || cn.AssetsID < 1 || cn.AssetsID > 65535 {
		return nil, fail(codeParameterError, "assetsChainId and assetsId must be in [1,65535]")
	}
	return raw, nil
}
