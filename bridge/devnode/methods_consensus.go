package devnode

import "github.com/nuls-gateway/nuls-gateway/bridge"

// The consensus module's configuration and packer (io.nuls.consensus:
// ChainCmd and AgentCmd). The devnode's chain stakes and rewards its own
// asset, and makes blocks alone, with its first genesis account.
//
// They answer what the Java module answers, secrets included, so that the
// gateway's tests meet them: cs_getPackerInfo and cs_getSeedNodeInfo answer
// the packing account's password (AgentServiceImpl), and
// cs_getConsensusConfig answers the whole configuration, the password too,
// as versions of the module did (ConfigBean).
func (n *Node) consensusMethods() []bridge.Method {
	chainID := param("chainId", "int", "", true)
	return []bridge.Method{{
		Name: "cs_getConsensusConfig", Description: "获取共识模块配置信息/get consensus config",
		Parameters: []bridge.Parameter{chainID},
		Handler: n.blockHandler(func(n *Node, _ *bridge.Call) (any, error) {
			return map[string]any{
				"agentChainId": n.cfg.ChainID, "agentAssetId": assetID, "awardAssetId": assetID,
				"inflationAmount": "41095890410959", "commissionMin": "20000000000000",
				"packingInterval": int64(n.cfg.BlockInterval.Seconds()), "seedNodes": n.packer(),
				"password": GenesisPassword,
			}, nil
		}),
	}, {
		Name: "cs_getPackerInfo", Description: "获取当前节点的出块账户信息/modifying the Packing State of Nodes",
		Parameters: []bridge.Parameter{chainID},
		Handler: n.blockHandler(func(n *Node, _ *bridge.Call) (any, error) {
			return map[string]any{"address": n.packer(), "password": GenesisPassword, "packAddressList": []string{n.packer()}}, nil
		}),
	}, {
		Name: "cs_getSeedNodeInfo", Description: "获取种子节点信息/get seed node info",
		Parameters: []bridge.Parameter{chainID},
		Handler: n.blockHandler(func(n *Node, _ *bridge.Call) (any, error) {
			return map[string]any{"address": n.packer(), "password": GenesisPassword, "packAddressList": []string{n.packer()}}, nil
		}),
	}}
}

// packer is the address the devnode packs its blocks with: its first
// genesis account.
func (n *Node) packer() string { return n.GenesisAccounts()[0].Address }
