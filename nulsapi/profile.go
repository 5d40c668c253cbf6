package nulsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// Caller calls a module command with parameters by name, as the gateway
// does for its caller.
type Caller interface {
	Call(ctx context.Context, command string, params map[string]any) (json.RawMessage, error)
	// ChainID is the chain a method that takes none serves (nuls-api
	// reads it from its configuration); 0 when unknown.
	ChainID() int
}

// ParamError is a parameter nuls-api would refuse: its code "1000",
// "Parameters is wrong!", with Detail as its data.
type ParamError struct{ Detail string }

func (e *ParamError) Error() string { return "nulsapi: " + e.Detail }

// Method is one nuls-api method.
type Method struct {
	Name string
	// Params name the positional parameters, in order.
	Params []string
	// Commands are the module commands it calls, for the closing
	// listing and the access checks' documentation.
	Commands []string
	// Filtered is set when the method passes on only an allow-list of
	// its commands' answer fields: it may read a command whose whole
	// answer the caller may not (info reads the consensus configuration,
	// where the packing password may be), and the Caller calls its
	// commands for the gateway, not for the caller (FilteredCaller).
	Filtered bool
	run      func(ctx context.Context, c Caller, args map[string]json.RawMessage) (any, error)
}

// Run calls the method with args by name.
func (m *Method) Run(ctx context.Context, c Caller, args map[string]json.RawMessage) (any, error) {
	for _, p := range m.Params {
		if v, ok := args[p]; !ok || string(v) == "null" {
			return nil, &ParamError{Detail: "[" + p + "] is inValid"}
		}
	}
	return m.run(ctx, c, args)
}

// ByPosition names positional values by the method's parameters. A method
// that takes none may be given a chainId first.
func (m *Method) ByPosition(values []json.RawMessage) (map[string]json.RawMessage, error) {
	if len(m.Params) == 0 && len(values) > 0 {
		return map[string]json.RawMessage{"chainId": values[0]}, nil
	}
	if len(values) < len(m.Params) {
		return nil, &ParamError{Detail: fmt.Sprintf("%s takes %d parameters (%v), got %d", m.Name, len(m.Params), m.Params, len(values))}
	}
	args := make(map[string]json.RawMessage, len(m.Params))
	for i, p := range m.Params {
		args[p] = values[i]
	}
	return args, nil
}

// methods is the profile's method table, by name: a value built once from
// each file's methods, no init() filling a map.
var methods = methodTable(profileMethods(), blockMethods(), txMethods(), broadcastMethods())

// methodTable indexes the methods of the lists by name. Two methods of one
// name are a programming error of this package: it panics.
func methodTable(lists ...[]*Method) map[string]*Method {
	t := map[string]*Method{}
	for _, list := range lists {
		for _, m := range list {
			if _, dup := t[m.Name]; dup {
				panic("nulsapi: method " + m.Name + " defined twice")
			}
			t[m.Name] = m
		}
	}
	return t
}

// chainOf is the chainId argument when given (positionally, or by name),
// else the Caller's chain.
func chainOf(c Caller, a map[string]json.RawMessage) (int, error) {
	if _, ok := a["chainId"]; ok {
		return intArg(a, "chainId")
	}
	if id := c.ChainID(); id > 0 {
		return id, nil
	}
	return 0, &ParamError{Detail: "[chainId] is required: this gateway has no default chain (--chain-id)"}
}

// Lookup returns the method called name.
func Lookup(name string) (*Method, bool) {
	m, ok := methods[name]
	return m, ok
}

