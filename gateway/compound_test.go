package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestCompoundMethods(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{})
	acct := tg.node.GenesisAccounts()[0]
	def := `{"name":"walletInfo","description":"balance and nonce","methods":[
		{"method":"getBalance","params":{"chainId":"chain","assetChainId":"chain","assetId":"asset","address":"address"}},
		{"method":"getNonce","params":{"chainId":"chain","assetChainId":"chain","assetId":"asset","address":"address"}},
		{"method":"latestHeight","params":{"chainId":"chain"}}]}`
	status, h, body := post(t, tg.url+"/compound-methods", def)
	if status != http.StatusCreated || h.Get("Location") != "/compound-methods/walletInfo" {
		t.Fatalf("create: %d %v %s", status, h, body)
	}
	status, _, body = post(t, tg.url+"/rpc/walletInfo", `{"chain":2,"asset":1,"address":"`+acct.Address+`"}`)
	if status != http.StatusOK {
		t.Fatalf("call: %d %s", status, body)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 3 || !strings.HasPrefix(body, `{"getBalance":`) {
		t.Fatalf("result %s: want the children's results in order", body)
	}
	if !strings.Contains(string(got["getBalance"]), "100000000000000") || string(got["latestHeight"]) != `{"value":0}` {
		t.Fatalf("result %s", body)
	}
	// A child failure fails the whole, with the child's NULS error.
	status, _, body = post(t, tg.url+"/rpc/walletInfo", `{"chain":2,"asset":1,"address":"nonsense"}`)
	if p := problemOf(t, body); status != http.StatusUnprocessableEntity || p.ResponseErrorCode == "" {
		t.Fatalf("child failure: %d %s", status, body)
	}
	// Listed in /methods, typed by the child parameters, and in OpenAPI.
	_, methods := get(t, tg.url+"/methods")
	if !strings.Contains(methods, `"name":"walletInfo"`) || !strings.Contains(methods, `"compound":true`) {
		t.Fatalf("methods: %s", methods)
	}
	_, doc := get(t, tg.url+"/openapi.json")
	if !strings.Contains(doc, `"/rpc/walletInfo"`) {
		t.Error("compound method missing from the OpenAPI document")
	}
	_, list := get(t, tg.url+"/compound-methods")
	if !strings.Contains(list, `"walletInfo"`) {
		t.Fatalf("list: %s", list)
	}

	tests := []struct {
		name, body string
		status     int
	}{
		{"name taken", def, http.StatusConflict},
		{"upstream name", `{"name":"getBalance","methods":[{"method":"latestHeight"}]}`, http.StatusConflict},
		{"unknown child", `{"name":"x1","methods":[{"method":"nope"}]}`, http.StatusNotFound},
		{"no children", `{"name":"x2","methods":[]}`, http.StatusBadRequest},
		{"alias of two types in a child", `{"name":"x3","methods":[{"method":"getBalance","params":{"chainId":"a","address":"a"}}]}`, http.StatusBadRequest},
		{"alias of two types", `{"name":"x4","methods":[{"method":"getBalance","params":{"address":"a"}},{"method":"latestHeight","params":{"chainId":"a"}}]}`, http.StatusBadRequest},
		{"bad name", `{"name":"bad name","methods":[{"method":"latestHeight"}]}`, http.StatusBadRequest},
		{"unknown field", `{"name":"x5","methods":[],"extra":1}`, http.StatusBadRequest},
		{"not JSON", `{`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _, body := post(t, tg.url+"/compound-methods", tt.body); status != tt.status {
				t.Fatalf("%d %s, want %d", status, body, tt.status)
			}
		})
	}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, tg.url+"/compound-methods/walletInfo", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if status, _, _ := post(t, tg.url+"/rpc/walletInfo", `{}`); status != http.StatusNotFound {
		t.Fatalf("deleted method: %d", status)
	}
	resp, err = http.DefaultClient.Do(req.Clone(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("delete again: %d", resp.StatusCode)
	}
}

// unreachableCompounds is a CompoundStore whose shared state cannot be
// reached, as Redis while it is down.
type unreachableCompounds struct{}

func (unreachableCompounds) Add(context.Context, Compound) error { return errStateUnavailable }
func (unreachableCompounds) Get(context.Context, string) (Compound, bool, error) {
	return Compound{}, false, errStateUnavailable
}
func (unreachableCompounds) List(context.Context) ([]Compound, error) {
	return nil, errStateUnavailable
}
func (unreachableCompounds) Delete(context.Context, string) (bool, error) {
	return false, errStateUnavailable
}

// TestCallWithoutCompoundStore: a call of an upstream method does not ask
// the compound store, so it works while the store (Redis) is unreachable;
// a name that may be a compound method gets the store's 503.
func TestCallWithoutCompoundStore(t *testing.T) {
	t.Parallel()
	tg := startGateway(t, gatewayOptions{cfg: Config{Compounds: unreachableCompounds{}}})
	if status, _, body := post(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`); status != http.StatusOK || body != `{"value":0}` {
		t.Fatalf("upstream method: %d %s, want 200", status, body)
	}
	if status, _, body := post(t, tg.url+"/rpc/walletInfo", `{}`); status != http.StatusServiceUnavailable {
		t.Fatalf("maybe a compound method: %d %s, want 503", status, body)
	}
}
