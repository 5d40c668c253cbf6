package upstream

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestPublicService: its result, its own error passed on, and every way it
// may fail to answer as it should; the answer is spent as it is read, and
// the spender's refusal is returned as it is.
func TestPublicService(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(b), `"method":"ok"`) && strings.Contains(string(b), `"params":[]`):
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"n":1}}`)
		case strings.Contains(string(b), `"method":"fails"`):
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"error":{"code":"err_0001","message":"no such tx"}}`)
		case strings.Contains(string(b), `"method":"big"`):
			_, _ = io.WriteString(w, `{"result":"`+strings.Repeat("x", 1<<16)+`"}`)
		case strings.Contains(string(b), `"method":"html"`):
			_, _ = io.WriteString(w, `<html>`)
		case strings.Contains(string(b), `"method":"slow"`):
			time.Sleep(300 * time.Millisecond)
		default:
			http.Error(w, "no", http.StatusBadGateway)
		}
	}))
	t.Cleanup(srv.Close)
	ps := NewPublicService(srv.URL, 100*time.Millisecond)
	if got, err := ps.Call(t.Context(), "ok", nil, nil); err != nil || string(got) != `{"n":1}` {
		t.Fatalf("ok: %s, %v", got, err)
	}
	var pe *PublicServiceError
	if _, err := ps.Call(t.Context(), "fails", nil, nil); !errors.As(err, &pe) || pe.CodeString() != "err_0001" || pe.Message != "no such tx" {
		t.Fatalf("its own error: %v", err)
	}
	for _, method := range []string{"html", "slow", "status"} {
		if _, err := ps.Call(t.Context(), method, nil, nil); !errors.Is(err, ErrPublicServiceUnavailable) {
			t.Errorf("%s: %v, want ErrPublicServiceUnavailable", method, err)
		}
	}
	errSpent := errors.New("spent")
	read := 0
	spend := func(n int) error {
		if read += n; read > 1000 {
			return errSpent
		}
		return nil
	}
	if _, err := ps.Call(t.Context(), "big", nil, spend); !errors.Is(err, errSpent) || read > 1000+32<<10 {
		t.Fatalf("past the spender's bound: %v after %d bytes, want its error, read no further", err, read)
	}
	if _, err := NewPublicService("http://127.0.0.1:1", time.Second).Call(t.Context(), "ok", nil, nil); !errors.Is(err, ErrPublicServiceUnavailable) {
		t.Fatalf("not reached: %v", err)
	}
}
