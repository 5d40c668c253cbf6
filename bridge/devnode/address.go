package devnode

import (
	"crypto/sha256"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// newAddress derives an address on chainID from a public key, in the NULS
// 2 format (nulsdata.AddressString). The 20-byte hash stands in for
// RIPEMD-160(SHA-256(pubkey)): it is the first 20 bytes of SHA-256(pubkey),
// since the devnode's keys are made up anyway, and its addresses (in the
// tests and examples of this project) stay what they have always been.
func newAddress(chainID int, pubkey []byte) string {
	sum := sha256.Sum256(pubkey)
	return nulsdata.AddressString(nulsdata.RawAddress(chainID, nulsdata.AddressTypeNormal, sum[:20]))
}
