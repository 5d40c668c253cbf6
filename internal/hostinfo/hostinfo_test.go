package hostinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestHostinfo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if m := CPUModel(); m == "" {
		t.Error("empty CPU model")
	}
	if l := LoadAvg(); len(strings.Fields(l)) != 3 {
		t.Errorf("load averages %q, want three", l)
	}
}
