package devnode

import (
	"strings"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
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
		id, raw, err := nulsdata.ParseAddress(addr)
		if err != nil || id != tt.chainID || len(raw) != nulsdata.RawAddressLen || raw[2] != nulsdata.AddressTypeNormal {
			t.Errorf("parse %s: chain %d raw %x err %v", addr, id, raw, err)
		}
	}
	// The real addresses parse, with their chain.
	for addr, chain := range map[string]int{
		"tNULSeBaMkef3L6EsMcigwT1C1uebzfsj63jd3": 2,
		"NULSd6Hgen9wbmV3eWreyWAuip5DWwzBkbczc":  1,
	} {
		if id, _, err := nulsdata.ParseAddress(addr); err != nil || id != chain {
			t.Errorf("real address %s: chain %d, %v", addr, id, err)
		}
	}
	good := newAddress(2, pubkeyFromSeed("k"))
	for _, bad := range []string{"", "tNULSe", "NULSd" + good[6:], good[:len(good)-1] + "1", good + "1", "tNULSeBa0OIl", "xyz"} {
		if _, _, err := nulsdata.ParseAddress(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
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
