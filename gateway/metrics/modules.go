package metrics

import (
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
)

// roleForm is what a role label may look like: NULS module abbreviations
// (AC, BL, ConsensusModule...) fit; anything else is Other.
var roleForm = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

// RoleLabel is the label of an upstream module role: its own name while
// fewer than MaxRoleLabels roles have one and it looks like a role name,
// else Other.
func (m *Metrics) RoleLabel(role string) string {
	if _, ok := m.roleLabels.Load(role); ok {
		return role
	}
	if !roleForm.MatchString(role) {
		return Other
	}
	if m.roleLabelCount.Add(1) > MaxRoleLabels {
		m.roleLabelCount.Add(-1)
		return Other
	}
	if _, loaded := m.roleLabels.LoadOrStore(role, struct{}{}); loaded {
		m.roleLabelCount.Add(-1)
	}
	return role
}

// moduleCollector exports nuls_gateway_upstream_module_up, read from the
// upstream at each scrape: a role that left the role table leaves the
// metric with it.
type moduleCollector struct {
	m    *Metrics
	src  func() map[string]bool
	desc *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *moduleCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. Roles that share a label
// (Other) are one series, up only when all of them are.
func (c *moduleCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src == nil {
		return
	}
	up := map[string]bool{}
	for role, ready := range c.src() {
		label := c.m.RoleLabel(role)
		if prev, seen := up[label]; seen {
			ready = ready && prev
		}
		up[label] = ready
	}
	for label, ready := range up {
		v := 0.0
		if ready {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, label)
	}
}
