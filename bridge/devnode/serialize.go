package devnode

import (
	"crypto/sha256"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// The devnode writes its blocks, headers and transactions in the NULS 2
// serialization (package nulsdata), so that what it answers has the layout
// of what a live node answers and decodes as one. The content is made up:
// keys and signatures are derived from fixed seeds, not from real
// secp256k1 keys, so nothing here verifies on a real chain. It is
// deterministic: the same chain ID, times and transfers give the same
// bytes and hashes.

// hash is a block or transaction hash.
type hash = nulsdata.Hash

// fakeSignature is the signature part NULS appends to a header or a
// transaction: the signer's public key and a signature, both as length
// prefixed byte strings. The signature is 64 bytes derived from the signed
// hash, standing in for a secp256k1 DER signature.
func fakeSignature(pubkey []byte, signed hash) []byte {
	a := sha256.Sum256(append([]byte("devnode/sig/1/"), signed[:]...))
	b := sha256.Sum256(append([]byte("devnode/sig/2/"), signed[:]...))
	var w nulsdata.Writer
	w.VarBytes(pubkey)
	w.VarBytes(append(a[:], b[:]...))
	return w.B
}
