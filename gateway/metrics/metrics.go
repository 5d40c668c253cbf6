package metrics

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nuls-gateway/nuls-gateway/gateway/sse"
	"github.com/nuls-gateway/nuls-gateway/internal/buildinfo"
)

// Metrics are the gateway's Prometheus metrics, registered on the registry
// given to New (never the global one).
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	upstreamCalls *prometheus.CounterVec
	upstreamTime  *prometheus.HistogramVec
	// inFlight are the requests being served, streams apart (they
	// leave it once open: see StreamOpened).
	inFlight prometheus.Gauge
	// streams are the SSE streams open; lifetimes how long each stream
	// and socket stayed open, by kind.
	streams   prometheus.Gauge
	lifetimes *prometheus.HistogramVec
	// authFailures counts the requests refused for their credential or
	// its grants, by reason.
	authFailures *prometheus.CounterVec
	// rateLimited counts requests refused by a rate limit;
	// rateLimitLocal the checks decided by this instance alone, Redis
	// being away.
	rateLimited    prometheus.Counter
	rateLimitLocal prometheus.Counter
	// What the streams delivered: every event written, the gap events
	// among them by cause, the streams opened with Last-Event-ID, and
	// the clients dropped for being too slow.
	delivered prometheus.Counter
	gaps      *prometheus.CounterVec
	resumed   prometheus.Counter
	slowDrops prometheus.Counter
	// secretsWithheld counts answers refused on the way out because they
	// carried a secret (policy.SecretField).
	secretsWithheld prometheus.Counter

	// methodLabels are the NULS method names given a label value of
	// their own (see MethodLabel); methodLabelCount counts them.
	methodLabels     sync.Map // string → struct{}
	methodLabelCount atomic.Int64
	// roleLabels are the upstream module roles given a label value of
	// their own (see RoleLabel); roleLabelCount counts them.
	roleLabels     sync.Map // string → struct{}
	roleLabelCount atomic.Int64
}

// Sources are what the metrics read at each scrape rather than count.
type Sources struct {
	// Reconnects is the upstream's count of connections negotiated after
	// the first of each; nil when it keeps none.
	Reconnects func() int64
	// Topics is the number of shared upstream subscriptions.
	Topics func() int
	// Ready reports whether the upstream is negotiated.
	Ready func() bool
	// Modules reports, by role, whether each upstream connection is
	// negotiated: the one of the direct topology, or the Manager's and
	// each module's of the manager topology. Nil: no series.
	Modules func() map[string]bool
}

// The label values, and their bounds:
//
//   - route: the router's patterns ("/rpc/{method}", ...), or Other for
//     a request no route matched.
//   - method (HTTP): GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, or
//     Other (HTTPMethodLabel).
//   - code: a status net/http knows (about 60), 499, or Other
//     (StatusLabel).
//   - nuls_method: a method the listing knows (the upstream's listing or
//     the catalog: the operator's modules decide it, not a caller), at
//     most MaxMethodLabels of them; OtherMethod or MultiMethod beyond
//     (MethodLabel).
//   - outcome: "ok" or a status, as code.
//   - cause: the three gap causes.
//   - reason: the authentication failures' reasons (AuthReasons), or
//     Other.
//   - kind: StreamSSE or StreamSocket.
//   - role: an upstream module's role as the Manager's role table names
//     it, at most MaxRoleLabels of them, Other beyond (RoleLabel).
const (
	Other = "other"
	// OtherMethod labels a call of a method past MaxMethodLabels, or of
	// none the listing knows; MultiMethod a call of several methods.
	OtherMethod = "(other)"
	MultiMethod = "(multi)"
	// MaxMethodLabels bounds the NULS method names with a label of their
	// own. A listing is the operator's (the NULS 2 catalog has 276
	// commands, a live node lists about 260), but it is re-read every
	// minute and an upstream may change it: the bound keeps a listing
	// that changes, or one of a module gone astray, from growing the
	// metrics without end.
	MaxMethodLabels = 1024
	// OK is the outcome of a call that succeeded.
	OK = "ok"
)

// statusClientClosed is nginx's 499, which the gateway records for a
// client gone before its answer.
const statusClientClosed = 499

