package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// metrics reads a gateway's /metrics (Prometheus text format) and returns
// the samples of the metrics named, each summed over its label sets.
// Metrics absent from the answer are absent from the map.
func metrics(ctx context.Context, base string, names ...string) (map[string]float64, error) {
	status, body, err := httpGet(ctx, base+"/metrics")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", status)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			// Label values may hold spaces: the value follows the
			// closing brace.
			name = line[:i]
			j := strings.LastIndexByte(line, '}')
			rest = strings.TrimSpace(line[j+1:])
		}
		if !want[name] {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("/metrics line %q: %w", line, err)
		}
		out[name] += v
	}
	return out, sc.Err()
}

// metric returns one metric of a gateway's /metrics, summed over its label
// sets; a metric that is absent is an error.
func metric(ctx context.Context, base, name string) (float64, error) {
	m, err := metrics(ctx, base, name)
	if err != nil {
		return 0, err
	}
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("/metrics of %s has no %s", base, name)
	}
	return v, nil
}
