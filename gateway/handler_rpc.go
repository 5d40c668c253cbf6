package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/calls"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/gateway/metrics"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
	"github.com/nuls-gateway/nuls-gateway/upstream/pool"
)

// Response headers of a call (calls.Header*).
const (
	headerMessageID      = calls.HeaderMessageID
	headerRequestID      = calls.HeaderRequestID
	headerProcessingTime = calls.HeaderProcessingTime
	// headerMinHeight asks, with several upstream nodes, for an answer from
	// a node at least that high: the headerHeight of the client's last
	// answer, so that it never sees the chain go back.
	headerMinHeight = "X-Nuls-Min-Height"
	headerHeight    = "X-Nuls-Height"
)

// errBadMinHeight is an X-Nuls-Min-Height that is no height.
var errBadMinHeight = badRequest(headerMinHeight + ": want a block height, a non-negative integer")

// floorOf reads the request's X-Nuls-Min-Height into a floor for the
// pool's calls; nil without the header.
func floorOf(r *http.Request) (*pool.Floor, error) {
	v := r.Header.Get(headerMinHeight)
	if v == "" {
		return nil, nil
	}
	h, err := strconv.ParseInt(v, 10, 64)
	if err != nil || h < 0 {
		return nil, errBadMinHeight
	}
	return &pool.Floor{Min: h}, nil
}

// withFloor runs a call with the request's floor, and tells the height of
// the node that answered in the reply's headers.
func withFloor(ctx context.Context, floor *pool.Floor, run func(context.Context) calls.Reply) calls.Reply {
	if floor == nil {
		floor = &pool.Floor{}
	}
	reply := run(pool.WithFloor(ctx, floor))
	if h := floor.Answered(); h > 0 && reply.Header != nil {
		reply.Header[headerHeight] = strconv.FormatInt(h, 10)
	}
	return reply
}

// call runs one method.
//
//	@Summary		Call a NULS method
//	@ID				callMethod
//	@Description	The body is the JSON object of the method's parameters (an empty body means {}). The answer is the method's result exactly as the module returned it.
//	@Tags			rpc
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			method				path		string					true	"NULS method name, such as getBalance"
//	@Param			params				body		object					false	"Method parameters"
//	@Param			Prefer				header		string					false	"respond-async: answer 202 at once, with Location: /requests/{id}"
//	@Param			Idempotency-Key		header		string					false	"Run the call once: a retry with the same key, on any instance, gets the first answer"
//	@Param			X-Nuls-Min-Height	header		integer					false	"With several upstream nodes: answer from a node at least this high (the X-Nuls-Height of the last answer), waiting up to 2 s for one"
//	@Success		200					{object}	object					"The method's result"
//	@Success		202					{object}	calls.RequestStatus		"Accepted (Prefer: respond-async)"
//	@Header			200					{string}	X-Nuls-Message-Id		"MessageID of the upstream Response"
//	@Header			200					{string}	X-Nuls-Processing-Time	"Upstream processing time, ms"
//	@Header			200					{integer}	X-Nuls-Height			"With several upstream nodes: the head of the node that answered"
//	@Failure		400					{object}	Problem					"Malformed body or parameters, or a parameter the method does not declare"
//	@Failure		401					{object}	Problem					"The method needs a credential, or the credential was refused"
//	@Failure		403					{object}	Problem					"The credential may not call this method"
//	@Failure		404					{object}	Problem					"Unknown method, or one not exposed"
//	@Failure		413					{object}	Problem					"Body too large"
//	@Failure		415					{object}	Problem					"The body is not application/json"
//	@Failure		429					{object}	Problem					"Rate limited (Retry-After, RateLimit)"
//	@Failure		409					{object}	Problem					"The first request with this Idempotency-Key is still in progress"
//	@Failure		422					{object}	Problem					"The module reported a failure, or an Idempotency-Key was reused with another request"
//	@Failure		503					{object}	Problem					"Upstream unavailable"
//	@Failure		504					{object}	Problem					"Upstream timeout"
//	@Router			/rpc/{method} [post]
func (s *Server) call(w http.ResponseWriter, r *http.Request) error {
	method := chi.URLParam(r, "method")
	p := principalOf(r)
	body, err := edge.ReadBody(r)
	if err != nil {
		return err
	}
	params, err := parseParams(body)
	if err != nil {
		return err
	}
	// Metered before the compound store is asked: a name is not free to
	// look up.
	if err := s.admit(w, r, p, s.weight(method)); err != nil {
		return err
	}
	t := s.resolve(r.Context(), method)
	if extra := s.extraCost(t); extra > 0 {
		if err := s.admit(w, r, p, extra); err != nil {
			return err
		}
	}
	if err := s.check(r.Context(), p, t, params); err != nil {
		return err
	}
	floor, err := floorOf(r)
	if err != nil {
		return err
	}
	fingerprint := func() (string, error) {
		canonical, err := subscriptions.CanonicalParams(params)
		if err != nil {
			return "", badRequest(err.Error())
		}
		return calls.Fingerprint("/rpc/"+method, canonical), nil
	}
	return s.calls.Serve(w, r, s.jobOf(r, p, method, fingerprint), func(ctx context.Context) calls.Reply {
		return withFloor(ctx, floor, func(ctx context.Context) calls.Reply {
			return withCacheStatus(ctx, func(ctx context.Context) calls.Reply {
				return s.runReply(ctx, r, p, t, params)
			})
		})
	})
}

