package nulsapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// Transaction is nuls-api's TransactionDto: a transaction decoded, its
// coin data as lists of inputs and outputs.
type Transaction struct {
	Hash                 string     `json:"hash"`
	Type                 int        `json:"type"`
	Time                 string     `json:"time"`
	Timestamp            int64      `json:"timestamp"`
	BlockHeight          int64      `json:"blockHeight"`
	BlockHash            *string    `json:"blockHash"`
	Remark               string     `json:"remark"`
	TransactionSignature string     `json:"transactionSignature"`
	TxDataHex            string     `json:"txDataHex"`
	Status               int        `json:"status"`
	Size                 int        `json:"size"`
	InBlockIndex         int        `json:"inBlockIndex"`
	From                 []CoinFrom `json:"from"`
	To                   []CoinTo   `json:"to"`
}

// CoinFrom is nuls-api's CoinFromDto.
type CoinFrom struct {
	Address       string `json:"address"`
	AssetsChainID int    `json:"assetsChainId"`
	AssetsID      int    `json:"assetsId"`
	Amount        string `json:"amount"`
	Nonce         string `json:"nonce"`
	Locked        int8   `json:"locked"`
}

// CoinTo is nuls-api's CoinToDto.
type CoinTo struct {
	Address       string `json:"address"`
	AssetsChainID int    `json:"assetsChainId"`
	AssetsID      int    `json:"assetsId"`
	Amount        string `json:"amount"`
	LockTime      int64  `json:"lockTime"`
}

// txDTO decodes a transaction as nuls-api presents it.
func txDTO(tx *nulsdata.Transaction, height int64, status, index int) (*Transaction, error) {
	d := &Transaction{Hash: tx.Hash().String(), Type: int(tx.Type), Time: dateOf(tx.Time), Timestamp: int64(tx.Time),
		BlockHeight: height, Remark: string(tx.Remark), TransactionSignature: hex.EncodeToString(tx.Signature),
		TxDataHex: hex.EncodeToString(tx.TxData), Status: status, Size: tx.Size(), InBlockIndex: index}
	if len(tx.CoinData) > 0 {
		cd, err := nulsdata.ParseCoinData(tx.CoinData)
		if err != nil {
			return nil, err
		}
		d.From, d.To = []CoinFrom{}, []CoinTo{}
		for _, f := range cd.From {
			d.From = append(d.From, CoinFrom{Address: nulsdata.AddressString(f.Address), AssetsChainID: int(f.AssetChainID), AssetsID: int(f.AssetID),
				Amount: f.Amount.String(), Nonce: hex.EncodeToString(f.Nonce), Locked: int8(f.Locked)}) //nolint:gosec // G115: Java's byte, as nuls-api shows it
		}
		for _, t := range cd.To {
			d.To = append(d.To, CoinTo{Address: nulsdata.AddressString(t.Address), AssetsChainID: int(t.AssetChainID), AssetsID: int(t.AssetID),
				Amount: t.Amount.String(), LockTime: t.LockTime})
		}
	}
	return d, nil
}

// Block is nuls-api's BlockDto.
type Block struct {
	Header *BlockHeader   `json:"header"`
	Txs    []*Transaction `json:"txs"`
}

// blockFrom calls a block module command answering {"value": "<hex>"} and
// decodes the block; nil when the module has none.
func blockFrom(ctx context.Context, c Caller, chainID int, command string, params map[string]any) (any, error) {
	raw, err := c.Call(ctx, command, params)
	if err != nil {
		return nil, err
	}
	b, err := hexValue(command, raw)
	if err != nil || b == nil {
		return nil, err
	}
	blk, err := nulsdata.ParseBlock(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadAnswer, command, err)
	}
	hdr, err := headerOf(chainID, blk.Header)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadAnswer, command, err)
	}
	out := &Block{Header: hdr, Txs: []*Transaction{}}
	blockHash := hdr.Hash
	for i, tx := range blk.Txs {
		d, err := txDTO(tx, int64(blk.Header.Height), 1, i)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: transaction %d: %w", ErrBadAnswer, command, i, err)
		}
		d.BlockHash = &blockHash
		out.Txs = append(out.Txs, d)
	}
	return out, nil
}