// Methods lists the profile's methods by name.
func Methods() []*Method {
	out := make([]*Method, 0, len(methods))
	for _, m := range methods {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// profileMethods are the profile's chain and account methods.
func profileMethods() []*Method {
	var ms []*Method
	ms = append(ms, &Method{Name: "getLatestHeight", Params: []string{"chainId"}, Commands: []string{"latestHeight"},
		run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
			chainID, err := intArg(a, "chainId")
			if err != nil {
				return nil, err
			}
			raw, err := c.Call(ctx, "latestHeight", map[string]any{"chainId": chainID})
			if err != nil {
				return nil, err
			}
			var v struct{ Value json.Number }
			if err := json.Unmarshal(raw, &v); err != nil || v.Value == "" {
				return int64(-1), nil //nolint:nilerr // as nuls-api, when the module gives no value
			}
			return v.Value, nil
		}})
	ms = append(ms, &Method{Name: "info", Commands: []string{"cs_getConsensusConfig"}, Filtered: true,
		run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
			chainID, err := chainOf(c, a)
			if err != nil {
				return nil, err
			}
			raw, err := c.Call(ctx, "cs_getConsensusConfig", map[string]any{"chainId": chainID})
			if err != nil {
				return nil, err
			}
			// What nuls-api answers of the consensus configuration,
			// and nothing else of it: the consensus module keeps the
			// packing account's password in the same configuration.
			// Then what nuls-api adds of its own configuration: the
			// chain, its main asset (1), the address prefix and, on
			// NULS's chains, the symbol.
			config := map[string]json.RawMessage{}
			dec := json.NewDecoder(bytesReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&config); err != nil {
				return nil, fmt.Errorf("%w: cs_getConsensusConfig answered %.100s: %w", ErrBadAnswer, raw, err)
			}
			out := map[string]any{}
			for _, k := range infoFields {
				if v, ok := config[k]; ok {
					out[k] = v
				}
			}
			out["chainId"], out["assetId"], out["addressPrefix"] = chainID, 1, nulsdata.AddressPrefix(chainID)
			if chainID == 1 || chainID == 2 {
				out["symbol"] = "NULS"
			}
			return out, nil
		}})
	ms = append(ms, &Method{Name: "getNetworkInfo", Commands: []string{"nw_info"},
		run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
			chainID, err := chainOf(c, a)
			if err != nil {
				return nil, err
			}
			return c.Call(ctx, "nw_info", map[string]any{"chainId": chainID})
		}})
	ms = append(ms, &Method{Name: "getAccountBalance", Params: []string{"chainId", "assetChainId", "assetId", "address"}, Commands: []string{"getBalanceNonce"},
		run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
			chainID, err1 := intArg(a, "chainId")
			assetChainID, err2 := intArg(a, "assetChainId")
			assetID, err3 := intArg(a, "assetId")
			address, err4 := stringArg(a, "address")
			if err := firstErr(err1, err2, err3, err4); err != nil {
				return nil, err
			}
			b, err := balance(ctx, c, chainID, assetChainID, assetID, address)
			if err != nil {
				return nil, err
			}
			return b, nil
		}})
	ms = append(ms, &Method{Name: "getBalanceList", Params: []string{"chainId", "address", "assetIdList"}, Commands: []string{"getBalanceNonce"},
		run: func(ctx context.Context, c Caller, a map[string]json.RawMessage) (any, error) {
			chainID, err1 := intArg(a, "chainId")
			address, err2 := stringArg(a, "address")
			if err := firstErr(err1, err2); err != nil {
				return nil, err
			}
			var assets []struct {
				ChainID         *int   `json:"chainId"`
				AssetID         *int   `json:"assetId"`
				ContractAddress string `json:"contractAddress"`
			}
			if err := json.Unmarshal(a["assetIdList"], &assets); err != nil {
				return nil, &ParamError{Detail: "[assetIdList] is inValid"}
			}
			if len(assets) > maxBalanceList {
				return nil, &ParamError{Detail: fmt.Sprintf("[assetIdList] has %d assets; at most %d", len(assets), maxBalanceList)}
			}
			out := make([]*Balance, 0, len(assets))
			for _, as := range assets {
				if as.ChainID == nil || as.AssetID == nil {
					return nil, &ParamError{Detail: "[assetIdList] items need chainId and assetId"}
				}
				if as.ContractAddress != "" {
					// Token balances come from the contract module,
					// which this profile does not reach yet.
					return nil, &ParamError{Detail: "[assetIdList] contract token balances are not served by this gateway"}
				}
				b, err := balance(ctx, c, chainID, *as.ChainID, *as.AssetID, address)
				if err != nil {
					return nil, err
				}
				b.AssetChainID, b.AssetID = as.ChainID, as.AssetID
				out = append(out, b)
			}
			return out, nil
		}})
	return ms
}

