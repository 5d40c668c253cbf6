package devnode

import (
	"crypto/sha256"
	"math/big"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// Transaction types of NULS 2 (io.nuls.core.constant.TxType).
const (
	txTypeCoinbase = 1
	txTypeTransfer = 2
)

// coinFrom is one input of a transaction (io.nuls.base.data.CoinFrom).
type coinFrom struct {
	address      []byte // raw: chain ID, type, hash160
	assetChainID uint16
	assetID      uint16
	amount       *big.Int
	nonce        [8]byte
	locked       byte
}

// coinTo is one output of a transaction (io.nuls.base.data.CoinTo).
type coinTo struct {
	address      []byte
	assetChainID uint16
	assetID      uint16
	amount       *big.Int
	lockTime     int64
}

// tx is a transaction with its hash and, once in a block, its height.
type tx struct {
	typ    uint16
	time   uint32 // seconds
	remark []byte
	data   []byte // txData
	froms  []coinFrom
	tos    []coinTo
	signer []byte // public key of the (made-up) signature

	hash   hash
	height int64 // -1 while unconfirmed
	bytes  []byte
}

// seal computes the hash and the serialization. The hash covers everything
// but the signature (Transaction.serializeForHash).
func (t *tx) seal() {
	var w nulsdata.Writer
	w.U16(t.typ)
	w.U32(t.time)
	w.VarBytes(t.remark)
	w.VarBytes(t.data)
	w.VarBytes(t.coinData())
	t.hash = nulsdata.DoubleSHA256(w.B)
	var sig []byte
	if len(t.signer) > 0 {
		sig = fakeSignature(t.signer, t.hash)
	}
	w.VarBytes(sig)
	t.bytes = w.B
}

func (t *tx) coinData() []byte {
	if len(t.froms) == 0 && len(t.tos) == 0 {
		return nil
	}
	var w nulsdata.Writer
	w.VarInt(uint64(len(t.froms)))
	for _, f := range t.froms {
		w.VarBytes(f.address)
		w.U16(f.assetChainID)
		w.U16(f.assetID)
		w.Amount(f.amount)
		w.VarBytes(f.nonce[:])
		w.U8(f.locked)
	}
	w.VarInt(uint64(len(t.tos)))
	for _, c := range t.tos {
		w.VarBytes(c.address)
		w.U16(c.assetChainID)
		w.U16(c.assetID)
		w.Amount(c.amount)
		w.U64(uint64(c.lockTime))
	}
	return w.B
}

// header is a block header (io.nuls.base.data.BlockHeader).
type header struct {
	preHash    hash
	merkleHash hash
	time       uint32 // seconds
	height     uint32
	txCount    uint32
	extend     []byte
}

// unsigned is the header as hashed: everything but the block signature.
func (h *header) unsigned() []byte {
	var w nulsdata.Writer
	w.Raw(h.preHash[:])
	w.Raw(h.merkleHash[:])
	w.U32(h.time)
	w.U32(h.height)
	w.U32(h.txCount)
	w.VarBytes(h.extend)
	return w.B
}

// block is a sealed block: header, hash, serializations and transactions.
type block struct {
	header      header
	hash        hash
	headerBytes []byte
	txs         []*tx
}

// height returns the block's height.
func (b *block) height() int64 { return int64(b.header.height) }

// newBlock seals a block of txs on top of prev (nil for genesis), signed by
// packer.
func newBlock(prev *block, txs []*tx, time uint32, packer []byte) *block {
	h := header{time: time, txCount: uint32(len(txs))}
	if prev != nil {
		h.preHash = prev.hash
		h.height = prev.header.height + 1
	}
	hashes := make([]hash, len(txs))
	for i, t := range txs {
		hashes[i] = t.hash
		t.height = int64(h.height)
	}
	h.merkleHash = nulsdata.MerkleRoot(hashes)
	h.extend = extendData(h.height, time)
	unsigned := h.unsigned()
	b := &block{header: h, hash: nulsdata.DoubleSHA256(unsigned), txs: txs}
	b.headerBytes = append(unsigned, fakeSignature(packer, b.hash)...)
	return b
}

// bytes is the whole block as getBlockByHeight returns it: the header
// followed by every transaction (Block.serializeToStream).
func (b *block) bytes() []byte {
	out := append([]byte(nil), b.headerBytes...)
	for _, t := range b.txs {
		out = append(out, t.bytes...)
	}
	return out
}

// extendData is the consensus part of a header (BlockExtendsData): one
// round per block with a single packer, protocol version 1, and a state
// root derived from the height.
func extendData(height, time uint32) []byte {
	var w nulsdata.Writer
	w.U32(height + 1) // roundIndex
	w.U16(1)          // consensusMemberCount
	w.U32(time)       // roundStartTime
	w.U16(1)          // packingIndexOfRound
	w.U16(1)          // mainVersion
	w.U16(1)          // blockVersion
	w.U8(80)          // effectiveRatio
	w.U16(10)         // continuousIntervalCount
	root := sha256.Sum256([]byte{byte(height), byte(height >> 8), byte(height >> 16), byte(height >> 24)})
	w.VarBytes(root[:]) // stateRoot
	return w.B
}
