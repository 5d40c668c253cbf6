package calls

import (
	"net/http"
	"testing"
)

// TestFinal: which answers an Idempotency-Key keeps and replays. A 502 is
// kept: a write whose node failed after it had the request may have been
// done, and must not run again on the retry (seen in TestNodesChaos: a
// transfer moved twice when the 502 freed its key).
func TestFinal(t *testing.T) {
	for status, want := range map[int]bool{
		http.StatusOK: true, http.StatusUnprocessableEntity: true, http.StatusBadRequest: true,
		http.StatusBadGateway: true, http.StatusInternalServerError: true,
		http.StatusServiceUnavailable: false, http.StatusGatewayTimeout: false,
		http.StatusTooManyRequests: false, StatusClientClosed: false,
	} {
		if got := final(Reply{Status: status}); got != want {
			t.Errorf("final(%d) = %v, want %v", status, got, want)
		}
	}
}
