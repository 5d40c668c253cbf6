package gateway

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

// metrics are the gateway's Prometheus metrics, registered on the registry
// of Config (never the global one).
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	upstreamCalls *prometheus.CounterVec
	upstreamTime  *prometheus.HistogramVec
	streams       prometheus.Gauge
	// rateLimited counts requests refused by a rate limit;
	// rateLimitLocal the checks decided by this instance alone, Redis
	// being away.
	rateLimited    prometheus.Counter
	rateLimitLocal prometheus.Counter
	// reconnects reads the upstream's own count when it keeps one.
	reconnects prometheus.CounterFunc
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
	// their own (see methodLabel); methodLabelCount counts them.
	methodLabels     sync.Map // string → struct{}
	methodLabelCount atomic.Int64
}

// Every label value of the gateway's metrics comes from a fixed or bounded
// set, whatever callers send: each value is a time series kept for the
// process's lifetime, so a label a stranger chooses (an HTTP method token,
// a method name) would grow /metrics without end.
//
//   - route: the router's patterns ("/rpc/{method}", ...), or "other"
//     for a request no route matched.
//   - method (HTTP): GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, or
//     "other" (httpMethodLabel).
//   - code: a status net/http knows (about 60), 499, or "other"
//     (statusLabel).
//   - nuls_method: a method the listing knows (the upstream's listing or
//     the catalog: the operator's modules decide it, not a caller), at
//     most maxMethodLabels of them; "(other)" or "(multi)" beyond
//     (Server.metricMethod).
//   - outcome: "ok" or a status, as code.
//   - cause: the three gap causes.
const (
	labelOther = "other"
	// maxMethodLabels bounds the NULS method names with a label of their
	// own. A listing is the operator's (the NULS 2 catalog has 276
	// commands, a live node lists about 260), but it is re-read every
	// minute and an upstream may change it: the bound keeps a listing
	// that changes, or one of a module gone astray, from growing the
	// metrics without end.
	maxMethodLabels = 1024
)

// httpMethodLabel is the label of an HTTP method: the methods of RFC 9110
// and PATCH that the gateway could route, others as one.
func httpMethodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return labelOther
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

// statusLabel is the label of an HTTP status.
func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) && statusLabels[code] != "" {
		return statusLabels[code]
	}
	return labelOther
}

// methodLabel is the label of a NULS method the listing knows: its own
// name while fewer than maxMethodLabels names have one, else "(other)".
func (m *metrics) methodLabel(name string) string {
	if _, ok := m.methodLabels.Load(name); ok {
		return name
	}
	if m.methodLabelCount.Add(1) > maxMethodLabels {
		m.methodLabelCount.Add(-1)
		return otherMethod
	}
	if _, loaded := m.methodLabels.LoadOrStore(name, struct{}{}); loaded {
		m.methodLabelCount.Add(-1) // another request stored it first
	}
	return name
}

// Labels of upstream calls that are not one known method.
const (
	otherMethod = "(other)"
	multiMethod = "(multi)"
)

// Causes of the gap events a stream writes (label "cause" of
// nuls_gateway_stream_gap_events_total).
const (
	// gapUpstream: the shared log's own gap event (the upstream
	// subscription was renewed and pushes were missed).
	gapUpstream = "upstream"
	// gapResume: the stream resumed after events no longer retained, or
	// from an id the topic never issued.
	gapResume = "resume"
	// gapSlow: a live stream fell out of the retention; it is dropped.
	gapSlow = "slow"
)

func newMetrics(reg *prometheus.Registry, s *Server) (*metrics, error) {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nuls_gateway_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nuls_gateway_http_request_duration_seconds", Help: "HTTP request latency by route (streams: their lifetime).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		upstreamCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nuls_gateway_upstream_calls_total", Help: "Upstream NULS calls by method and outcome.",
		}, []string{"nuls_method", "outcome"}),
		upstreamTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nuls_gateway_upstream_call_duration_seconds", Help: "Upstream NULS call latency by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"nuls_method"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nuls_gateway_active_streams", Help: "Open SSE streams.",
		}),
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
	for _, cause := range []string{gapUpstream, gapResume, gapSlow} {
		m.gaps.WithLabelValues(cause) // exported at 0 from the start
	}
	m.reconnects = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "nuls_gateway_upstream_reconnects_total", Help: "Upstream connections negotiated after the first of each (the Manager's and the modules' in the manager topology).",
	}, func() float64 {
		if rc, ok := s.cfg.Upstream.(reconnectCounter); ok {
			return float64(rc.Reconnects())
		}
		return 0
	})
	subs := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nuls_gateway_subscriptions", Help: "Shared upstream subscriptions (hub topics) of this instance.",
	}, func() float64 { return float64(s.cfg.Hub.Stats().Topics) })
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nuls_gateway_upstream_ready", Help: "1 when the upstream is negotiated.",
	}, func() float64 {
		if s.cfg.Upstream.Ready() == nil {
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
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.upstreamCalls, m.upstreamTime, m.streams, m.rateLimited, m.rateLimitLocal, m.reconnects, m.delivered, m.gaps, m.resumed, m.slowDrops, m.secretsWithheld, subs, ready, build} {
		// A collector already there is no metric to share: its
		// functions read another Server, and this one's counts would go
		// nowhere. One Server per registry (Config.Registry).
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("gateway: metrics: %w", err)
		}
	}
	return m, nil
}

// reconnectCounter is an upstream that counts its reconnections.
type reconnectCounter interface {
	Reconnects() int64
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, httpMethodLabel(method), statusLabel(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) observeCall(method string, err error, d time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = statusLabel(httpStatus(err))
	}
	m.upstreamCalls.WithLabelValues(method, outcome).Inc()
	m.upstreamTime.WithLabelValues(method).Observe(d.Seconds())
}

// Delivered implements sse.Metrics: it adds a round's deliveries, and
// zeroes c.
func (m *metrics) Delivered(c *sse.Counts) {
	if *c == (sse.Counts{}) {
		return
	}
	m.delivered.Add(float64(c.Events))
	m.gaps.WithLabelValues(gapUpstream).Add(float64(c.LogGaps))
	m.gaps.WithLabelValues(gapResume).Add(float64(c.ResumeGaps))
	m.gaps.WithLabelValues(gapSlow).Add(float64(c.SlowGaps))
	m.slowDrops.Add(float64(c.SlowDrops))
	*c = sse.Counts{}
}

// Opened implements sse.Metrics.
func (m *metrics) Opened() { m.streams.Inc() }

// Closed implements sse.Metrics.
func (m *metrics) Closed() { m.streams.Dec() }

var _ sse.Metrics = (*metrics)(nil)
