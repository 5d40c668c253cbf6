package streams

import (
	"context"
	"net/url"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/streamquery"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// Error is a stream request the gateway refuses as malformed: 400.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func bad(msg string) error { return &Error{msg: msg} }

// Key reads the subscription a stream of method asks for in q, and checks
// that p may stream it: for GET /rpc/{method}/stream, and the JSON-RPC
// socket's subscribe, which builds the same query.
func (s *Server) Key(ctx context.Context, p *auth.Principal, method string, q url.Values) (subscriptions.Key, error) {
	key := subscriptions.Key{Method: method}
	var (
		info  bridge.MethodInfo
		known bool
		d     policy.Decision
		err   error
	)
	source := method
	if src, dinfo, ok := upstream.Derived(method); ok {
		// Who may stream the source may stream what is made of it.
		source = src
		if _, _, d, err = s.g.Access(ctx, p, src); err != nil {
			return key, err
		}
		info, known = dinfo, true
	} else if info, known, d, err = s.g.Access(ctx, p, method); err != nil {
		return key, err
	}
	mode, err := streamquery.ParseMode(q)
	if err != nil {
		return key, err
	}
	key.EventCounter, key.Period, key.Range = mode.EventCounter, mode.Period, mode.Range
	if known {
		if err := streamquery.CheckMode(info, mode); err != nil {
			return key, err
		}
	}
	// The gateway calls a method again and again for a period stream, and
	// for an event stream it emulates: only the reads the policy lets it
	// poll, so that no stream repeats a write or an unbounded read.
	polled := upstream.Polled(s.cfg.Upstream, s.cfg.EventPollInterval, source, key.Period)
	if !d.Streamable() {
		return key, bad(method + " is not a read the gateway streams: it offers no stream here")
	}
	if polled && !d.Poll {
		return key, bad(method + " is not a read the gateway calls again and again: it offers no period stream here, nor an event stream the upstream does not push")
	}
	params, err := streamquery.Params(q, info, known)
	if err != nil {
		return key, err
	}
	if err := s.g.CheckSecretParams(p, method, d, params); err != nil {
		return key, err
	}
	if err := d.CheckParams(params); err != nil {
		return key, err
	}
	if known {
		if err := info.CheckDeclaredParams(params); err != nil {
			return key, err
		}
	}
	if key.Params, err = subscriptions.CanonicalParams(params); err != nil {
		return key, bad(err.Error())
	}
	return key, nil
}