// infoFields are the fields of the consensus configuration that info passes
// on: those nuls-api's documentation of info names, and the least
// commission of an agent, which it passes on too.
var infoFields = []string{"inflationAmount", "agentChainId", "agentAssetId", "commissionMin"}

// maxBalanceList bounds the assets of one getBalanceList: each is a call.
const maxBalanceList = 32

// Balance is nuls-api's AccountBalance: the ledger's balance renamed, its
// total summed (available, time-locked and consensus-locked).
type Balance struct {
	AssetChainID    *int   `json:"assetChainId,omitempty"`
	AssetID         *int   `json:"assetId,omitempty"`
	ContractAddress string `json:"contractAddress,omitempty"`
	TotalBalance    string `json:"totalBalance"`
	Balance         string `json:"balance"`
	TimeLock        string `json:"timeLock"`
	ConsensusLock   string `json:"consensusLock"`
	Freeze          string `json:"freeze"`
	Nonce           string `json:"nonce"`
	NonceType       int    `json:"nonceType"`
}

// balance asks the ledger's getBalanceNonce and shapes its answer.
func balance(ctx context.Context, c Caller, chainID, assetChainID, assetID int, address string) (*Balance, error) {
	raw, err := c.Call(ctx, "getBalanceNonce", map[string]any{"chainId": chainID, "assetChainId": assetChainID, "assetId": assetID, "address": address})
	if err != nil {
		return nil, err
	}
	return ShapeBalance(raw)
}

// ShapeBalance turns the ledger's getBalanceNonce answer into nuls-api's
// AccountBalance: renamed, its total summed (available, time-locked and
// consensus-locked).
func ShapeBalance(raw json.RawMessage) (*Balance, error) {
	var r struct {
		Available        json.Number `json:"available"`
		TimeHeightLocked json.Number `json:"timeHeightLocked"`
		PermanentLocked  json.Number `json:"permanentLocked"`
		Freeze           json.Number `json:"freeze"`
		Nonce            string      `json:"nonce"`
		NonceType        int         `json:"nonceType"`
	}
	dec := json.NewDecoder(bytesReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: getBalanceNonce answered %.100s: %w", ErrBadAnswer, raw, err)
	}
	if r.Available == "" {
		// A Nulstar Connector answers a module's failure as success
		// with {}: no balance is not a zero balance.
		return nil, fmt.Errorf("%w: getBalanceNonce answered %.100s, with no available balance", ErrBadAnswer, raw)
	}
	total := new(big.Int)
	for _, n := range []json.Number{r.Available, r.TimeHeightLocked, r.PermanentLocked} {
		v, ok := new(big.Int).SetString(orZero(n), 10)
		if !ok {
			return nil, fmt.Errorf("%w: getBalanceNonce amount %q is not an integer", ErrBadAnswer, n)
		}
		total.Add(total, v)
	}
	return &Balance{TotalBalance: total.String(), Balance: orZero(r.Available), TimeLock: orZero(r.TimeHeightLocked),
		ConsensusLock: orZero(r.PermanentLocked), Freeze: orZero(r.Freeze), Nonce: r.Nonce, NonceType: r.NonceType}, nil
}

func orZero(n json.Number) string {
	if n == "" {
		return "0"
	}
	return n.String()
}

// ErrBadAnswer reports a module's answer that is not what nuls-api reads
// there: the module is not the one nuls-api expects, or another version.
var ErrBadAnswer = errors.New("nulsapi: the module's answer is not what nuls-api reads")

// ErrDataNotFound is nuls-api's "404" "Data not found!".
var ErrDataNotFound = errors.New("Data not found!") //nolint:revive,staticcheck // error-strings, ST1005: nuls-api's message, word for word
