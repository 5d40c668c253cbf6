package buildinfo

import (
	"regexp"
	"testing"
)

// TestString checks the --version line's shape. Under go test the module
// is "(devel)" and the test binary records no VCS revision, so the
// fallbacks show.
func TestString(t *testing.T) {
	if Version() == "" || Commit() == "" {
		t.Fatalf("empty version %q or commit %q", Version(), Commit())
	}
	if !regexp.MustCompile(`^gateway \S+ \(commit \S+, go\S+\)$`).MatchString(String()) {
		t.Errorf("String() = %q", String())
	}
}
