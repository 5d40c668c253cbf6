package nulsdata

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/big"
	"strings"

	"golang.org/x/crypto/ripemd160" //nolint:staticcheck,gosec // G507: NULS addresses are defined with RIPEMD-160.
)

// Addresses follow the NULS 2 format (io.nuls.base.basic.AddressTool):
// prefix + length letter + Base58(chainId uint16 LE, type, hash160, xor).
// The prefix is "NULS" on chain 1, "tNULS" on chain 2 and the upper-cased
// Base58 of the chain ID elsewhere; the letter after it encodes the prefix
// length ("d" for 4, "e" for 5). So chain 2 addresses read "tNULSeBa…" and
// chain 1 ones "NULSd6H…".

const (
	// AddressTypeNormal is BaseConstant.DEFAULT_ADDRESS_TYPE.
	AddressTypeNormal = 1
	hash160Len        = 20
	// RawAddressLen is the length of an address in coin data: chain ID,
	// type and hash160 (Address.ADDRESS_LENGTH).
	RawAddressLen = 2 + 1 + hash160Len
)

// lengthPrefix is AddressTool.LENGTHPREFIX: the letter after the prefix.
var lengthPrefix = []string{"", "a", "b", "c", "d", "e"}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// ErrBadAddress reports a string that is not a NULS address.
var ErrBadAddress = errors.New("nulsdata: bad address")

// AddressPrefix is the prefix of chainID's addresses.
func AddressPrefix(chainID int) string {
	switch chainID {
	case 1:
		return "NULS"
	case 2:
		return "tNULS"
	}
	var b [2]byte
	binary.LittleEndian.PutUint16(b[:], uint16(chainID)) //nolint:gosec // G115: a chain ID is 2 bytes on the wire
	return strings.ToUpper(base58Encode(b[:]))
}

// lengthLetter is the letter after chainID's prefix.
func lengthLetter(chainID int) string {
	if n := len(AddressPrefix(chainID)); n < len(lengthPrefix) {
		return lengthPrefix[n]
	}
	return ""
}

// AddressString writes the 23 raw bytes of an address (as coin data holds
// them) as its string; "" when raw is not an address.
func AddressString(raw []byte) string {
	if len(raw) != RawAddressLen {
		return ""
	}
	chainID := int(binary.LittleEndian.Uint16(raw))
	body := append(append(make([]byte, 0, RawAddressLen+1), raw...), xor(raw))
	return AddressPrefix(chainID) + lengthLetter(chainID) + base58Encode(body)
}

// RawAddress is the 23 raw bytes of the address of type addrType on
// chainID whose hash160 is h.
func RawAddress(chainID int, addrType byte, h []byte) []byte {
	raw := make([]byte, 0, RawAddressLen)
	raw = binary.LittleEndian.AppendUint16(raw, uint16(chainID)) //nolint:gosec // G115: a chain ID is 2 bytes on the wire
	raw = append(raw, addrType)
	return append(raw, h...)
}

// PublicKeyAddress is the normal address of a public key on chainID:
// RIPEMD-160 of its SHA-256, as a block's packingAddress.
func PublicKeyAddress(chainID int, pubkey []byte) string {
	sum := sha256.Sum256(pubkey)
	rh := ripemd160.New() //nolint:gosec // G406: the address format's hash, not a choice of ours
	rh.Write(sum[:])
	return AddressString(RawAddress(chainID, AddressTypeNormal, rh.Sum(nil)))
}

// ParseAddress checks an address string and returns its chain ID and its
// raw 23 bytes.
func ParseAddress(s string) (chainID int, raw []byte, err error) {
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
	if !ok || len(b) != RawAddressLen+1 || xor(b[:RawAddressLen]) != b[RawAddressLen] {
		return 0, nil, ErrBadAddress
	}
	chainID = int(binary.LittleEndian.Uint16(b))
	if s != AddressPrefix(chainID)+lengthLetter(chainID)+body {
		return 0, nil, ErrBadAddress
	}
	return chainID, b[:RawAddressLen], nil
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
	if s == "" || len(s) > 64 {
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
