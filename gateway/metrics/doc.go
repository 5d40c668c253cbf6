// Package metrics holds the gateway's Prometheus metrics: what it counts,
// under which names, and the labels it gives them.
//
// Every label value comes from a fixed or bounded set whatever callers
// send (see the label constants and MethodLabel): a time series lives as
// long as the process, so a label a stranger could choose would grow
// /metrics without end.
//
// # Concurrency
//
// A Metrics is safe for concurrent use; its methods take no lock of their
// own beyond the Prometheus collectors' (MethodLabel uses a sync.Map and an
// atomic count). The functions of Sources are called from the scrape, on
// the goroutine serving /metrics: they must not block.
package metrics
