package gateway

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// TestNodeDownAtStart: a gateway started while nothing listens at its
// upstream's address answers every call path 503 with Retry-After (or its
// protocol's "unavailable", with the header), never 404: no name can be
// told unknown before the upstream has listed its methods. Once the node
// is up and has listed them, calls work, and an unknown name is 404.
func TestNodeDownAtStart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	tg := startGateway(t, gatewayOptions{nodeURL: "ws://" + addr, noWait: true})

	json200 := map[string]string{"Content-Type": "application/json"}
	type check struct {
		name string
		do   func() (status int, header http.Header, body string)
		// down: what the answer says while the node is down.
		down func(status int, body string) bool
	}
	rpc := func(method string) func() (int, http.Header, string) {
		return func() (int, http.Header, string) { return postWith(t, tg.url+"/rpc/"+method, `{"chainId":2}`, json200) }
	}
	is503 := func(status int, body string) bool {
		return status == http.StatusServiceUnavailable && problemOf(t, body).Status == http.StatusServiceUnavailable
	}
	jsonRPCUnavailable := func(status int, body string) bool {
		return status == http.StatusOK && strings.Contains(body, `"code":-32004`) && strings.Contains(body, `"status":503`)
	}
	checks := []check{
		{"REST, a method the node serves", rpc("latestHeight"), is503},
		{"REST, a name the node does not serve", rpc("noSuchMethod"), is503},
		{"JSON-RPC by name", func() (int, http.Header, string) {
			return postWith(t, tg.url+"/jsonrpc", `{"jsonrpc":"2.0","method":"latestHeight","params":{"chainId":2},"id":1}`, json200)
		}, jsonRPCUnavailable},
		{"JSON-RPC by position", func() (int, http.Header, string) {
			return postWith(t, tg.url+"/jsonrpc", `{"jsonrpc":"2.0","method":"latestHeight","params":[2],"id":1}`, json200)
		}, jsonRPCUnavailable},
		{"nuls-api profile", func() (int, http.Header, string) {
			return postWith(t, tg.url+"/nuls-api/jsonrpc", `{"jsonrpc":"2.0","method":"getBestBlockHeader","params":[2],"id":1}`, json200)
		}, func(status int, body string) bool {
			return status == http.StatusOK && strings.Contains(body, `"code":"-32004"`)
		}},
		{"Nulstar endpoint", func() (int, http.Header, string) {
			return postWith(t, tg.url+"/nulstar", nulstarScriptRequest, json200)
		},
			func(status int, body string) bool {
				var a nulstarAnswer
				return status == http.StatusOK && json.Unmarshal([]byte(body), &a) == nil && a.MessageData.ResponseStatus == 5 // the Connector's: unavailable
			}},
		{"stream", func() (int, http.Header, string) {
			return getWithHeader(t, tg.url+"/rpc/latestHeight/stream?chainId=2")
		}, is503},
		{"derived stream", func() (int, http.Header, string) {
			return getWithHeader(t, tg.url+"/rpc/newHeaders/stream?chainId=2")
		}, is503},
	}
	for _, c := range checks {
		status, header, body := c.do()
		if !c.down(status, body) || header.Get("Retry-After") == "" {
			t.Errorf("%s, node down: %d Retry-After %q %s", c.name, status, header.Get("Retry-After"), body)
		}
	}

	node := startNode(t, devnode.Config{Listen: addr})
	ctx := t.Context()
	if err := tg.client.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "method discovery", func() bool { _, source := tg.listing.List(); return source == upstream.SourceUpstream })
	node.ProduceBlock()
	if status, _, body := rpc("latestHeight")(); status != http.StatusOK || !strings.HasPrefix(body, `{"value":`) {
		t.Errorf("REST, node up: %d %s", status, body)
	}
	if status, _, body := rpc("noSuchMethod")(); status != http.StatusNotFound {
		t.Errorf("REST, unknown name, node up: %d %s", status, body)
	}
	if status, _, body := postWith(t, tg.url+"/jsonrpc", `{"jsonrpc":"2.0","method":"latestHeight","params":[2],"id":1}`, json200); status != http.StatusOK || !strings.Contains(body, `"result":{"value":`) {
		t.Errorf("JSON-RPC, node up: %d %s", status, body)
	}
	if status, a := postNulstar(t, tg.url+"/nulstar", nulstarScriptRequest, json200); status != http.StatusOK || a.MessageData.ResponseStatus != bridge.StatusSuccess {
		t.Errorf("Nulstar endpoint, node up: %d %+v", status, a)
	}
}

// getWithHeader GETs url and reads the whole answer: for a refused stream.
func getWithHeader(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
