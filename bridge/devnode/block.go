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
	nt := nulsdata.Transaction{Type: t.typ, Time: t.time, Remark: t.remark, TxData: t.data, CoinData: t.coinData()}
	t.hash = nt.Hash()
	if len(t.signer) > 0 {
		nt.Signature = fakeSignature(t.signer, t.hash)
	}
	t.bytes = nt.Bytes()
}

func (t *tx) coinData() []byte {
	if len(t.froms) == 0 && len(t.tos) == 0 {
		return nil
	}
	var cd nulsdata.CoinData
	for _, f := range t.froms {
		cd.From = append(cd.From, nulsdata.CoinFrom{Address: f.address, AssetChainID: f.assetChainID, AssetID: f.assetID, Amount: f.amount, Nonce: f.nonce[:], Locked: f.locked})
	}
	for _, c := range t.tos {
		cd.To = append(cd.To, nulsdata.CoinTo{Address: c.address, AssetChainID: c.assetChainID, AssetID: c.assetID, Amount: c.amount, LockTime: c.lockTime})
	}
	return cd.Bytes()
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
	nh := nulsdata.BlockHeader{PreHash: h.preHash, MerkleHash: h.merkleHash, Time: h.time, Height: h.height, TxCount: h.txCount, Extend: h.extend}
	return nh.Unsigned()
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
