package metrics

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMethodLabelsCapped: past MaxMethodLabels names, methods share
// "(other)", so that a listing that changes cannot grow the metrics
// without end.
func TestMethodLabelsCapped(t *testing.T) {
	t.Parallel()
	var m Metrics
	distinct := map[string]bool{}
	for i := range 3 * MaxMethodLabels {
		distinct[m.MethodLabel(fmt.Sprintf("m%d", i))] = true
	}
	if len(distinct) != MaxMethodLabels+1 || !distinct[OtherMethod] {
		t.Fatalf("%d distinct labels, want %d and %q", len(distinct), MaxMethodLabels+1, OtherMethod)
	}
	if got := m.MethodLabel("m0"); got != "m0" {
		t.Fatalf("a name labelled before the bound: %q", got)
	}
}

// TestModuleRolesBounded: a role table of any size, or with odd names,
// gives at most MaxRoleLabels+1 series, and the roles sharing "other" are
// up only when all of them are.
func TestModuleRolesBounded(t *testing.T) {
	t.Parallel()
	roles := map[string]bool{}
	for i := range MaxRoleLabels {
		roles[fmt.Sprintf("M%d", i)] = true
	}
	reg := prometheus.NewRegistry()
	if _, err := New(reg, Sources{Modules: func() map[string]bool { return roles }}); err != nil {
		t.Fatal(err)
	}
	scrape := func() map[string]float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() == "nuls_gateway_upstream_module_up" {
				for _, m := range mf.GetMetric() {
					got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
		return got
	}
	if got := scrape(); len(got) != MaxRoleLabels || got["M0"] != 1 {
		t.Fatalf("%d series (M0 %v), want %d, up", len(got), got["M0"], MaxRoleLabels)
	}
	// Past the bound: more roles, one of them down, and an odd name.
	roles["late-up"], roles["late-down"], roles["bad role\n"] = true, false, true
	got := scrape()
	if len(got) != MaxRoleLabels+1 {
		t.Fatalf("%d series, want %d", len(got), MaxRoleLabels+1)
	}
	if v, ok := got[Other]; !ok || v != 0 {
		t.Fatalf("other: %v %v, want 0 (one of its roles is down)", v, ok)
	}
	if got["M0"] != 1 {
		t.Fatal("a role labelled first lost its label")
	}
}
