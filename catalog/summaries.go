package catalog

// summaries are English summaries, written by hand, of the NULS 2 commands
// whose Java description gives no English: the
// documents' summaries come from the node's descriptions, which are often
// Chinese alone ("获取账户资产(已入区块)"). Every command of a live
// node's listing that the gateway exposes by default (public or admin) and
// whose description has no English has one here (a test of package
// gateway checks it). Not generated: catalog-gen does not touch it.
var summaries = map[string]string{
	"ac_getAddressPrefixByChainId": "get the address prefix of a chain by its ID",
	"ac_getAllAddressPrefix":       "get the address prefixes of all the chains",
	"cm_asset":                     "get an asset's registration",
	"cm_assetDisable":              "deregister an asset",
	"cm_assetReg":                  "register an asset",
	"cm_chain":                     "get a chain's registration",
	"cm_chainActive":               "activate again a parallel chain deregistered for cross-chain transfers",
	"cm_chainReg":                  "register a parallel chain for cross-chain transfers",
	"cm_getChainAsset":             "get an asset of a chain",
	"cm_getChainsSimpleInfo":       "list the chains registered for cross-chain transfers",
	"cm_getCirculateChainAsset":    "get the amount of an asset circulating on a chain",
	"cs_random_raw_seeds_count":    "get the raw random seeds of a number of blocks up to a height",
	"cs_random_raw_seeds_height":   "get the raw random seeds of a range of heights",
	"cs_random_seed_count":         "make a random seed of the raw seeds of a number of blocks up to a height",
	"cs_random_seed_height":        "make a random seed of the raw seeds of a range of heights",
	"getAssetsById":                "get the amounts of the given assets of a chain",
	"getBalance":                   "get an account's balance of an asset, as confirmed in blocks",
	"getBalanceNonce":              "get an account's balance and nonce for an asset",
	"getByzantineCount":            "get how many signatures the cross-chain Byzantine check needs now",
	"getCrossChainInfos":           "list the assets registered for cross-chain transfers",
	"getFreezeList":                "list an account's locked amounts of an asset, page by page",
	"getNonce":                     "get an account's nonce for an asset",
	"nw_currentTimeMillis":         "get the node's network time",
	"nw_getChainConnectAmount":     "get how many connections a chain's network group can take",
	"nw_getGroupByChainId":         "get the node's network group of a chain",
	"nw_getMainMagicNumber":        "get the main network's magic number",
	"nw_info":                      "get the node's network state: its height, the network's, its connections",
}

// Summary is the English summary of a NULS 2 command whose Java
// description gives none, "" for the others.
func Summary(name string) string { return summaries[name] }
