package nulsdata

import (
	"encoding/binary"
	"fmt"
)

// BlockHeader is io.nuls.base.data.BlockHeader.
type BlockHeader struct {
	PreHash, MerkleHash Hash
	// Time is the block's time in seconds since the epoch.
	Time, Height, TxCount uint32
	// Extend is the serialized BlockExtendsData (ParseExtends).
	Extend []byte
	// PublicKey and SignData are the packer's BlockSignature: its
	// public key, and the serialized NulsSignData (the signature with
	// its length).
	PublicKey, SignData []byte
}

// ParseBlockHeader reads a serialized block header.
func ParseBlockHeader(b []byte) (*BlockHeader, error) {
	r := &reader{b: b}
	h := readHeader(r)
	if err := r.done("block header"); err != nil {
		return nil, err
	}
	return h, nil
}

func readHeader(r *reader) *BlockHeader {
	h := &BlockHeader{PreHash: r.hash(), MerkleHash: r.hash(), Time: r.u32(), Height: r.u32(), TxCount: r.u32()}
	h.Extend = r.varBytes()
	// BlockSignature: a one-byte key length, the key, then NulsSignData
	// (the signature as a length-prefixed byte string).
	h.PublicKey = append([]byte(nil), r.take(int(r.u8()))...)
	start := r.off
	_ = r.varBytes()
	if r.err == nil {
		h.SignData = append([]byte(nil), r.b[start:r.off]...)
	}
	return h
}

// Unsigned is the header without its signature: what its hash covers and
// its packer signs (serializeWithoutSign).
func (h *BlockHeader) Unsigned() []byte {
	var w Writer
	w.Raw(h.PreHash[:])
	w.Raw(h.MerkleHash[:])
	w.U32(h.Time)
	w.U32(h.Height)
	w.U32(h.TxCount)
	w.VarBytes(h.Extend)
	return w.B
}

// Bytes is the header's serialization.
func (h *BlockHeader) Bytes() []byte {
	w := Writer{B: h.Unsigned()}
	w.U8(uint8(len(h.PublicKey))) //nolint:gosec // G115: a 1-byte length on the wire; a parsed key is never longer
	w.Raw(h.PublicKey)
	w.Raw(h.SignData)
	return w.B
}

// Size is the length of the header's serialization.
func (h *BlockHeader) Size() int { return len(h.Bytes()) }

// Hash is the block's hash.
func (h *BlockHeader) Hash() Hash { return DoubleSHA256(h.Unsigned()) }

// Extends is io.nuls.base.data.BlockExtendsData, the consensus part of a
// header.
type Extends struct {
	RoundIndex              uint32
	ConsensusMemberCount    uint16
	RoundStartTime          uint32
	PackingIndexOfRound     uint16
	MainVersion             int16
	BlockVersion            int16
	EffectiveRatio          int8
	ContinuousIntervalCount int16
	StateRoot               []byte
	// Seed and NextSeedHash are there on chains with random seeds.
	Seed, NextSeedHash []byte
}

// ParseExtends reads a header's Extend.
func ParseExtends(b []byte) (*Extends, error) {
	r := &reader{b: b}
	// Java's short and byte: the same bits, read as signed.
	e := &Extends{RoundIndex: r.u32(), ConsensusMemberCount: r.u16(), RoundStartTime: r.u32(), PackingIndexOfRound: r.u16(),
		MainVersion: int16(r.u16()), BlockVersion: int16(r.u16()), EffectiveRatio: int8(r.u8()), ContinuousIntervalCount: int16(r.u16())} //nolint:gosec // G115: see above
	e.StateRoot = r.varBytes()
	if r.err == nil && len(b)-r.off >= 40 {
		e.Seed = append([]byte(nil), r.take(32)...)
		e.NextSeedHash = append([]byte(nil), r.take(8)...)
	}
	if err := r.done("block extension"); err != nil {
		return nil, err
	}
	return e, nil
}

// Bytes is the extension's serialization.
func (e *Extends) Bytes() []byte {
	var w Writer
	w.U32(e.RoundIndex)
	w.U16(e.ConsensusMemberCount)
	w.U32(e.RoundStartTime)
	w.U16(e.PackingIndexOfRound)
	// Java's short and byte: the same bits, written as unsigned.
	w.U16(uint16(e.MainVersion))             //nolint:gosec // G115: see above
	w.U16(uint16(e.BlockVersion))            //nolint:gosec // G115: see above
	w.U8(uint8(e.EffectiveRatio))            //nolint:gosec // G115: see above
	w.U16(uint16(e.ContinuousIntervalCount)) //nolint:gosec // G115: see above
	w.VarBytes(e.StateRoot)
	if e.Seed != nil {
		w.Raw(e.Seed)
		w.Raw(e.NextSeedHash)
	}
	return w.B
}

// Block is a header and its transactions.
type Block struct {
	Header *BlockHeader
	Txs    []*Transaction
}

// maxTxs bounds what a block header may declare before the bytes show it.
const maxTxs = 1 << 20

// ParseBlock reads a serialized block.
func ParseBlock(b []byte) (*Block, error) {
	r := &reader{b: b}
	blk := &Block{Header: readHeader(r)}
	if r.err == nil && blk.Header.TxCount > maxTxs {
		return nil, fmt.Errorf("nulsdata: block: %d transactions declared", blk.Header.TxCount)
	}
	for i := uint32(0); i < blk.Header.TxCount && r.err == nil; i++ {
		blk.Txs = append(blk.Txs, readTx(r))
	}
	if err := r.done("block"); err != nil {
		return nil, err
	}
	return blk, nil
}

// Bytes is the block's serialization.
func (b *Block) Bytes() []byte {
	w := Writer{B: b.Header.Bytes()}
	for _, tx := range b.Txs {
		w.Raw(tx.Bytes())
	}
	return w.B
}

// headerHeightAt is where a serialized header (and so a block, which
// starts with its header) holds its height: after the previous hash, the
// Merkle hash and the time.
const headerHeightAt = 32 + 32 + 4

// BlockHeight reads the height of a serialized block or block header
// without parsing the rest; ok is false when b is too short to hold one.
func BlockHeight(b []byte) (height int64, ok bool) {
	if len(b) < headerHeightAt+4 {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint32(b[headerHeightAt:])), true
}
