package devnode

import (
	"fmt"
	"math/big"
	"time"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// The genesis accounts: GenesisAccounts of them, each holding GenesisBalance
// of the chain's own asset (assetChainId = ChainID, assetId 1), all with the
// password GenesisPassword. Their addresses depend only on the chain ID, so
// they are the same on every devnode of that chain; Node.GenesisAccounts
// lists them.
const (
	GenesisAccounts = 3
	// GenesisPassword is the password of every genesis account (the one the
	// NULS documentation uses in its examples).
	GenesisPassword = "nuls123456"
	// GenesisBalance is each genesis account's balance in the smallest
	// unit: 1,000,000 NULS of 10^8 units.
	GenesisBalance = 100_000_000_000_000
	// TokenAssetID is a second asset of the chain, a token of 18
	// decimals, of which the first genesis account holds TokenBalance:
	// 10^18 + 1, past JavaScript's 2^53, for the clients that must read
	// amounts exactly.
	TokenAssetID = 2
)

// TokenBalance is the first genesis account's balance of TokenAssetID.
var TokenBalance, _ = new(big.Int).SetString("1000000000000000001", 10)

// genesisTime is the time of block 0, fixed so that the genesis block and
// its hash depend only on the chain ID.
var genesisTime = time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC)

// Account is an account the devnode's wallet holds, which ac_transfer can
// spend from with its password.
type Account struct {
	Address  string
	Password string
}

// genesis makes block 0: a coinbase transaction that funds the genesis
// accounts.
func (c *chain) genesis() {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := uint32(genesisTime.Unix())
	coinbase := &tx{typ: txTypeCoinbase, time: t, data: []byte{0, 0, 0, 0}}
	for i := 1; i <= GenesisAccounts; i++ {
		a := c.addAccountLocked(fmt.Sprintf("devnode/%d/genesis/%d", c.id, i), GenesisPassword)
		_, raw, _ := nulsdata.ParseAddress(a.address)
		amount := big.NewInt(GenesisBalance)
		coinbase.tos = append(coinbase.tos, coinTo{address: raw, assetChainID: uint16(c.id), assetID: assetID, amount: amount})
		c.balances[assetKey{a.address, c.id, assetID}] = new(big.Int).Set(amount)
	}
	coinbase.seal()
	// The token's balance is the state's, not the coinbase's: block 0
	// and its hash are those of the chain's own asset alone.
	c.balances[assetKey{c.accounts[0].address, c.id, TokenAssetID}] = new(big.Int).Set(TokenBalance)
	c.appendLocked(newBlock(nil, []*tx{coinbase}, t, c.packer))
}

// genesisAccounts returns the funded accounts of block 0.
func (c *chain) genesisAccounts() []Account {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Account, 0, GenesisAccounts)
	for _, a := range c.accounts[:GenesisAccounts] {
		out = append(out, Account{Address: a.address, Password: GenesisPassword})
	}
	return out
}
