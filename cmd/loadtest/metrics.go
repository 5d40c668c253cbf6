package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Gateway metrics the sse subcommand reads (gateway/metrics and the
// Prometheus Go and process collectors).
const (
	metricHeapInuse  = "go_memstats_heap_inuse_bytes"
	metricStackInuse = "go_memstats_stack_inuse_bytes"
	metricRSS        = "process_resident_memory_bytes"
	metricGoroutines = "go_goroutines"
	metricStreams    = "nuls_gateway_active_streams"
	metricLastGC     = "go_memstats_last_gc_time_seconds"
)

// metricSet holds the unlabelled samples of one scrape.
type metricSet map[string]float64

// scrapeMetrics reads the gateway's /metrics.
func scrapeMetrics(ctx context.Context, base string) (metricSet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := controlClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	m, err := parseMetrics(bufio.NewScanner(resp.Body))
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	return m, nil
}

// parseMetrics reads the Prometheus text format, keeping the samples
// without labels: "name value".
func parseMetrics(sc *bufio.Scanner) (metricSet, error) {
	m := metricSet{}
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.ContainsRune(line, '{') {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		m[f[0]] = v
	}
	return m, sc.Err()
}
