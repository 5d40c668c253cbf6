package retry

import (
	"context"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for n := 1; n <= 12; n++ {
		want := min(100*time.Millisecond<<(n-1), 2*time.Second)
		for range 50 {
			if d := Backoff(n, 100*time.Millisecond, 2*time.Second); d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := Backoff(1, 0, 0); d != 0 {
		t.Errorf("Backoff with no bounds = %v", d)
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("a full sleep reported as cut short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if Sleep(ctx, time.Hour) || time.Since(start) > time.Second {
		t.Error("a cancelled sleep did not end at once")
	}
}
