package nulsdata

import (
	"crypto/sha256"
	"encoding/hex"
)

// HashLen is the length of a NULS hash.
const HashLen = 32

// Hash is a block or transaction hash (NulsHash).
type Hash [HashLen]byte

// String returns the hash as NULS prints it: lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads a hash in hex; ok is false unless s is 64 hex digits.
func ParseHash(s string) (h Hash, ok bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != HashLen {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// DoubleSHA256 is NulsHash.calcHash (Sha256Hash.hashTwice).
func DoubleSHA256(b []byte) Hash {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}

// MerkleRoot is the Merkle root of the transaction hashes that a block
// header holds (NulsHash.calcMerkleHash): each pair of a level hashed with
// double SHA-256, each of the two byte-reversed first; the last one of an
// odd level paired with itself.
func MerkleRoot(hashes []Hash) Hash {
	if len(hashes) == 0 {
		return Hash{}
	}
	level := append([]Hash(nil), hashes...)
	for len(level) > 1 {
		var next []Hash
		for i := 0; i < len(level); i += 2 {
			j := min(i+1, len(level)-1)
			var pair [2 * HashLen]byte
			for k := range HashLen {
				pair[k] = level[i][HashLen-1-k]
				pair[HashLen+k] = level[j][HashLen-1-k]
			}
			next = append(next, DoubleSHA256(pair[:]))
		}
		level = next
	}
	return level[0]
}
