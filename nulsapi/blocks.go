package nulsapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// BlockHeader is nuls-api's BlockHeaderDto: a header decoded from the
// block module's hex.
type BlockHeader struct {
	Hash                 string `json:"hash"`
	PreHash              string `json:"preHash"`
	MerkleHash           string `json:"merkleHash"`
	Time                 string `json:"time"`
	Timestamp            int64  `json:"timestamp"`
	Height               int64  `json:"height"`
	TxCount              int    `json:"txCount"`
	BlockSignature       string `json:"blockSignature"`
	Size                 int    `json:"size"`
	PackingAddress       string `json:"packingAddress"`
	RoundIndex           int64  `json:"roundIndex"`
	ConsensusMemberCount int    `json:"consensusMemberCount"`
	RoundStartTime       string `json:"roundStartTime"`
	RoundStartTimestamp  int64  `json:"roundStartTimestamp"`
	PackingIndexOfRound  int    `json:"packingIndexOfRound"`
	MainVersion          int16  `json:"mainVersion"`
	BlockVersion         int16  `json:"blockVersion"`
	StateRoot            string `json:"stateRoot"`
}

// dateLayout is NulsDateUtils' format of a time, which nuls-api gives the
// seconds of a header's times in (in UTC here).
const dateLayout = "2006-01-02 15:04:05.000"

func dateOf(seconds uint32) string { return time.Unix(int64(seconds), 0).UTC().Format(dateLayout) }

// headerOf presents a header as nuls-api does, on chainID (the packing
// address's chain).
func headerOf(chainID int, h *nulsdata.BlockHeader) (*BlockHeader, error) {
	e, err := nulsdata.ParseExtends(h.Extend)
	if err != nil {
		return nil, err
	}
	return &BlockHeader{
		Hash: h.Hash().String(), PreHash: h.PreHash.String(), MerkleHash: h.MerkleHash.String(),
		Time: dateOf(h.Time), Timestamp: int64(h.Time), Height: int64(h.Height), TxCount: int(h.TxCount),
		BlockSignature: hex.EncodeToString(h.SignData), Size: h.Size(), PackingAddress: nulsdata.PublicKeyAddress(chainID, h.PublicKey),
		RoundIndex: int64(e.RoundIndex), ConsensusMemberCount: int(e.ConsensusMemberCount),
		RoundStartTime: dateOf(e.RoundStartTime), RoundStartTimestamp: int64(e.RoundStartTime),
		PackingIndexOfRound: int(e.PackingIndexOfRound), MainVersion: e.MainVersion, BlockVersion: e.BlockVersion,
		StateRoot: hex.EncodeToString(e.StateRoot),
	}, nil
}

// headerDTO decodes a serialized header as nuls-api presents it.
func headerDTO(chainID int, raw []byte) (*BlockHeader, error) {
	h, err := nulsdata.ParseBlockHeader(raw)
	if err != nil {
		return nil, err
	}
	return headerOf(chainID, h)
}

// hexValue reads the {"value": "<hex>"} a block module command answers; nil
// when it answers no block (null, {}, or no value). Another answer is the
// module's, not what nuls-api reads: ErrBadAnswer.
func hexValue(command string, raw json.RawMessage) ([]byte, error) {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: %s answered %.100s, not {\"value\": \"<hex>\"}", ErrBadAnswer, command, raw)
	}
	value, ok := v["value"]
	if !ok && len(v) > 0 {
		return nil, fmt.Errorf("%w: %s answered %.100s, not {\"value\": \"<hex>\"}", ErrBadAnswer, command, raw)
	}
	var h string
	if !ok || string(value) == "null" || json.Unmarshal(value, &h) != nil || h == "" {
		return nil, nil //nolint:nilerr // a value that is no string is no block, as nuls-api reads it
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("%w: %s answered a value that is not hex: %w", ErrBadAnswer, command, err)
	}
	return b, nil
}

// HeaderFromValue decodes the header a block module command answered as
// {"value": "<hex>"}, as nuls-api presents it on chainID; nil when it has
// none. For the gateway's newHeaders stream.
func HeaderFromValue(chainID int, command string, raw json.RawMessage) (*BlockHeader, error) {
	b, err := hexValue(command, raw)
	if err != nil || b == nil {
		return nil, err
	}
	dto, err := headerDTO(chainID, b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadAnswer, command, err)
	}
	return dto, nil
}

// headerFrom calls a block module command answering {"value": "<hex>"}
// and decodes the header; no header (a success without data, as nuls-api)
// when the module has none.
func headerFrom(ctx context.Context, c Caller, chainID int, command string, params map[string]any) (any, error) {
	raw, err := c.Call(ctx, command, params)
	if err != nil {
		return nil, err
	}
	dto, err := HeaderFromValue(chainID, command, raw)
	if dto == nil {
		return nil, err // an untyped nil: no result
	}
	return dto, err
}

// blockMethods are the profile's block header methods.
func blockMethods() []*Method {
	var ms []*Method
	ms = append(ms, &Method{Name: "getBestBlockHeader", Params: []string{"chainId"}, Commands: []string{"latestBlockHeader"},
		run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
			chainID, err := intArg(a, "chainId")
			if err != nil {
				return nil, err
			}
			return headerFrom(ctx, c, chainID, "latestBlockHeader", map[string]any{"chainId": chainID})
		}})
	ms = append(ms, &Method{Name: "getHeaderByHeight", Params: []string{"chainId", "height"}, Commands: []string{"getBlockHeaderByHeight"},
		run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
			chainID, err1 := intArg(a, "chainId")
			height, err2 := intArg(a, "height")
			if err := firstErr(err1, err2); err != nil {
				return nil, err
			}
			if height < 0 {
				return nil, &ParamError{Detail: "[height] is invalid"}
			}
			return headerFrom(ctx, c, chainID, "getBlockHeaderByHeight", map[string]any{"chainId": chainID, "height": height})
		}})
	ms = append(ms, &Method{Name: "getHeaderByHash", Params: []string{"chainId", "hash"}, Commands: []string{"getBlockHeaderByHash"},
		run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
			chainID, err1 := intArg(a, "chainId")
			h, err2 := stringArg(a, "hash")
			if err := firstErr(err1, err2); err != nil {
				return nil, err
			}
			if _, ok := nulsdata.ParseHash(h); !ok {
				return nil, &ParamError{Detail: "[hash] is required"}
			}
			return headerFrom(ctx, c, chainID, "getBlockHeaderByHash", map[string]any{"chainId": chainID, "hash": h})
		}})
	return ms
}
