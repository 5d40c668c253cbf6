package devnode

import (
	"context"
	"encoding/hex"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/nulsdata"
)

// The block module's methods (io.nuls.block.rpc.BlockResource). Parameters
// are declared as the live node's ListAPI declares them. Results are shaped
// like the real ones: heights as {"value": n}, headers and blocks as
// {"value": "<hex>"}.
//
// Two Java behaviours are kept on purpose, because a client of a real node
// meets them: for a chain the node does not run the result is null (Java's
// success() with no data), and for a height or hash with no block it is {}
// (an empty map), not a failure.

func (n *Node) blockMethods() []bridge.Method {
	chainID := param("chainId", "int", "", true)
	return []bridge.Method{
		{
			Name: "getStatus", Description: "receive the new packaged block",
			Parameters: []bridge.Parameter{chainID},
			Handler: n.blockHandler(func(*Node, *bridge.Call) (any, error) {
				return map[string]int{"status": 1}, nil // 1: running
			}),
		},
		{
			Name: "info", Description: "returns network node height and local node height",
			Parameters: []bridge.Parameter{chainID},
			Handler: n.blockHandler(func(n *Node, _ *bridge.Call) (any, error) {
				h := n.Height()
				return map[string]int64{"localHeight": h, "networkHeight": h}, nil
			}),
		},
		{
			Name: "latestHeight", Description: "the latest height of master chain",
			// The live node declares MethodMinEvent 0, yet the Java block
			// module raises this event on every saved block and a Java
			// server accepts subscriptions whatever the minimum says; we
			// declare 1 so that our module side accepts them too.
			MinEvent: 1, MinPeriod: 1,
			Parameters: []bridge.Parameter{chainID},
			Handler: n.blockHandler(func(n *Node, _ *bridge.Call) (any, error) {
				return map[string]int64{"value": n.Height()}, nil
			}),
		},
		{
			Name: "latestBlockHeader", Description: "the latest block header of master chain",
			Parameters: []bridge.Parameter{chainID},
			Handler: n.blockHandler(func(n *Node, _ *bridge.Call) (any, error) {
				return hexValue(n.chain.latest().headerBytes), nil
			}),
		},
		{
			Name: "latestBlock", Description: "the latest block of master chain",
			Parameters: []bridge.Parameter{chainID},
			Handler: n.blockHandler(func(n *Node, _ *bridge.Call) (any, error) {
				return hexValue(n.chain.latest().bytes()), nil
			}),
		},
		{
			Name: "getBlockHeaderByHeight", Description: "get a block header by height",
			Parameters: []bridge.Parameter{chainID, param("height", "long", "", true)},
			Handler: n.blockHandler(func(n *Node, c *bridge.Call) (any, error) {
				return n.byHeight(c, func(b *block) []byte { return b.headerBytes })
			}),
		},
		{
			Name: "getBlockByHeight", Description: "get a block by height",
			Parameters: []bridge.Parameter{chainID, param("height", "long", "", true)},
			Handler: n.blockHandler(func(n *Node, c *bridge.Call) (any, error) {
				return n.byHeight(c, (*block).bytes)
			}),
		},
		{
			Name: "getBlockHeaderByHash", Description: "get a block header by hash",
			Parameters: []bridge.Parameter{chainID, param("hash", "String", "", true)},
			Handler: n.blockHandler(func(n *Node, c *bridge.Call) (any, error) {
				return n.byHash(c, func(b *block) []byte { return b.headerBytes })
			}),
		},
		{
			Name: "getBlockByHash", Description: "get a block by hash",
			Parameters: []bridge.Parameter{chainID, param("hash", "String", "", true)},
			Handler: n.blockHandler(func(n *Node, c *bridge.Call) (any, error) {
				return n.byHash(c, (*block).bytes)
			}),
		},
	}
}

// blockHandler checks chainId the way the block module does and runs f.
func (n *Node) blockHandler(f func(*Node, *bridge.Call) (any, error)) bridge.HandlerFunc {
	return func(_ context.Context, c *bridge.Call) (any, error) {
		var p chainParams
		if err := c.Bind(&p); err != nil {
			return nil, err
		}
		if int(p.ChainID) != n.cfg.ChainID {
			return nil, nil // Java: ContextManager.getContext(chainId) == null → success()
		}
		return f(n, c)
	}
}

func (n *Node) byHeight(c *bridge.Call, part func(*block) []byte) (any, error) {
	var p struct {
		Height flexInt `json:"height"`
	}
	if err := c.Bind(&p); err != nil {
		return nil, err
	}
	b := n.chain.blockAt(int64(p.Height))
	if b == nil {
		return map[string]string{}, nil
	}
	return hexValue(part(b)), nil
}

func (n *Node) byHash(c *bridge.Call, part func(*block) []byte) (any, error) {
	var p struct {
		Hash string `json:"hash"`
	}
	if err := c.Bind(&p); err != nil {
		return nil, err
	}
	h, ok := nulsdata.ParseHash(p.Hash)
	if !ok {
		// Java: NulsHash.fromHex throws, and the catch answers
		// failed(e.getMessage()), whose code is FAILED.
		return nil, fail(codeFailed, "hash error: "+p.Hash)
	}
	b := n.chain.blockByHash(h)
	if b == nil {
		return map[string]string{}, nil
	}
	return hexValue(part(b)), nil
}

// hexValue is the shape of every serialized result: {"value": "<hex>"}.
func hexValue(b []byte) map[string]string {
	return map[string]string{"value": hex.EncodeToString(b)}
}
