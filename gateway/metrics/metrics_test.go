package metrics

import (
	"fmt"
	"testing"
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
