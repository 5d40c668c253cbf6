package devnode

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
)

// TestAddressFormat checks addresses against the look of real ones:
// "tNULSeBa…" on the testnet (chain 2, as "tNULSeBaMkef3L6EsMcigwT1C1uebzfsj63jd3"
// in the ChainBox guide) and "NULSd6H…" on the mainnet (as
// "NULSd6Hgen9wbmV3eWreyWAuip5DWwzBkbczc" in the captured traffic).
func TestAddressFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		chainID int
		prefix  string
		length  int
	}{
		{1, "NULSd6H", len("NULSd6Hgen9wbmV3eWreyWAuip5DWwzBkbczc")},
		{2, "tNULSeBa", len("tNULSeBaMkef3L6EsMcigwT1C1uebzfsj63jd3")},
		{9, "", 0},
	}
	for _, tt := range tests {
		addr := newAddress(tt.chainID, pubkeyFromSeed("k"))
		if !strings.HasPrefix(addr, tt.prefix) || (tt.length > 0 && len(addr) != tt.length) {
			t.Errorf("chain %d address %s, want %s… of %d characters", tt.chainID, addr, tt.prefix, tt.length)
		}
		id, raw, err := parseAddress(addr)
		if err != nil || id != tt.chainID || len(raw) != rawAddressLen || raw[2] != addressTypeNormal {
			t.Errorf("parse %s: chain %d raw %x err %v", addr, id, raw, err)
		}
	}
	// The real addresses parse, with their chain.
	for addr, chain := range map[string]int{
		"tNULSeBaMkef3L6EsMcigwT1C1uebzfsj63jd3": 2,
		"NULSd6Hgen9wbmV3eWreyWAuip5DWwzBkbczc":  1,
	} {
		if id, _, err := parseAddress(addr); err != nil || id != chain {
			t.Errorf("real address %s: chain %d, %v", addr, id, err)
		}
	}
	good := newAddress(2, pubkeyFromSeed("k"))
	for _, bad := range []string{"", "tNULSe", "NULSd" + good[6:], good[:len(good)-1] + "1", good + "1", "tNULSeBa0OIl", "xyz"} {
		if _, _, err := parseAddress(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestBase58(t *testing.T) {
	t.Parallel()
	for _, b := range [][]byte{{0}, {0, 0, 1}, {1, 2, 3}, bytes.Repeat([]byte{0xff}, 24)} {
		got, ok := base58Decode(base58Encode(b))
		if !ok || !bytes.Equal(got, b) {
			t.Errorf("round trip of %x gave %x", b, got)
		}
	}
}

func TestVarIntAndAmounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "00"}, {0xfc, "fc"}, {0xfd, "fdfd00"}, {0x10000, "fe00000100"}, {1 << 32, "ff0000000001000000"},
	}
	for _, tt := range tests {
		var w writer
		w.varInt(tt.n)
		if got := hex.EncodeToString(w.b); got != tt.want {
			t.Errorf("varInt(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
	var w writer
	w.bigInt(big.NewInt(0x0102))
	if got := hex.EncodeToString(w.b); got != "0201"+strings.Repeat("00", 30) {
		t.Errorf("amount %s", got)
	}
}

func TestMerkleRoot(t *testing.T) {
	t.Parallel()
	a, b, c := doubleSHA256([]byte("a")), doubleSHA256([]byte("b")), doubleSHA256([]byte("c"))
	if merkleRoot([]hash{a}) != a {
		t.Error("the root of one hash is the hash")
	}
	ab := doubleSHA256(append(a[:], b[:]...))
	cc := doubleSHA256(append(c[:], c[:]...))
	if got := merkleRoot([]hash{a, b, c}); got != doubleSHA256(append(ab[:], cc[:]...)) {
		t.Error("root of three hashes")
	}
}

func TestValidPassword(t *testing.T) {
	t.Parallel()
	for pw, want := range map[string]bool{
		"nuls123456": true, "abc12345": true, "Ab1_-#@!.,": true,
		"abc1234": false, "12345678": false, "abcdefgh": false, "abc 12345": false, strings.Repeat("a1", 11): false,
	} {
		if got := validPassword(pw); got != want {
			t.Errorf("validPassword(%q) = %v", pw, got)
		}
	}
}
