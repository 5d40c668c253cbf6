package cache

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the cache, read from Stats at each scrape; no label but the
// layer of a hit.
var (
	descHits = prometheus.NewDesc("nuls_gateway_cache_hits_total",
		"Reads answered from the cache, by layer (memory, or redis: another instance's answer).", []string{"layer"}, nil)
	descMisses    = prometheus.NewDesc("nuls_gateway_cache_misses_total", "Reads of a cached command that went to the node.", nil, nil)
	descStored    = prometheus.NewDesc("nuls_gateway_cache_stored_total", "Answers kept: final (deep enough) successes of a cached command.", nil, nil)
	descCollapsed = prometheus.NewDesc("nuls_gateway_cache_collapsed_total", "Reads that waited on an identical read in flight instead of calling the node.", nil, nil)
	descServed    = prometheus.NewDesc("nuls_gateway_cache_served_bytes_total", "Answer bytes served from the cache.", nil, nil)
	descEntries   = prometheus.NewDesc("nuls_gateway_cache_entries", "Answers in the in-process layer.", nil, nil)
	descBytes     = prometheus.NewDesc("nuls_gateway_cache_bytes", "Bytes of the in-process layer (bounded by --cache-bytes).", nil, nil)
	descRedisErrs = prometheus.NewDesc("nuls_gateway_cache_redis_errors_total", "Failed operations on the cache's Redis layer (reads go to the node meanwhile).", nil, nil)
	descDropped   = prometheus.NewDesc("nuls_gateway_cache_rollback_dropped_total", "Entries dropped because the chain rolled back below them.", nil, nil)
)

// Collector returns the cache's metrics, for a Prometheus registry.
func (c *Cache) Collector() prometheus.Collector { return collector{c} }

type collector struct{ c *Cache }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHits, descMisses, descStored, descCollapsed, descServed, descEntries, descBytes, descRedisErrs, descDropped} {
		ch <- d
	}
}

func (x collector) Collect(ch chan<- prometheus.Metric) {
	s := x.c.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descHits, s.Hits-s.SharedHits, "memory")
	counter(descHits, s.SharedHits, "redis")
	counter(descMisses, s.Misses)
	counter(descStored, s.Stored)
	counter(descCollapsed, s.Collapsed)
	counter(descServed, s.BytesServed)
	counter(descRedisErrs, s.RedisErrors)
	counter(descDropped, s.Dropped)
	ch <- prometheus.MustNewConstMetric(descEntries, prometheus.GaugeValue, float64(s.Entries))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(s.Bytes))
}