// txMethods are the profile's transaction and block methods.
func txMethods() []*Method {
	var ms []*Method
	ms = append(ms, &Method{Name: "getTx", Params: []string{"chainId", "txHash"}, Commands: []string{"tx_getTxClient"},
		run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
			chainID, err1 := intArg(a, "chainId")
			h, err2 := stringArg(a, "txHash")
			if err := firstErr(err1, err2); err != nil {
				return nil, err
			}
			if _, ok := nulsdata.ParseHash(h); !ok {
				return nil, &ParamError{Detail: "[txHash] is inValid"}
			}
			raw, err := c.Call(ctx, "tx_getTxClient", map[string]any{"chainId": chainID, "txHash": h})
			if err != nil {
				return nil, err
			}
			var r struct {
				Tx     string `json:"tx"`
				Height int64  `json:"height"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal(raw, &r); err != nil || r.Tx == "" {
				return nil, ErrDataNotFound
			}
			b, err := hex.DecodeString(r.Tx)
			if err != nil {
				return nil, fmt.Errorf("%w: tx_getTxClient answered a transaction that is not hex: %w", ErrBadAnswer, err)
			}
			tx, err := nulsdata.ParseTransaction(b)
			if err != nil {
				return nil, fmt.Errorf("%w: tx_getTxClient: %w", ErrBadAnswer, err)
			}
			return txDTO(tx, r.Height, r.Status, 0)
		}})
	for _, m := range []struct{ name, command, param string }{
		{"getBestBlock", "latestBlock", ""}, {"getBlockByHeight", "getBlockByHeight", "height"}, {"getBlockByHash", "getBlockByHash", "hash"},
	} {
		params := []string{"chainId"}
		if m.param != "" {
			params = append(params, m.param)
		}
		ms = append(ms, &Method{Name: m.name, Params: params, Commands: []string{m.command},
			run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
				chainID, err := intArg(a, "chainId")
				if err != nil {
					return nil, err
				}
				p := map[string]any{"chainId": chainID}
				switch m.param {
				case "height":
					h, err := intArg(a, "height")
					if err != nil || h < 0 {
						return nil, &ParamError{Detail: "[height] is invalid"}
					}
					p["height"] = h
				case "hash":
					h, err := stringArg(a, "hash")
					if _, ok := nulsdata.ParseHash(h); err != nil || !ok {
						return nil, &ParamError{Detail: "[hash] is invalid"}
					}
					p["hash"] = h
				}
				return blockFrom(ctx, c, chainID, m.command, p)
			}})
	}
	return ms
}

// ErrTxParse is nuls-api's "999" "Transaction parse error!".
var ErrTxParse = errors.New("Transaction parse error!") //nolint:revive,staticcheck // error-strings, ST1005: nuls-api's message, word for word

// broadcastMethods hand a client's signed transaction to the transaction module.
func broadcastMethods() []*Method {
	var ms []*Method
	// A client's signed transaction, to the transaction module: checked
	// and broadcast, broadcast unchecked, or only checked. The answer is
	// the module's {"value": true, "hash": …}. nuls-api also checks a
	// contract transaction's arguments with the contract module first;
	// the profile leaves that to the transaction module's own checks.
	for _, m := range []struct{ name, command string }{
		{"broadcastTx", "tx_newTx"}, {"broadcastTxWithoutAnyValidation", "tx_broadcast"}, {"validateTx", "tx_verifyTx"},
	} {
		ms = append(ms, &Method{Name: m.name, Params: []string{"chainId", "txHex"}, Commands: []string{m.command},
			run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
				chainID, err1 := intArg(a, "chainId")
				txHex, err2 := stringArg(a, "txHex")
				if err := firstErr(err1, err2); err != nil {
					return nil, err
				}
				raw, err := hex.DecodeString(txHex)
				if err != nil {
					return nil, ErrTxParse
				}
				if _, err := nulsdata.ParseTransaction(raw); err != nil {
					return nil, ErrTxParse
				}
				return c.Call(ctx, m.command, map[string]any{"chainId": chainID, "tx": txHex})
			}})
	}
	return ms
}
