package devnode

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/big"
)

// The byte layouts below follow the NULS 2 Java serialization
// (io.nuls.base.data.BlockHeader, Transaction, CoinData) closely enough that
// a block header the devnode returns has the same field order and sizes as
// the ones captured from a live node (testdata/vectors: preHash, merkleHash,
// time, height, txCount, extend, signature). The content is made up: keys and
// signatures are derived from fixed seeds, not from real secp256k1 keys, so
// nothing here verifies on a real chain. It is deterministic: the same chain
// ID, times and transfers give the same bytes and hashes.

// hashLen is the length of a NULS hash (double SHA-256).
const hashLen = 32

// hash is a block or transaction hash.
type hash [hashLen]byte

// String returns the hash as NULS prints it: lowercase hex.
func (h hash) String() string { return hex.EncodeToString(h[:]) }

// parseHash reads a hash in hex; ok is false unless s is 64 hex digits.
func parseHash(s string) (h hash, ok bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != hashLen {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// doubleSHA256 is NULS's NulsHash.calcHash (Sha256Hash.hashTwice).
func doubleSHA256(b []byte) hash {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}

// writer builds a NULS serialization (NulsOutputStreamBuffer): integers little
// endian, byte strings prefixed by a Bitcoin-style VarInt length.
type writer struct{ b []byte }

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) raw(b []byte) { w.b = append(w.b, b...) }

// varInt writes n as a Bitcoin VarInt (io.nuls.base.basic.VarInt).
func (w *writer) varInt(n uint64) {
	switch {
	case n < 0xfd:
		w.u8(uint8(n))
	case n <= 0xffff:
		w.u8(0xfd)
		w.u16(uint16(n))
	case n <= 0xffffffff:
		w.u8(0xfe)
		w.u32(uint32(n))
	default:
		w.u8(0xff)
		w.u64(n)
	}
}

// varBytes writes a length-prefixed byte string (writeBytesWithLength).
func (w *writer) varBytes(b []byte) {
	w.varInt(uint64(len(b)))
	w.raw(b)
}

// bigInt writes a non-negative amount as 32 little-endian bytes
// (writeBigInteger: NULS amounts are uint256).
func (w *writer) bigInt(v *big.Int) {
	var be [32]byte
	v.FillBytes(be[:])
	for i := len(be) - 1; i >= 0; i-- {
		w.b = append(w.b, be[i])
	}
}

// merkleRoot is the Bitcoin-style Merkle root of the transaction hashes that
// NULS puts in a block header: pairs hashed with double SHA-256, the last one
// doubled when a level is odd.
func merkleRoot(hashes []hash) hash {
	if len(hashes) == 0 {
		return hash{}
	}
	level := append([]hash(nil), hashes...)
	for len(level) > 1 {
		var next []hash
		for i := 0; i < len(level); i += 2 {
			j := min(i+1, len(level)-1)
			next = append(next, doubleSHA256(append(level[i][:], level[j][:]...)))
		}
		level = next
	}
	return level[0]
}

// fakeSignature is the signature part NULS appends to a header or a
// transaction: the signer's public key and a signature, both as length
// prefixed byte strings. The signature is 64 bytes derived from the signed
// hash, standing in for a secp256k1 DER signature.
func fakeSignature(pubkey []byte, signed hash) []byte {
	a := sha256.Sum256(append([]byte("devnode/sig/1/"), signed[:]...))
	b := sha256.Sum256(append([]byte("devnode/sig/2/"), signed[:]...))
	var w writer
	w.varBytes(pubkey)
	w.varBytes(append(a[:], b[:]...))
	return w.b
}
