package nulsdata

import (
	"fmt"
	"math/big"
)

// Transaction is io.nuls.base.data.Transaction.
type Transaction struct {
	Type uint16
	// Time is in seconds since the epoch.
	Time uint32
	// Remark, TxData, CoinData (ParseCoinData) and Signature are kept
	// serialized, as the transaction holds them.
	Remark, TxData, CoinData, Signature []byte
}

// ParseTransaction reads a serialized transaction.
func ParseTransaction(b []byte) (*Transaction, error) {
	r := &reader{b: b}
	tx := readTx(r)
	if err := r.done("transaction"); err != nil {
		return nil, err
	}
	return tx, nil
}

func readTx(r *reader) *Transaction {
	return &Transaction{Type: r.u16(), Time: r.u32(), Remark: r.varBytes(), TxData: r.varBytes(), CoinData: r.varBytes(), Signature: r.varBytes()}
}

func (tx *Transaction) unsigned() []byte {
	var w Writer
	w.U16(tx.Type)
	w.U32(tx.Time)
	w.VarBytes(tx.Remark)
	w.VarBytes(tx.TxData)
	w.VarBytes(tx.CoinData)
	return w.B
}

// Bytes is the transaction's serialization.
func (tx *Transaction) Bytes() []byte {
	w := Writer{B: tx.unsigned()}
	w.VarBytes(tx.Signature)
	return w.B
}

// Hash is the transaction's hash: of all but its signature.
func (tx *Transaction) Hash() Hash { return DoubleSHA256(tx.unsigned()) }

// Size is the length of the serialization.
func (tx *Transaction) Size() int { return len(tx.Bytes()) }

// CoinData is io.nuls.base.data.CoinData: what a transaction spends and
// pays.
type CoinData struct {
	From []CoinFrom
	To   []CoinTo
}

// CoinFrom spends an amount of an asset from an address.
type CoinFrom struct {
	Address               []byte // raw, AddressString
	AssetChainID, AssetID uint16
	Amount                *big.Int
	Nonce                 []byte
	Locked                uint8
}

// CoinTo pays an amount of an asset to an address, locked until LockTime
// (seconds or a height; -1 for ever).
type CoinTo struct {
	Address               []byte
	AssetChainID, AssetID uint16
	Amount                *big.Int
	LockTime              int64
}

// maxCoins bounds what a coin data may declare before the bytes show it.
const maxCoins = 1 << 16

// ParseCoinData reads a transaction's CoinData; empty bytes are none.
func ParseCoinData(b []byte) (*CoinData, error) {
	cd := &CoinData{}
	if len(b) == 0 {
		return cd, nil
	}
	r := &reader{b: b}
	n := r.varInt()
	if n > maxCoins {
		return nil, fmt.Errorf("nulsdata: coin data: %d inputs declared", n)
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		cd.From = append(cd.From, CoinFrom{Address: r.varBytes(), AssetChainID: r.u16(), AssetID: r.u16(), Amount: r.amount(), Nonce: r.varBytes(), Locked: r.u8()})
	}
	n = r.varInt()
	if n > maxCoins {
		return nil, fmt.Errorf("nulsdata: coin data: %d outputs declared", n)
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		cd.To = append(cd.To, CoinTo{Address: r.varBytes(), AssetChainID: r.u16(), AssetID: r.u16(), Amount: r.amount(), LockTime: int64(r.u64())}) //nolint:gosec // G115: Java's long: the same bits, read as signed
	}
	if err := r.done("coin data"); err != nil {
		return nil, err
	}
	return cd, nil
}

// Bytes is the coin data's serialization.
func (cd *CoinData) Bytes() []byte {
	var w Writer
	w.VarInt(uint64(len(cd.From)))
	for _, c := range cd.From {
		w.VarBytes(c.Address)
		w.U16(c.AssetChainID)
		w.U16(c.AssetID)
		w.Amount(c.Amount)
		w.VarBytes(c.Nonce)
		w.U8(c.Locked)
	}
	w.VarInt(uint64(len(cd.To)))
	for _, c := range cd.To {
		w.VarBytes(c.Address)
		w.U16(c.AssetChainID)
		w.U16(c.AssetID)
		w.Amount(c.Amount)
		w.U64(uint64(c.LockTime)) //nolint:gosec // G115: Java's long: the same bits, written as unsigned
	}
	return w.B
}
