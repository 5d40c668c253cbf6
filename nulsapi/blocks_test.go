package nulsapi

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// liveHeader is the latest block header a live mainnet node answered
// (January 2020; nulsdata's testdata has it with the rest of the session).
const liveHeader = "b35768847c1fb3e1b084bc22ac37a76fc4ac14851d27565c27cd982987d27b2a6c0b569dc4059ebf2345cafbf6272b4fd91d6a4a0ad23f1edc919b995426ed65f290195e94ef0f00020000005c9e3000006c00bc8f195e1f0003000300500a0020e02a7727b88d0b7ac0e962efc38f2a919aa1920d7972287d346a19e0b5a995ee968e501b6f57efb20c77407bd03a5b554ac626046401d59790fd3e7fb6afa66b3d9e876af167bb2e210317307c053249f43236db64f926c7a555cc820c91510a6f97d1e1339e36f588324730450221008c04b84a38296b6be15137a84bbdae91ca1d507ec69064add55671d1da6eb57302203eada86cc175bcd6f447c0a251750a67c786147cc47879bca20282f686b50f9d"

// TestHeaderDTO decodes a live header as nuls-api presents it.
func TestHeaderDTO(t *testing.T) {
	raw, _ := hex.DecodeString(liveHeader)
	h, err := headerDTO(1, raw)
	if err != nil {
		t.Fatal(err)
	}
	if h.Height < 1000000 || h.TxCount < 1 || h.Size != len(raw) || !strings.HasPrefix(h.PackingAddress, "NULSd") ||
		len(h.Hash) != 64 || h.PreHash != liveHeader[:64] || !strings.HasPrefix(h.Time, "2020-01-") || h.ConsensusMemberCount == 0 {
		t.Errorf("%+v", h)
	}
}

// TestHexValue: what a block module answers for a block, for none, and
// what is not its answer at all (the real-peers demo module's
// getBlockHeaderByHeight answers {"height", "hash"}).
func TestHexValue(t *testing.T) {
	for _, tt := range []struct {
		raw      string
		want     string
		bad, nil bool
	}{
		{raw: `{"value":"00ff"}`, want: "00ff"},
		{raw: `{}`, nil: true},
		{raw: `null`, nil: true},
		{raw: `{"value":null}`, nil: true},
		{raw: `{"height":1,"hash":"00"}`, bad: true},
		{raw: `{"value":"xyz"}`, bad: true},
		{raw: `[1]`, bad: true},
	} {
		b, err := hexValue("getBlockHeaderByHeight", json.RawMessage(tt.raw))
		switch {
		case tt.bad:
			if !errors.Is(err, ErrBadAnswer) {
				t.Errorf("%s: %x %v, want ErrBadAnswer", tt.raw, b, err)
			}
		case tt.nil:
			if b != nil || err != nil {
				t.Errorf("%s: %x %v, want no block", tt.raw, b, err)
			}
		case err != nil || hex.EncodeToString(b) != tt.want:
			t.Errorf("%s: %x %v", tt.raw, b, err)
		}
	}
}
