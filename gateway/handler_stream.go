package gateway

import (
	"context"
	"net/http"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/slots"
	"github.com/nuls-gateway/nuls-gateway/gateway/streams"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// The streams are package streams'; the routes, their documentation and
// what the streams ask of the gateway (streamGate) are here. The routes
// take the streams' handlers as they are, with no frame of the gateway's
// between: a stream served by its handler waits on that goroutine's stack
// (see package streams, serve).

// stream serves a method's pushes as Server-Sent Events (package streams).
//
//	@Summary		Stream a NULS subscription as Server-Sent Events
//	@ID				streamMethod
//	@Description	Subscribes to the method (every eventCounter events, or every period seconds) and streams each push as an SSE event whose data is the method's result and whose id resumes the stream (Last-Event-ID header or lastEventId query). Clients asking for the same method, parameters and mode share one upstream subscription. Event types: message (a push), upstream-error (the module reported a failure), gap (events were lost), rollback (latestHeight and newHeaders: the chain went back, {"height": the new tip, "from": the height shown last}), end (the subscription ended). On latestHeight and newHeaders, a push's id carries its height (<ms>-<seq>.<height>): resumed after the log lost its position, the stream sends what followed that height.
//	@Tags			streams
//	@Produce		text/event-stream
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Security		StreamTicket
//	@Param			method			path		string	true	"NULS method name, such as latestHeight"
//	@Param			params			query		string	false	"Parameters as a JSON object; or give them as individual query keys, typed by the method's declaration"
//	@Param			eventCounter	query		int		false	"Push every N events (default 1 when period is not given)"
//	@Param			period			query		int		false	"Push every N seconds"
//	@Param			range			query		string	false	"Only push numeric results inside this interval, such as [1000, )"
//	@Param			lastEventId		query		string	false	"Resume after this event (as the Last-Event-ID header)"
//	@Param			Last-Event-ID	header		string	false	"Resume after this event"
//	@Param			ticket			query		string	false	"A stream ticket (POST /stream-tickets), for EventSource, which cannot send Authorization"
//	@Success		200				{string}	string	"text/event-stream"
//	@Failure		400				{object}	Problem	"Bad parameters, an undeclared one, or a mode the method does not offer"
//	@Failure		401				{object}	Problem
//	@Failure		403				{object}	Problem
//	@Failure		404				{object}	Problem
//	@Failure		429				{object}	Problem	"Rate limited, or this client's share of streams or subscriptions is taken"
//	@Failure		503				{object}	Problem	"Too many streams or subscriptions on this instance"
//	@Router			/rpc/{method}/stream [get]
func (s *Server) stream() handlerFunc { return s.streams.ServeMethod }

// notifications streams the Notifications of the Manager and modules (D15)
// (package streams).
//
//	@Summary		Stream the Manager's notifications
//	@ID				streamNotifications
//	@Description	Each Notification message the upstream sends (D15) becomes an SSE event of type notification, with {"type", "comment", "data"}. They tell of the module network's health: a credential with the admin scope is needed.
//	@Tags			streams
//	@Produce		text/event-stream
//	@Security		BearerAuth
//	@Security		APIKeyAuth
//	@Param			Last-Event-ID	header		string	false	"Resume after this event"
//	@Success		200				{string}	string	"text/event-stream"
//	@Failure		401				{object}	Problem
//	@Failure		403				{object}	Problem
//	@Failure		429				{object}	Problem
//	@Failure		503				{object}	Problem
//	@Router			/notifications [get]
func (s *Server) notifications() handlerFunc { return s.streams.ServeNotifications }

// streamGate is what the streams ask of the gateway: the caller, its
// access, its rate plan and its stream slots.
type streamGate struct{ s *Server }

var _ streams.Gateway = streamGate{}

func (g streamGate) Caller(r *http.Request) *auth.Principal { return principalOf(r) }

func (g streamGate) Access(ctx context.Context, p *auth.Principal, method string) (bridge.MethodInfo, bool, policy.Decision, error) {
	return g.s.access(ctx, p, method)
}

func (g streamGate) CheckSecretParams(p *auth.Principal, method string, d policy.Decision, params []byte) error {
	return g.s.checkSecretParams(p, method, d, params)
}

func (g streamGate) Deny(p *auth.Principal, what, scope string) error {
	return g.s.denied(&accessError{method: what, scope: scope, anonymous: p.Anonymous()})
}

func (g streamGate) Weight(method string) int { return g.s.weight(method) }

func (g streamGate) Admit(w http.ResponseWriter, r *http.Request, p *auth.Principal, cost int) error {
	return g.s.admit(w, r, p, cost)
}

func (g streamGate) Slot(r *http.Request, p *auth.Principal, topic string) (*slots.Slot, error) {
	return g.s.slots.Acquire(g.s.clientKey(r, p), topic)
}

func (g streamGate) Streaming(r *http.Request) { g.s.streaming(r) }

// lingers reports whether a topic outlives its last stream: a hub topic
// fed from upstream, not the notifications' nor a socket's slot.
func lingers(topic string) bool { return topic != upstream.NotificationsTopic && topic != socketTopic }
