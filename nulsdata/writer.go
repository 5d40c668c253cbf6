package nulsdata

import (
	"encoding/binary"
	"math/big"
)

// Writer builds a serialization (NulsOutputStreamBuffer): integers little
// endian, byte strings prefixed by a Bitcoin VarInt length.
type Writer struct{ B []byte }

// U8 writes one byte.
func (w *Writer) U8(v uint8) { w.B = append(w.B, v) }

// U16 writes v in 2 bytes, little endian.
func (w *Writer) U16(v uint16) { w.B = binary.LittleEndian.AppendUint16(w.B, v) }

// U32 writes v in 4 bytes, little endian.
func (w *Writer) U32(v uint32) { w.B = binary.LittleEndian.AppendUint32(w.B, v) }

// U64 writes v in 8 bytes, little endian.
func (w *Writer) U64(v uint64) { w.B = binary.LittleEndian.AppendUint64(w.B, v) }

// Raw writes b as it is, without a length.
func (w *Writer) Raw(b []byte) { w.B = append(w.B, b...) }

// VarInt writes n as a Bitcoin VarInt (io.nuls.core.basic.VarInt).
func (w *Writer) VarInt(n uint64) {
	switch {
	case n < 0xfd:
		w.U8(uint8(n))
	case n <= 0xffff:
		w.U8(0xfd)
		w.U16(uint16(n))
	case n <= 0xffffffff:
		w.U8(0xfe)
		w.U32(uint32(n))
	default:
		w.U8(0xff)
		w.U64(n)
	}
}

// VarBytes writes a length-prefixed byte string (writeBytesWithLength).
func (w *Writer) VarBytes(b []byte) {
	w.VarInt(uint64(len(b)))
	w.Raw(b)
}

// Amount writes a non-negative amount as 32 little-endian bytes
// (writeBigInteger: NULS amounts are uint256).
func (w *Writer) Amount(v *big.Int) {
	var be [32]byte
	v.FillBytes(be[:])
	for i := len(be) - 1; i >= 0; i-- {
		w.B = append(w.B, be[i])
	}
}