// HTTPMethodLabel is the label of an HTTP method: the methods of RFC 9110
// and PATCH that the gateway could route, others as one.
func HTTPMethodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return Other
}

// statusLabels are the label values of the statuses net/http knows, and
// nginx's 499, by status; "" for the others.
var statusLabels = func() (labels [600]string) {
	for code := range labels {
		if http.StatusText(code) != "" || code == statusClientClosed {
			labels[code] = strconv.Itoa(code)
		}
	}
	return labels
}()

// StatusLabel is the label of an HTTP status.
func StatusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) && statusLabels[code] != "" {
		return statusLabels[code]
	}
	return Other
}

// MethodLabel is the label of a NULS method the listing knows: its own
// name while fewer than MaxMethodLabels names have one, else OtherMethod.
func (m *Metrics) MethodLabel(name string) string {
	if _, ok := m.methodLabels.Load(name); ok {
		return name
	}
	if m.methodLabelCount.Add(1) > MaxMethodLabels {
		m.methodLabelCount.Add(-1)
		return OtherMethod
	}
	if _, loaded := m.methodLabels.LoadOrStore(name, struct{}{}); loaded {
		m.methodLabelCount.Add(-1) // another request stored it first
	}
	return name
}

// Causes of the gap events a stream writes (label "cause" of
// nuls_gateway_stream_gap_events_total).
const (
	// GapUpstream: the shared log's own gap event (the upstream
	// subscription was renewed and pushes were missed).
	GapUpstream = "upstream"
	// GapResume: the stream resumed after events no longer retained, or
	// from an id the topic never issued.
	GapResume = "resume"
	// GapSlow: a live stream fell out of the retention; it is dropped.
	GapSlow = "slow"
)

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// lifetimeBuckets are a stream's or a socket's lifetime: from a client
// that gives up at once to one that stays a day.
var lifetimeBuckets = []float64{1, 5, 15, 30, 60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600}

// Kinds of long-lived requests (label "kind" of
// nuls_gateway_stream_duration_seconds).
const (
	// StreamSSE is a Server-Sent Events stream.
	StreamSSE = "sse"
	// StreamSocket is a JSON-RPC WebSocket.
	StreamSocket = "websocket"
)

// Reasons of an authentication failure (label "reason" of
// nuls_gateway_auth_failures_total). Those of a refused credential are
// auth's Error.Reason values.
const (
	// AuthMissing: no credential where one is needed (the anonymous
	// policy does not allow the call).
	AuthMissing = "missing"
	// AuthMalformed: a credential sent wrong (two of them, another
	// scheme than Bearer, empty, too long, neither a key nor a JWT).
	AuthMalformed = "malformed"
	// AuthInvalidKey: an API key no store has.
	AuthInvalidKey = "invalid_key"
	// AuthInvalidJWT: a JWT whose signature or claims do not verify.
	AuthInvalidJWT = "invalid_jwt"
	// AuthInvalidTicket: a stream ticket that does not verify, or one
	// given to a route that calls.
	AuthInvalidTicket = "invalid_ticket"
	// AuthExpired: an API key, a JWT or a stream ticket past its expiry.
	AuthExpired = "expired"
	// AuthForbidden: a credential that holds, without the scope or the
	// method the request needs (403).
	AuthForbidden = "forbidden"
	// AuthUnavailable: the credential could not be checked (the key
	// store or the JWKS is unreachable; 503).
	AuthUnavailable = "unavailable"
)

// AuthReasons are the values of the label "reason", Other aside.
var AuthReasons = []string{AuthMissing, AuthMalformed, AuthInvalidKey, AuthInvalidJWT, AuthInvalidTicket, AuthExpired,
	AuthForbidden, AuthUnavailable}

// MaxRoleLabels bounds the upstream module roles with a label of their
// own. A NULS node has about fifteen modules; the role table is the
// Manager's, but a Manager gone astray must not grow the metrics.
const MaxRoleLabels = 64

