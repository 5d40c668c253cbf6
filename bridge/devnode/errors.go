package devnode

import "github.com/nuls-gateway/nuls-gateway/bridge"

// Module error codes, as the Java modules send them (io.nuls.*.constant
// *ErrorCode in nuls-io/nuls-v2), so that a client written against the
// devnode sees the values a real node sends. Comments are the Java names.
const (
	codeFailed         = "err_0001" // FAILED: BaseCmd.failed(String)
	codeAccPassword    = "ac_0000"  // PASSWORD_IS_WRONG
	codeAccNotExist    = "ac_0001"  // ACCOUNT_NOT_EXIST
	codeAccAddress     = "ac_0004"  // ADDRESS_ERROR
	codeAccPwdFormat   = "ac_0017"  // PASSWORD_FORMAT_WRONG
	codeAccRemark      = "ac_0020"  // REMARK_TOO_LONG
	codeAccOtherChain  = "ac_0024"  // IS_NOT_CURRENT_CHAIN_ADDRESS
	codeAccBalance     = "ac_0028"  // INSUFFICIENT_BALANCE
	codeAccFee         = "ac_0029"  // INSUFFICIENT_FEE
	codeAccChain       = "ac_0030"  // CHAIN_NOT_EXIST
	codeAccNoFrom      = "ac_0038"  // TX_COINFROM_NOT_FOUND
	codeAccNoTo        = "ac_0039"  // TX_COINTO_NOT_FOUND
	codeAccAmount      = "ac_0046"  // AMOUNT_TOO_SMALL
	codeAccUnderpaid   = "ac_0049"  // COINFROM_UNDERPAYMENT
	codeLedgerChain    = "lg_0002"  // CHAIN_INIT_FAIL
	codeLedgerAddress  = "lg_1014"  // ERROR_ADDRESS_ERROR
	codeTxHash         = "tx_0001"  // HASH_ERROR
	codeTxChain        = "tx_0020"  // CHAIN_NOT_FOUND
	codeParameterError = bridge.CodeParameterError
)

// fail is a business failure with a Java module code (status 65536).
func fail(code, comment string) error { return bridge.Fail(code, comment) }
