package gateway

import (
	"io"
	"net/http"
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

type statusError struct{ status int }

func (e *statusError) Error() string { return http.StatusText(e.status) }
