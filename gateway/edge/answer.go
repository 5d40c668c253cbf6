package edge

import (
	"encoding/json"
	"net/http"
)

// FallbackProblem is the answer when an answer cannot be encoded.
const FallbackProblem = `{"type":"about:blank","title":"Internal Server Error","status":500}`

// WriteJSON answers status with v as JSON; FallbackProblem, 500, when v
// does not encode. Every route of the gateway answers JSON through it or
// WriteRaw.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(FallbackProblem))
		return
	}
	WriteRaw(w, status, b)
}

// WriteRaw answers status with JSON text as it is.
func WriteRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
