package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
}

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
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.upstreamCalls, m.upstreamTime, m.streams, m.rateLimited, m.rateLimitLocal, m.reconnects, subs, ready} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
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
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) observeCall(method string, err error, d time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = strconv.Itoa(httpStatus(err))
	}
	m.upstreamCalls.WithLabelValues(method, outcome).Inc()
	m.upstreamTime.WithLabelValues(method).Observe(d.Seconds())
}
