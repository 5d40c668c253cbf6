package nulsdata

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"
)

// liveNode is hex a live node answered (testdata): block headers, two
// whole blocks, two header POs (a header's hash first), and the heights it
// reported.
type liveNode struct {
	Headers, Blocks, HeaderPos []string
	LatestHeights              []uint32
}

func loadLive(t *testing.T) liveNode {
	t.Helper()
	b, err := os.ReadFile("testdata/live_node_2020-01.json")
	if err != nil {
		t.Fatal(err)
	}
	var v liveNode
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Headers) == 0 || len(v.Blocks) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLiveHeaders parses every header the node answered, writes it back
// byte for byte, and checks what a header must say on chain 1.
func TestLiveHeaders(t *testing.T) {
	v := loadLive(t)
	for i, s := range v.Headers {
		raw := mustHex(t, s)
		h, err := ParseBlockHeader(raw)
		if err != nil {
			t.Fatalf("header %d: %v", i, err)
		}
		if !bytes.Equal(h.Bytes(), raw) {
			t.Fatalf("header %d: written back differently", i)
		}
		e, err := ParseExtends(h.Extend)
		if err != nil {
			t.Fatalf("header %d extension: %v", i, err)
		}
		if !bytes.Equal(e.Bytes(), h.Extend) {
			t.Fatalf("header %d: extension written back differently", i)
		}
		if h.TxCount == 0 || len(h.PublicKey) != 33 || e.ConsensusMemberCount == 0 || e.PackingIndexOfRound > e.ConsensusMemberCount {
			t.Errorf("header %d: height %d, %d txs, key of %d bytes, member %d of %d", i, h.Height, h.TxCount, len(h.PublicKey), e.PackingIndexOfRound, e.ConsensusMemberCount)
		}
		if a := PublicKeyAddress(1, h.PublicKey); len(a) < 30 || a[:5] != "NULSd" {
			t.Errorf("header %d: packing address %q", i, a)
		}
	}
}

// TestLiveHeaderHash: a header PO (the block module's stored form) holds
// the block's hash near its start; it must be the hash, as computed here,
// of one of the headers the node answered in the same session.
func TestLiveHeaderHash(t *testing.T) {
	v := loadLive(t)
	for i, po := range v.HeaderPos {
		raw := mustHex(t, po)
		for _, s := range v.Headers {
			h, err := ParseBlockHeader(mustHex(t, s))
			if err != nil {
				t.Fatal(err)
			}
			if hh := h.Hash(); bytes.Contains(raw[:64], hh[:]) {
				goto found
			}
		}
		t.Errorf("header PO %d: no captured header hashes to its hash %x", i, raw[:33])
	found:
	}
}

// TestLiveBlocks parses the whole blocks: their transactions, their coin
// data and the Merkle root of the transaction hashes, which must be the
// header's.
func TestLiveBlocks(t *testing.T) {
	v := loadLive(t)
	for i, s := range v.Blocks {
		raw := mustHex(t, s)
		b, err := ParseBlock(raw)
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if !bytes.Equal(b.Bytes(), raw) {
			t.Fatalf("block %d: written back differently", i)
		}
		if len(b.Txs) != int(b.Header.TxCount) || b.Txs[0].Type != 1 {
			t.Fatalf("block %d: %d txs of %d, the first of type %d (want the coinbase, 1)", i, len(b.Txs), b.Header.TxCount, b.Txs[0].Type)
		}
		var hashes []Hash
		for j, tx := range b.Txs {
			hashes = append(hashes, tx.Hash())
			cd, err := ParseCoinData(tx.CoinData)
			if err != nil {
				t.Fatalf("block %d tx %d coin data: %v", i, j, err)
			}
			if !bytes.Equal(cd.Bytes(), tx.CoinData) && len(tx.CoinData) > 0 {
				t.Fatalf("block %d tx %d: coin data written back differently", i, j)
			}
			for _, to := range cd.To {
				if a := AddressString(to.Address); a == "" || to.Amount.Sign() < 0 {
					t.Errorf("block %d tx %d: output to %x of %v", i, j, to.Address, to.Amount)
				}
			}
		}
		if MerkleRoot(hashes) != b.Header.MerkleHash {
			t.Errorf("block %d: Merkle root of the tx hashes %s, header says %s", i, MerkleRoot(hashes), b.Header.MerkleHash)
		}
		// The node reported its latest height next to its latest block.
		if b.Header.Height != v.LatestHeights[i] && b.Header.Height+1 != v.LatestHeights[i] {
			t.Errorf("block %d at height %d; the node said %d", i, b.Header.Height, v.LatestHeights[i])
		}
	}
}

func TestAddressRoundTrip(t *testing.T) {
	for _, s := range []string{"NULSd6Hgen9wbmV3eWreyWAuip5DWwzBkbczc", "tNULSeBaMqPDhRwU2N8W6KCDqdzo6ZC2dDyjzQ"} {
		chain, raw, err := ParseAddress(s)
		if err != nil || AddressString(raw) != s {
			t.Errorf("%s: chain %d, %v, back %q", s, chain, err, AddressString(raw))
		}
	}
	if _, _, err := ParseAddress("NULSd6Hgen9wbmV3eWreyWAuip5DWwzBkbczd"); err == nil {
		t.Error("a bad check byte passed")
	}
}

func TestAmountRoundTrip(t *testing.T) {
	for _, s := range []string{"0", "1", "100000000000000", "115792089237316195423570985008687907853269984665640564039457584007913129639935"} {
		v, _ := new(big.Int).SetString(s, 10)
		var w Writer
		w.Amount(v)
		r := &reader{b: w.B}
		got := r.amount()
		if s == "115792089237316195423570985008687907853269984665640564039457584007913129639935" {
			if r.err == nil {
				t.Error("2^256-1 read as an amount: Java refuses it as negative")
			}
			continue
		}
		if r.err != nil || got.Cmp(v) != 0 || len(w.B) != 32 {
			t.Errorf("%s: %v %v", s, got, r.err)
		}
	}
}

// FuzzParse: no bytes make a parser panic, and what parses writes back to
// the same bytes.
func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 80))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := ParseBlockHeader(b); err == nil && !bytes.Equal(h.Bytes(), b) {
			t.Fatalf("header %x written back as %x", b, h.Bytes())
		}
		if tx, err := ParseTransaction(b); err == nil && !bytes.Equal(tx.Bytes(), b) {
			// A VarInt may be written shorter than it was read.
			if _, err := ParseTransaction(tx.Bytes()); err != nil {
				t.Fatalf("tx %x: written back unreadable", b)
			}
		}
		_, _ = ParseBlock(b)
		_, _ = ParseCoinData(b)
		_, _ = ParseExtends(b)
	})
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
		var w Writer
		w.VarInt(tt.n)
		if got := hex.EncodeToString(w.B); got != tt.want {
			t.Errorf("varInt(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
	var w Writer
	w.Amount(big.NewInt(0x0102))
	if got := hex.EncodeToString(w.B); got != "0201"+strings.Repeat("00", 30) {
		t.Errorf("amount %s", got)
	}
}
