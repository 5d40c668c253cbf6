package nulsapi

// publicServiceReads are the read methods of NULS's public-service (its
// MongoDB index of the chain, port 18003) that the profile does not answer
// itself: the gateway forwards them to a configured public-service, and refuses them
// clearly without one. Its other methods stay out: those that write or
// steer it (commitData, commitMsg, uploadContractJar, recoverySync,
// rollbackBestBlocks, stopSync), and those the profile answers itself
// (broadcastTx among them).
var publicServiceReads = setOf(
	"assetGet", "computeContractAddress", "getAccount", "getAccountByAlias", "getAccountConsensus",
	"getAccountConsensusNode", "getAccountContractList", "getAccountCrossLedgerList", "getAccountDeposit",
	"getAccountDepositValue", "getAccountFreezes", "getAccountLedgerList", "getAccountList", "getAccountToken",
	"getAccountToken1155", "getAccountToken1155s", "getAccountToken721", "getAccountToken721s", "getAccountTokens",
	"getAccountTxs", "getAccountsBalance", "getAcctTxs", "getActiveAddressData", "getAllAddressPrefix",
	"getAllConsensusDeposit", "getAllConsensusNodes", "getAnnulizedRewardStatistical", "getAssetRanking",
	"getBestRoundInfo", "getBestRoundItemList", "getBlockHeaderList", "getBlockTxList", "getByzantineCount",
	"getChainAssetInfo", "getChainFeeSetting", "getChainInfo", "getCirculation", "getCoinInfo", "getCoinRanking",
	"getConsensusDeposit", "getConsensusNode", "getConsensusNodeCount", "getConsensusNodeStatistical",
	"getConsensusNodes", "getConsensusStatistical", "getContractCode", "getContractCodeHash", "getContractList",
	"getContractListById", "getContractToken1155s", "getContractToken721s", "getContractTokens", "getContractTxList",
	"getCrossTxList", "getData", "getDestroy", "getHoldersByAssetKey", "getInfo", "getMsg", "getNRC20Snapshot",
	"getNrc1155List", "getNrc20List", "getNrc721List", "getOneHolderByAssetKey", "getOtherChainInfo",
	"getOtherChainList", "getPunishList", "getRoundInfo", "getRoundList", "getToken1155HolderInfo", "getToken1155Id",
	"getToken1155Ids", "getToken1155Transfers", "getToken721HolderInfo", "getToken721Id", "getToken721Ids",
	"getToken721Transfers", "getTokenHolderInfo", "getTokenTransfers", "getTopAssets", "getTotalSupply", "getTxList",
	"getTxStatistical", "getTxV2", "getTxsByAssetKey", "isAliasUsable", "queryAccountTxs", "search",
	// nuls-api has these too, answered there from the contract module,
	// which the profile does not reach yet: public-service answers them.
	"getContract", "getContractTxResult", "getContractConstructor", "getContractMethod", "getContractMethodArgsTypes",
	"invokeView", "imputedContractCallGas", "imputedContractCreateGas",
	"validateContractCall", "validateContractCreate", "validateContractDelete",
	// A client's signed cross-chain transfer, which the JS SDK sends to
	// public-service: a broadcast, like broadcastTx.
	"sendCrossTx",
)

// ForwardsToPublicService reports whether method is one only public-service
// answers, and which may be forwarded to it.
func ForwardsToPublicService(method string) bool {
	if _, ours := methods[method]; ours {
		return false
	}
	return publicServiceReads[method]
}

// PublicServiceMethods lists them.
func PublicServiceMethods() []string {
	out := make([]string, 0, len(publicServiceReads))
	for m := range publicServiceReads {
		out = append(out, m)
	}
	return out
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