// runReply runs one method for POST /rpc/{method} and renders its answer.
func (s *Server) runReply(ctx context.Context, r *http.Request, p *auth.Principal, t target, params json.RawMessage) calls.Reply {
	result, reply, err := s.run(ctx, p, t, params)
	if err != nil {
		return s.errorReply(r, err)
	}
	var header map[string]string
	if reply != nil {
		header = calls.ReplyHeaders(reply.MessageID, reply.RequestID, reply.ProcessingTime)
		result = s.exactAmounts(r, t.name, result)
	}
	return calls.OK(header, result)
}

// callMany runs several methods in one Request.
//
//	@Summary		Call several NULS methods at once
//	@ID				callMethods
//	@Description	The body maps each method name to its parameters, in the order to run them. All-or-nothing: 200 only if every method succeeded, with each method's result under its name.
//	@Tags			rpc
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			calls			body		object				true	"Each method name mapped to its parameters object, in the order to run them"
//	@Param			Prefer			header		string				false	"respond-async: answer 202 at once, with Location: /requests/{id}"
//	@Param			Idempotency-Key	header		string				false	"Run the call once: a retry with the same key gets the first answer"
//	@Success		200				{object}	object				"Each method name mapped to its result"
//	@Success		202				{object}	calls.RequestStatus	"Accepted (Prefer: respond-async)"
//	@Failure		400				{object}	Problem
//	@Failure		401				{object}	Problem
//	@Failure		403				{object}	Problem
//	@Failure		404				{object}	Problem
//	@Failure		413				{object}	Problem
//	@Failure		415				{object}	Problem
//	@Failure		422				{object}	Problem
//	@Failure		429				{object}	Problem
//	@Failure		503				{object}	Problem
//	@Failure		504				{object}	Problem
//	@Router			/rpc [post]
func (s *Server) callMany(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	body, err := edge.ReadBody(r)
	if err != nil {
		return err
	}
	batch, err := parseCalls(body)
	if err != nil {
		return err
	}
	cost := 0
	for _, c := range batch {
		cost += s.weight(c.Method)
	}
	if err := s.admit(w, r, p, cost); err != nil {
		return err
	}
	for _, c := range batch {
		if err := s.check(r.Context(), p, target{name: c.Method}, c.Params); err != nil {
			return err
		}
	}
	fingerprint := func() (string, error) { return calls.Fingerprint("/rpc", string(body)), nil }
	return s.calls.Serve(w, r, s.jobOf(r, p, metrics.MultiMethod, fingerprint), func(ctx context.Context) calls.Reply {
		reply, err := s.upstreamCall(ctx, p, batch)
		if err != nil {
			return s.errorReply(r, err)
		}
		var b bytes.Buffer
		b.WriteByte('{')
		for i, res := range reply.Results {
			if i > 0 {
				b.WriteByte(',')
			}
			name, _ := json.Marshal(res.Method)
			b.Write(name)
			b.WriteByte(':')
			b.Write(s.exactAmounts(r, res.Method, res.Result))
		}
		b.WriteByte('}')
		return calls.OK(calls.ReplyHeaders(reply.MessageID, reply.RequestID, reply.ProcessingTime), b.Bytes())
	})
}

// metricMethod names a call for the metrics and traces without letting
// arbitrary names in: a method the listing does not know shares one label,
// and so do those past the bound of method labels (see metrics.MethodLabel).
func (s *Server) metricMethod(calls []bridge.MethodCall) string {
	if len(calls) > 1 {
		return metrics.MultiMethod
	}
	if _, known, ok := s.listing.LookupCached(calls[0].Method); !known || !ok {
		return metrics.OtherMethod
	}
	return s.metrics.MethodLabel(calls[0].Method)
}

// checkCall checks that p may call method, that the parameters stay within
// the policy's bounds (a range of heights, a count), and, when the upstream
// lists the method, that they are the declared ones, of their declared
// types, ranges and patterns.
func (s *Server) checkCall(ctx context.Context, p *auth.Principal, method string, params json.RawMessage) error {
	m, known, d, err := s.access(ctx, p, method)
	if err != nil {
		return err
	}
	if err := s.checkSecretParams(p, method, d, params); err != nil {
		return err
	}
	if err := d.CheckParams(params); err != nil {
		return err
	}
	if !known {
		return nil
	}
	return m.CheckDeclaredParams(params)
}

// parseParams reads a body holding a JSON object; empty means {}.
func parseParams(b []byte) (json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if b[0] != '{' || !json.Valid(b) {
		return nil, badRequest("the body must be a JSON object of parameters")
	}
	return b, nil
}

// parseCalls reads {"<method>": {params}, ...} keeping the order.
func parseCalls(body []byte) ([]bridge.MethodCall, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, badRequest(`the body must be {"<method>": {params}, ...}`)
	}
	var calls []bridge.MethodCall
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badRequest("malformed JSON: " + err.Error())
		}
		name, _ := tok.(string)
		var params json.RawMessage
		if err := dec.Decode(&params); err != nil {
			return nil, badRequest("malformed JSON: " + err.Error())
		}
		params = bytes.TrimSpace(params)
		if string(params) == "null" {
			params = json.RawMessage(`{}`)
		}
		if len(params) == 0 || params[0] != '{' {
			return nil, badRequest("the parameters of " + name + " must be a JSON object")
		}
		if seen[name] {
			return nil, badRequest("method " + name + " appears twice")
		}
		seen[name] = true
		calls = append(calls, bridge.MethodCall{Method: name, Params: params})
	}
	if _, err := dec.Token(); err != nil {
		return nil, badRequest("malformed JSON: " + err.Error())
	}
	if dec.More() || len(calls) == 0 {
		if len(calls) == 0 {
			return nil, badRequest("no method to call")
		}
		return nil, badRequest("trailing data after the JSON object")
	}
	return calls, nil
}
