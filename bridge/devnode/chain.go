package devnode

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// assetID is the ID of a chain's own asset (NULS on chains 1 and 2): the
// asset (ChainID, 1) is the one the genesis accounts hold and fees are paid
// in.
const assetID = 1

// assetKey names one balance: an address and an asset.
type assetKey struct {
	address      string
	assetChainID int
	assetID      int
}

// account is an account the node's wallet holds (the account module's
// local accounts): ac_transfer can spend from it with its password.
type account struct {
	address   string
	pubkey    []byte
	password  [32]byte // SHA-256 of the password
	encrypted []byte   // stands in for the encrypted private key
}

// chain is the shared state of every module of the node: blocks,
// transactions, balances, nonces and the wallet. It is safe for concurrent
// use; its methods take mu themselves.
type chain struct {
	id     int
	packer []byte // public key that signs the blocks
	now    func() time.Time

	mu        sync.RWMutex // guards every field below
	blocks    []*block     // by height
	byHash    map[hash]*block
	txs       map[hash]*tx
	pending   []*tx // transfers waiting for the next block
	accounts  []*account
	byAddress map[string]*account
	balances  map[assetKey]*big.Int
	nonces    map[assetKey][8]byte
	created   int // accounts made by ac_createAccount, for their seeds
}

// newChain makes the chain with its genesis block and funded accounts.
func newChain(id int, now func() time.Time) *chain {
	c := &chain{
		id:        id,
		packer:    pubkeyFromSeed(fmt.Sprintf("devnode/%d/packer", id)),
		now:       now,
		byHash:    map[hash]*block{},
		txs:       map[hash]*tx{},
		byAddress: map[string]*account{},
		balances:  map[assetKey]*big.Int{},
		nonces:    map[assetKey][8]byte{},
	}
	c.genesis()
	return c
}

// pubkeyFromSeed makes a compressed-key-shaped public key (33 bytes) from a
// seed.
func pubkeyFromSeed(seed string) []byte {
	sum := sha256.Sum256([]byte(seed))
	return append([]byte{0x02}, sum[:]...)
}

// addAccountLocked adds an account to the wallet. c.mu must be held.
func (c *chain) addAccountLocked(seed, password string) *account {
	pub := pubkeyFromSeed(seed)
	enc := sha256.Sum256([]byte(seed + "/" + password))
	a := &account{
		address:   newAddress(c.id, pub),
		pubkey:    pub,
		password:  sha256.Sum256([]byte(password)),
		encrypted: enc[:],
	}
	c.accounts = append(c.accounts, a)
	c.byAddress[a.address] = a
	return a
}

// appendLocked adds a sealed block and indexes it. c.mu must be held.
func (c *chain) appendLocked(b *block) {
	c.blocks = append(c.blocks, b)
	c.byHash[b.hash] = b
	for _, t := range b.txs {
		c.txs[t.hash] = t
	}
}

// rollback removes the newest n blocks (never the genesis block), as the
// block module does when it switches to another fork: their transactions
// but the coinbase go back to the pending ones, to be packed again (their
// effect on balances, made when they were accepted, stays). It returns the
// new height.
func (c *chain) rollback(n int) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var back []*tx
	for ; n > 0 && len(c.blocks) > 1; n-- {
		b := c.blocks[len(c.blocks)-1]
		c.blocks = c.blocks[:len(c.blocks)-1]
		delete(c.byHash, b.hash)
		var again []*tx
		for _, t := range b.txs {
			delete(c.txs, t.hash)
			if t.typ != txTypeCoinbase {
				again = append(again, t)
			}
		}
		back = append(again, back...)
	}
	c.pending = append(back, c.pending...)
	return c.blocks[len(c.blocks)-1].height()
}

// produce seals the next block with the pending transfers, after a
// coinbase transaction as every NULS block has.
func (c *chain) produce() *block {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.produceLocked(c.blockTimeLocked())
}

// produceAt seals the next block at a given time: a follower makes the
// leader's block so, and gets its hash.
func (c *chain) produceAt(t uint32) *block {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.produceLocked(t)
}

// produceLocked seals the next block at time t. c.mu must be held.
func (c *chain) produceLocked(t uint32) *block {
	prev := c.blocks[len(c.blocks)-1]
	var data [4]byte
	binary.LittleEndian.PutUint32(data[:], prev.header.height+1)
	coinbase := &tx{typ: txTypeCoinbase, time: t, data: data[:]}
	coinbase.seal()
	txs := append([]*tx{coinbase}, c.pending...)
	c.pending = nil
	b := newBlock(prev, txs, t, c.packer)
	c.appendLocked(b)
	return b
}

// blockTimeLocked is the time of a new block in seconds, never before the
// previous block's. c.mu must be held.
func (c *chain) blockTimeLocked() uint32 {
	t := uint32(c.now().Unix())
	if n := len(c.blocks); n > 0 && t < c.blocks[n-1].header.time {
		t = c.blocks[n-1].header.time
	}
	return t
}

// latest returns the newest block.
func (c *chain) latest() *block {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.blocks[len(c.blocks)-1]
}

// blockAt returns the block at height h, or nil.
func (c *chain) blockAt(h int64) *block {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if h < 0 || h >= int64(len(c.blocks)) {
		return nil
	}
	return c.blocks[h]
}

// blockByHash returns the block with hash h, or nil.
func (c *chain) blockByHash(h hash) *block {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byHash[h]
}

// txByHash returns a transaction's serialization and height (-1 while
// unconfirmed), or ok false.
func (c *chain) txByHash(h hash) (bytes []byte, height int64, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.txs[h]
	if !ok {
		return nil, 0, false
	}
	return t.bytes, t.height, true
}

// balance returns the balance of an address in an asset: zero for any
// address the chain never saw, as the Java ledger answers.
func (c *chain) balance(k assetKey) *big.Int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if b, ok := c.balances[k]; ok {
		return new(big.Int).Set(b)
	}
	return new(big.Int)
}

// nonce returns the nonce of an address in an asset: the last 8 bytes of
// the hash of the last transaction that spent from it, zeros before.
func (c *chain) nonce(k assetKey) [8]byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nonces[k]
}

// accountList returns the wallet's accounts in creation order.
func (c *chain) accountList() []*account {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]*account(nil), c.accounts...)
}

// account returns the wallet account with that address, or nil.
func (c *chain) account(address string) *account {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byAddress[address]
}

// createAccounts adds count accounts with a password to the wallet. Their
// keys come from a counter, so a fresh node creates the same addresses in
// the same order.
func (c *chain) createAccounts(count int, password string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, count)
	for range count {
		c.created++
		a := c.addAccountLocked(fmt.Sprintf("devnode/%d/account/%d", c.id, c.created), password)
		out = append(out, a.address)
	}
	return out
}
