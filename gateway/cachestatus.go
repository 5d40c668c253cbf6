package gateway

import (
	"context"
	"encoding/json"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/cache"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
)

// headerCacheStatus is RFC 9211's response header: what the answer cache
// did for the call.
const headerCacheStatus = "Cache-Status"

// cacheNote carries, through a call's context, what the cache did for it,
// up to the handler that writes the answer's headers. It is set and read
// in the goroutine that runs the call (an asynchronous call's own).
type cacheNote struct{ status string }

type cacheNoteKey struct{}

func (n *cacheNote) set(s cache.Status) {
	if n != nil {
		n.status = s.Header()
	}
}

func noteOf(ctx context.Context) *cacheNote {
	n, _ := ctx.Value(cacheNoteKey{}).(*cacheNote)
	return n
}

// withCacheStatus runs a call and tells in its answer's headers what the
// cache did for it, when the cache applies to its command.
func withCacheStatus(ctx context.Context, run func(context.Context) calls.Reply) calls.Reply {
	n := &cacheNote{}
	reply := run(context.WithValue(ctx, cacheNoteKey{}, n))
	if n.status != "" {
		if reply.Header == nil {
			reply.Header = map[string]string{}
		}
		reply.Header[headerCacheStatus] = n.status
	}
	return reply
}

// cachedCall answers one read of a command the cache keeps: from the
// cache, or from the node through it (identical reads in flight share the
// node's answer).
func (s *Server) cachedCall(ctx context.Context, call bridge.MethodCall) (*bridge.Reply, error) {
	var reply *bridge.Reply
	result, st, err := s.cfg.Cache.Do(ctx, call.Method, call.Params, func(ctx context.Context) (json.RawMessage, error) {
		r, err := s.callUpstream(ctx, []bridge.MethodCall{call})
		if err != nil {
			return nil, err
		}
		reply = r
		return r.Results[0].Result, nil
	})
	noteOf(ctx).set(st)
	if err != nil {
		return nil, err
	}
	if reply == nil || !st.Applies || st.Hit || st.Collapsed {
		// Not this call's own Request: no message IDs of its own.
		reply = &bridge.Reply{}
	}
	reply.Results = []bridge.MethodResult{{Method: call.Method, Result: result}}
	return reply, nil
}
