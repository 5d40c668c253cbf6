package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkRPCCall is one POST /rpc/latestHeight through the gateway, over
// real sockets: an HTTP keep-alive connection in, the WebSocket to an
// in-process simulated node out. Client, gateway and node share the
// process, so allocs/op counts all three; the gateway's own share is what
// changes when the gateway changes.
func BenchmarkRPCCall(b *testing.B) {
	tg := startGateway(b, gatewayOptions{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	url := tg.url + "/rpc/latestHeight"
	call := func() error {
		resp, err := client.Post(url, "application/json", strings.NewReader(`{"chainId":2}`))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return &statusError{resp.StatusCode}
		}
		return nil
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkMinimalJSONEndpoint is BenchmarkRPCCall's floor: the same client
// and calls against a minimal net/http JSON endpoint, which reads the body,
// decodes it and answers a fixed result, with no upstream. What
// BenchmarkRPCCall allocates beyond it is the gateway's and the simulated
// node's.
func BenchmarkMinimalJSONEndpoint(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var params map[string]any
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = json.Unmarshal(body, &params)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":1234}`))
	}))
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	url := srv.URL + "/rpc/latestHeight"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/json", strings.NewReader(`{"chainId":2}`))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

type statusError struct{ status int }

func (e *statusError) Error() string { return http.StatusText(e.status) }