// New registers the metrics on reg. A registry that already holds them
// (another Server's) is refused: their functions would read the other
// Server, and this one's counts would go nowhere.
func New(reg *prometheus.Registry, src Sources) (*Metrics, error) {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nuls_gateway_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nuls_gateway_http_request_duration_seconds", Help: "HTTP request latency by route; streams and sockets that opened are not in it (see nuls_gateway_stream_duration_seconds).",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		upstreamCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nuls_gateway_upstream_calls_total", Help: "Upstream NULS calls by method and outcome.",
		}, []string{"nuls_method", "outcome"}),
		upstreamTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nuls_gateway_upstream_call_duration_seconds", Help: "Upstream NULS call latency by method.",
			Buckets: latencyBuckets,
		}, []string{"nuls_method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nuls_gateway_http_requests_in_flight", Help: "HTTP requests being served; a stream or a socket leaves it once open (see nuls_gateway_active_streams).",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nuls_gateway_active_streams", Help: "Open SSE streams.",
		}),
		lifetimes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nuls_gateway_stream_duration_seconds", Help: "How long SSE streams (kind sse) and JSON-RPC WebSockets (kind websocket) stayed open, counted when they end.",
			Buckets: lifetimeBuckets,
		}, []string{"kind"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nuls_gateway_auth_failures_total", Help: "Requests refused for their credential (401), its grants (403, forbidden) or because it could not be checked (503, unavailable), by reason.",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nuls_gateway_rate_limited_total", Help: "Requests refused with 429 by a rate limit.",
		}),
		rateLimitLocal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nuls_gateway_rate_limit_local_total", Help: "Rate limit checks decided by this instance alone while Redis was unavailable.",
		}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nuls_gateway_stream_events_total", Help: "SSE events written to streams (every client counts), gap events included.",
		}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nuls_gateway_stream_gap_events_total", Help: "Gap events written to streams, by cause: upstream (pushes missed while the upstream subscription was renewed), resume (a Last-Event-ID past the retention or never issued), slow (a stream fell out of the retention and was dropped).",
		}, []string{"cause"}),
		resumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nuls_gateway_streams_resumed_total", Help: "Streams opened with a Last-Event-ID.",
		}),
		slowDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nuls_gateway_slow_clients_dropped_total", Help: "Streams dropped because their client could not take events in time (a write deadline passed, or it fell out of the retention).",
		}),
		secretsWithheld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nuls_gateway_secret_answers_withheld_total", Help: "Upstream answers refused to a caller without the admin scope because they carried a secret field (a password, a private key): each is also logged at WARN.",
		}),
	}
	// Exported at 0 from the start, so that rates and alerts have a
	// series before the first event.
	for _, cause := range []string{GapUpstream, GapResume, GapSlow} {
		m.gaps.WithLabelValues(cause)
	}
	for _, reason := range append(AuthReasons, Other) {
		m.authFailures.WithLabelValues(reason)
	}
	for _, kind := range []string{StreamSSE, StreamSocket} {
		m.lifetimes.WithLabelValues(kind)
	}
	reconnects := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "nuls_gateway_upstream_reconnects_total", Help: "Upstream connections negotiated after the first of each (the Manager's and the modules' in the manager topology).",
	}, func() float64 {
		if src.Reconnects == nil {
			return 0
		}
		return float64(src.Reconnects())
	})
	subs := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nuls_gateway_subscriptions", Help: "Shared upstream subscriptions (hub topics) of this instance.",
	}, func() float64 {
		if src.Topics == nil {
			return 0
		}
		return float64(src.Topics())
	})
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nuls_gateway_upstream_ready", Help: "1 when the upstream is negotiated.",
	}, func() float64 {
		if src.Ready != nil && src.Ready() {
			return 1
		}
		return 0
	})
	// The build, as Prometheus' own build_info metrics: always 1, the
	// facts in the labels.
	build := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nuls_gateway_build_info", Help: "The gateway's build: version, commit and Go version (always 1).",
		ConstLabels: prometheus.Labels{"version": buildinfo.Version(), "commit": buildinfo.Commit(), "goversion": buildinfo.GoVersion()},
	}, func() float64 { return 1 })
	modules := &moduleCollector{m: m, src: src.Modules, desc: prometheus.NewDesc("nuls_gateway_upstream_module_up",
		"1 when the upstream connection of the role is negotiated, else 0: role direct in the direct topology; manager and each module's role of the Manager's role table in the manager topology.",
		[]string{"role"}, nil)}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.inFlight, m.upstreamCalls, m.upstreamTime, m.streams, m.lifetimes, m.authFailures,
		m.rateLimited, m.rateLimitLocal, reconnects, m.delivered, m.gaps, m.resumed, m.slowDrops, m.secretsWithheld, subs, ready, modules, build} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return m, nil
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request counts an HTTP request of route (a router pattern or Other)
// that took d. A stream or a socket that opened is counted, but its
// lifetime is StreamEnded's, not a latency: pass streamed.
func (m *Metrics) Request(route, method string, status int, d time.Duration, streamed bool) {
	m.requests.WithLabelValues(route, HTTPMethodLabel(method), StatusLabel(status)).Inc()
	if !streamed {
		m.latency.WithLabelValues(route).Observe(d.Seconds())
	}
}

