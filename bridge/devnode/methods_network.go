package devnode

import "github.com/nuls-gateway/nuls-gateway/bridge"

// The network module's nw_info (io.nuls.network.rpc.cmd NetworkCmd): the
// heights it knows and its connections. The devnode is alone: its height
// is the network's, and it has no peers.
func (n *Node) networkMethods() []bridge.Method {
	return []bridge.Method{{
		Name: "nw_info", Description: "获取节点网络基本信息",
		Parameters: []bridge.Parameter{param("chainId", "int", "[1-65535]", true)},
		Handler: n.blockHandler(func(n *Node, _ *bridge.Call) (any, error) {
			h := n.Height()
			return map[string]int64{"localBestHeight": h, "netBestHeight": h, "timeOffset": 0, "inCount": 0, "outCount": 0}, nil
		}),
	}}
}
