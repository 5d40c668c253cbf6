package devnode

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/big"
	"strings"
)

// Addresses follow the NULS 2 format (io.nuls.base.basic.AddressTool):
// prefix + length letter + Base58(chainId uint16 LE, type, hash160, xor).
// The prefix is "NULS" on chain 1, "tNULS" on chain 2 and the upper-cased
// Base58 of the chain ID elsewhere; the letter after it encodes the prefix
// length ("d" for 4, "e" for 5). So chain 2 addresses read "tNULSeBa…" and
// chain 1 ones "NULSd6H…", as on the real networks.
//
// The 20-byte hash stands in for RIPEMD-160(SHA-256(pubkey)): it is the
// first 20 bytes of SHA-256(pubkey), since the devnode's keys are made up
// anyway and the standard library has no RIPEMD-160.

const (
	addressTypeNormal = 1  // BaseConstant.DEFAULT_ADDRESS_TYPE
	hash160Len        = 20 // Address.ADDRESS_LENGTH - 3
	rawAddressLen     = 2 + 1 + hash160Len
)

// lengthPrefix is AddressTool.LENGTHPREFIX: the letter after the prefix.
var lengthPrefix = []string{"", "a", "b", "c", "d", "e"}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var errBadAddress = errors.New("devnode: bad address")

// addressPrefix is the prefix of chainID's addresses.
func addressPrefix(chainID int) string {
	switch chainID {
	case 1:
		return "NULS"
	case 2:
		return "tNULS"
	}
	var b [2]byte
	binary.LittleEndian.PutUint16(b[:], uint16(chainID))
	return strings.ToUpper(base58Encode(b[:]))
}

// newAddress derives an address on chainID from a public key.
func newAddress(chainID int, pubkey []byte) string {
	sum := sha256.Sum256(pubkey)
	raw := make([]byte, 0, rawAddressLen+1)
	raw = binary.LittleEndian.AppendUint16(raw, uint16(chainID))
	raw = append(raw, addressTypeNormal)
	raw = append(raw, sum[:hash160Len]...)
	raw = append(raw, xor(raw))
	p := addressPrefix(chainID)
	letter := ""
	if len(p) < len(lengthPrefix) {
		letter = lengthPrefix[len(p)]
	}
	return p + letter + base58Encode(raw)
}

// parseAddress checks an address string and returns its chain ID and its raw
// 23 bytes (chain ID, type, hash160), as a coin in a transaction holds it.
func parseAddress(s string) (chainID int, raw []byte, err error) {
	body := ""
	switch {
	case strings.HasPrefix(s, "NULSd"):
		body = s[len("NULSd"):]
	case strings.HasPrefix(s, "tNULSe"):
		body = s[len("tNULSe"):]
	default:
		// Another chain: the prefix is upper case, the length letter the
		// first lower-case letter after it (AddressTool.getRealAddressStr).
		for i := 1; i < len(s); i++ {
			if s[i] >= 'a' && s[i] <= 'z' {
				body = s[i+1:]
				break
			}
		}
	}
	b, ok := base58Decode(body)
	if !ok || len(b) != rawAddressLen+1 || xor(b[:rawAddressLen]) != b[rawAddressLen] {
		return 0, nil, errBadAddress
	}
	chainID = int(binary.LittleEndian.Uint16(b))
	if s != addressPrefix(chainID)+lengthLetter(chainID)+body {
		return 0, nil, errBadAddress
	}
	return chainID, b[:rawAddressLen], nil
}

func lengthLetter(chainID int) string {
	if n := len(addressPrefix(chainID)); n < len(lengthPrefix) {
		return lengthPrefix[n]
	}
	return ""
}

// xor is AddressTool.getXor: the check byte of an address.
func xor(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

func base58Encode(b []byte) string {
	n := new(big.Int).SetBytes(b)
	radix := big.NewInt(58)
	mod := new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, base58Alphabet[0])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func base58Decode(s string) ([]byte, bool) {
	if s == "" {
		return nil, false
	}
	n := new(big.Int)
	radix := big.NewInt(58)
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base58Alphabet, s[i])
		if d < 0 {
			return nil, false
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(d)))
	}
	body := n.Bytes()
	zeros := 0
	for zeros < len(s) && s[zeros] == base58Alphabet[0] {
		zeros++
	}
	return append(make([]byte, zeros), body...), true
}
