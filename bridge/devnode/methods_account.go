package devnode

import (
	"context"
	"encoding/hex"
	"fmt"
	"unicode"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// The account module's methods (io.nuls.account.rpc.cmd.AccountCmd and
// TransactionCmd). The wallet holds the genesis accounts and those made by
// ac_createAccount; ac_transfer spends from them with their passwords.

// maxCreate is AccountTool.CREATE_MAX_SIZE: accounts per ac_createAccount.
const maxCreate = 100

func (n *Node) accountMethods() []bridge.Method {
	chainID := param("chainId", "int", "", true)
	return []bridge.Method{
		{
			Name: "ac_getAccountList", Description: "获取所有账户集合,并放入缓存/query all account collections and put them in cache",
			Parameters: []bridge.Parameter{chainID},
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				var p chainParams
				if err := c.Bind(&p); err != nil {
					return nil, err
				}
				// Java lists every local account whatever the chain.
				list := []simpleAccount{}
				for _, a := range n.chain.accountList() {
					list = append(list, newSimpleAccount(a))
				}
				return map[string]any{"list": list}, nil
			},
		},
		{
			Name: "ac_getAccountByAddress", Description: "通过地址获取账户信息/get account info according to address",
			Parameters: []bridge.Parameter{chainID, param("address", "String", "", true)},
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				var p struct {
					ChainID flexInt `json:"chainId"`
					Address string  `json:"address"`
				}
				if err := c.Bind(&p); err != nil {
					return nil, err
				}
				if err := n.accountChain(int(p.ChainID)); err != nil {
					return nil, err
				}
				a := n.chain.account(p.Address)
				if a == nil {
					return nil, nil // Java: success(null)
				}
				return newSimpleAccount(a), nil
			},
		},
		{
			Name: "ac_createAccount", Description: "创建指定个数的账户/create a specified number of accounts",
			Parameters: []bridge.Parameter{chainID, param("count", "int", "", true), param("password", "String", "", true)},
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				var p struct {
					ChainID  flexInt `json:"chainId"`
					Count    flexInt `json:"count"`
					Password string  `json:"password"`
				}
				if err := c.Bind(&p); err != nil {
					return nil, err
				}
				if err := n.accountChain(int(p.ChainID)); err != nil {
					return nil, err
				}
				if p.Count <= 0 || p.Count > maxCreate {
					return nil, fail(codeParameterError, fmt.Sprintf("count must be in [1,%d]", maxCreate))
				}
				if !validPassword(p.Password) {
					return nil, fail(codeAccPwdFormat, "password format wrong: 8 to 20 characters, letters and digits")
				}
				return map[string]any{"list": n.chain.createAccounts(int(p.Count), p.Password)}, nil
			},
		},
		{
			Name: "ac_transfer", Description: "创建普通转账交易/create transfer transaction",
			Parameters: []bridge.Parameter{
				chainID, param("inputs", "List", "", true), param("outputs", "List", "", true), param("remark", "String", "", false),
			},
			Handler: func(_ context.Context, c *bridge.Call) (any, error) {
				var p transferRequest
				if err := c.Bind(&p); err != nil {
					return nil, err
				}
				h, touched, err := n.chain.transfer(&p)
				if err != nil {
					return nil, err
				}
				n.logger.Info("transfer", "tx_hash", h.String(), "addresses", touched)
				n.balanceEvent(touched)
				return map[string]string{"value": h.String()}, nil
			},
		},
	}
}

// accountChain fails for a chain the node does not run.
func (n *Node) accountChain(id int) error {
	if id != n.cfg.ChainID {
		return fail(codeAccChain, fmt.Sprintf("chain %d does not exist", id))
	}
	return nil
}

// simpleAccount is Java's SimpleAccountDTO.
type simpleAccount struct {
	Address            string  `json:"address"`
	Alias              *string `json:"alias"`
	PubkeyHex          string  `json:"pubkeyHex"`
	EncryptedPrikeyHex string  `json:"encryptedPrikeyHex"`
}

func newSimpleAccount(a *account) simpleAccount {
	return simpleAccount{
		Address:            a.address,
		PubkeyHex:          hex.EncodeToString(a.pubkey),
		EncryptedPrikeyHex: hex.EncodeToString(a.encrypted),
	}
}

// validPassword is FormatValidUtils.validPassword: 8 to 20 characters of
// letters, digits and punctuation, neither only letters nor only digits.
func validPassword(s string) bool {
	if len(s) < 8 || len(s) > 20 {
		return false
	}
	letters, digits := false, false
	for _, r := range s {
		switch {
		case r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r):
			return false
		case unicode.IsLetter(r):
			letters = true
		case unicode.IsDigit(r):
			digits = true
		}
	}
	return letters && digits
}