// RequestStarted counts a request in flight until RequestDone, or
// StreamOpened for a request that becomes a stream.
func (m *Metrics) RequestStarted() { m.inFlight.Inc() }

// RequestDone counts a request no longer in flight.
func (m *Metrics) RequestDone() { m.inFlight.Dec() }

// StreamOpened moves a request in flight that opened a stream or a socket
// out of the requests in flight.
func (m *Metrics) StreamOpened() { m.inFlight.Dec() }

// StreamEnded observes the lifetime of a stream or a socket of kind
// (StreamSSE or StreamSocket).
func (m *Metrics) StreamEnded(kind string, open time.Duration) {
	if kind != StreamSSE && kind != StreamSocket {
		kind = Other
	}
	m.lifetimes.WithLabelValues(kind).Observe(open.Seconds())
}

// AuthFailed counts a request refused for its credential, for reason (one
// of AuthReasons; another counts as Other).
func (m *Metrics) AuthFailed(reason string) {
	for _, r := range AuthReasons {
		if r == reason {
			m.authFailures.WithLabelValues(r).Inc()
			return
		}
	}
	m.authFailures.WithLabelValues(Other).Inc()
}

// Call counts an upstream call of method (a MethodLabel) that ended with
// status: 0 when it succeeded, else the HTTP status of its error.
func (m *Metrics) Call(method string, status int, d time.Duration) {
	outcome := OK
	if status != 0 {
		outcome = StatusLabel(status)
	}
	m.upstreamCalls.WithLabelValues(method, outcome).Inc()
	m.upstreamTime.WithLabelValues(method).Observe(d.Seconds())
}

// RateLimited counts a request refused by a rate limit.
func (m *Metrics) RateLimited() { m.rateLimited.Inc() }

// RateLimitedLocally counts a rate-limit check decided by this instance
// alone, Redis being away.
func (m *Metrics) RateLimitedLocally() { m.rateLimitLocal.Inc() }

// SecretWithheld counts an answer refused because it carried a secret.
func (m *Metrics) SecretWithheld() { m.secretsWithheld.Inc() }

// Resumed counts a stream opened with a Last-Event-ID.
func (m *Metrics) Resumed() { m.resumed.Inc() }

// Delivered implements sse.Observer: it adds a round's deliveries, and
// zeroes c.
func (m *Metrics) Delivered(c *sse.Counts) {
	if *c == (sse.Counts{}) {
		return
	}
	m.delivered.Add(float64(c.Events))
	m.gaps.WithLabelValues(GapUpstream).Add(float64(c.LogGaps))
	m.gaps.WithLabelValues(GapResume).Add(float64(c.ResumeGaps))
	m.gaps.WithLabelValues(GapSlow).Add(float64(c.SlowGaps))
	m.slowDrops.Add(float64(c.SlowDrops))
	*c = sse.Counts{}
}

// Opened implements sse.Observer.
func (m *Metrics) Opened() { m.streams.Inc() }

// Closed implements sse.Observer: the stream's lifetime goes to
// nuls_gateway_stream_duration_seconds{kind="sse"}.
func (m *Metrics) Closed(open time.Duration) {
	m.streams.Dec()
	m.StreamEnded(StreamSSE, open)
}

var _ sse.Observer = (*Metrics)(nil)
