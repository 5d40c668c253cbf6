package devnode

import "github.com/nuls-gateway/nuls-gateway/bridge"

// The consensus module's configuration (cs_getConsensusConfig), which
// nuls-api's info answers from: the devnode's chain stakes and rewards its
// own asset, and makes blocks alone.
func (n *Node) consensusMethods() []bridge.Method {
	return []bridge.Method{{
		Name: "cs_getConsensusConfig", Description: "获取共识模块配置信息/get consensus config",
		Parameters: []bridge.Parameter{param("chainId", "int", "", true)},
		Handler: n.blockHandler(func(n *Node, _ *bridge.Call) (any, error) {
			return map[string]any{
				"agentChainId": n.cfg.ChainID, "agentAssetId": assetID, "awardAssetId": assetID,
				"inflationAmount": "41095890410959", "commissionMin": "20000000000000",
				"packingInterval": int64(n.cfg.BlockInterval.Seconds()), "seedNodes": "",
			}, nil
		}),
	}}
}
