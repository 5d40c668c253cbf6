package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/cache"
)

// BenchmarkRPCCall is one POST /rpc/latestHeight through the gateway, over
// real sockets: an HTTP keep-alive connection in, the WebSocket to an
// in-process simulated node out. Client, gateway and node share the
// process, so allocs/op counts all three; the gateway's own share is what
// changes when the gateway changes.
func BenchmarkRPCCall(b *testing.B) {
	tg := startGateway(b, gatewayOptions{})
	call := poster(b, tg.url+"/rpc/latestHeight", `{"chainId":2}`, nil)
	runCalls(b, call)
}

// poster returns a call of POST url with body on a keep-alive client, an
// error unless it answers 200 and check (if any) accepts the answer.
func poster(b *testing.B, url, body string, check func(*http.Response) error) func() error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	return func() error {
		resp, err := client.Post(url, "application/json", strings.NewReader(body))
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
		if check != nil {
			return check(resp)
		}
		return nil
	}
}

// runCalls runs call in parallel, b.N times in all.
func runCalls(b *testing.B, call func() error) {
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

// BenchmarkRPCCallCached is a read the answer cache serves (a block header
// deep enough): the gateway's own cost of a call, with no upstream call,
// to set against BenchmarkMinimalJSONEndpoint.
func BenchmarkRPCCallCached(b *testing.B) {
	node := startNode(b, devnode.Config{})
	for range 5 {
		node.ProduceBlock()
	}
	c := cache.New(cache.Config{Depth: 2, Tip: func() (int64, bool) { return node.Height(), true }})
	tg := startGateway(b, gatewayOptions{nodeURL: node.URL(), cfg: Config{Cache: c}})
	call := poster(b, tg.url+"/rpc/getBlockHeaderByHeight", `{"chainId":2,"height":1}`, func(resp *http.Response) error {
		if cs := resp.Header.Get("Cache-Status"); !strings.HasPrefix(cs, "nuls-gateway; ") {
			return fmt.Errorf("Cache-Status %q", cs)
		}
		return nil
	})
	if err := call(); err != nil { // the miss that fills the cache
		b.Fatal(err)
	}
	runCalls(b, call)
}
