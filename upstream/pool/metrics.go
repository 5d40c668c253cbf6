package pool

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the nodes, read from Nodes at each scrape. Their only label is
// the node's name, one per configured member.
var (
	descState = prometheus.NewDesc("nuls_gateway_upstream_node_state",
		"1 for the state each upstream node is in (in rotation, connecting, down, unresponsive, lagging, stalled), 0 for the others.",
		[]string{"node", "state"}, nil)
	descHeight  = prometheus.NewDesc("nuls_gateway_upstream_node_height", "The head height each upstream node last reported.", []string{"node"}, nil)
	descLag     = prometheus.NewDesc("nuls_gateway_upstream_node_lag_blocks", "How many blocks each upstream node is behind the best.", []string{"node"}, nil)
	descLatency = prometheus.NewDesc("nuls_gateway_upstream_node_latency_seconds", "The EWMA of each upstream node's call and poll durations.", []string{"node"}, nil)
	descCalls   = prometheus.NewDesc("nuls_gateway_upstream_node_calls_total", "Calls sent to each upstream node.", []string{"node"}, nil)
	descErrors  = prometheus.NewDesc("nuls_gateway_upstream_node_errors_total", "Calls each upstream node failed (its own failures: not the caller's).", []string{"node"}, nil)
	descRetries = prometheus.NewDesc("nuls_gateway_upstream_node_retries_total", "Calls retried on another node after this one failed.", []string{"node"}, nil)
	descHedges  = prometheus.NewDesc("nuls_gateway_upstream_node_hedges_total", "Reads also sent to another node while this one was slow.", []string{"node"}, nil)
)

var descMoves = prometheus.NewDesc("nuls_gateway_upstream_stream_moves_total",
	"Upstream subscriptions moved to another node when theirs left rotation (the stream's consumers see no switch).", nil, nil)

var descGaps = prometheus.NewDesc("nuls_gateway_upstream_stream_gaps_total",
	"Pushes the streams over several nodes marked as a gap (pushes may be missing before them), each logged with why.", nil, nil)

// states are every state, so that each node has a series of each.
var states = []string{StateInRotation, StateConnecting, StateDown, StateUnresponsive, StateLagging, StateStalled}

// Collector returns the pool's metrics, for a Prometheus registry.
func (p *Pool) Collector() prometheus.Collector { return collector{p} }

type collector struct{ p *Pool }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMoves, descGaps, descState, descHeight, descLag, descLatency, descCalls, descErrors, descRetries, descHedges} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descMoves, prometheus.CounterValue, float64(c.p.streamMoves.Load()))
	ch <- prometheus.MustNewConstMetric(descGaps, prometheus.CounterValue, float64(c.p.streamGaps.Load()))
	for _, s := range c.p.Nodes() {
		for _, st := range states {
			v := 0.0
			if s.State == st {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, s.Name, st)
		}
		ch <- prometheus.MustNewConstMetric(descHeight, prometheus.GaugeValue, float64(s.Height), s.Name)
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(s.Lag), s.Name)
		ch <- prometheus.MustNewConstMetric(descLatency, prometheus.GaugeValue, s.Latency.Seconds(), s.Name)
		ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, float64(s.Calls), s.Name)
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(s.Errors), s.Name)
		ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(s.Retries), s.Name)
		ch <- prometheus.MustNewConstMetric(descHedges, prometheus.CounterValue, float64(s.Hedges), s.Name)
	}
}
