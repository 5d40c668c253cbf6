package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nuls-gateway/nuls-gateway/auth"
)

// nulstarScriptRequest is what a Python script sent the Nulstar Connector
// (protocol vectors, python_client_vs_nulstar_connector_2020-01.jsonl),
// with the simulated node's chain: string counters, a RequestType field
// Nulstar knew and an envelope ProtocolVersion.
const nulstarScriptRequest = `{"ProtocolVersion": "0.1", "MessageID": "157873380292281-1", "Timestamp": "157873380292281", "TimeZone": "8", "MessageType": "Request", "MessageData": {"RequestType": "1", "SubscriptionEventCounter": "0", "SubscriptionPeriod": "0", "SubscriptionRange": "0", "ResponseMaxSize": "0", "RequestMethods": {"getStatus": {"chainId": 2}}}}`

// nulstarAnswer is a Response message as a script reads it.
type nulstarAnswer struct {
	MessageType string
	MessageData struct {
		RequestID         string
		ResponseStatus    int
		ResponseErrorCode string
		ResponseComment   string
		ResponseData      map[string]json.RawMessage
	}
}

func postNulstar(t *testing.T, url, body string, header map[string]string) (int, nulstarAnswer) {
	t.Helper()
	status, _, b := postWith(t, url, body, header)
	var a nulstarAnswer
	if status == http.StatusOK {
		if err := json.Unmarshal([]byte(b), &a); err != nil || a.MessageType != "Response" {
			t.Fatalf("not a Response message: %v %s", err, b)
		}
	}
	return status, a
}

// TestNulstarEndpoint: a raw Request message gets the raw Response
// message, whatever the body's media type; failures are Responses with
// the Connector's statuses; public methods only, even for an admin.
func TestNulstarEndpoint(t *testing.T) {
	t.Parallel()
	ta := newTestAuth(t, auth.Config{})
	tg := startGateway(t, gatewayOptions{cfg: Config{Auth: ta, AllowKernelCommands: true}})
	for _, srv := range []struct{ name, url string }{{"POST /nulstar", tg.url + "/nulstar"}, {"its own listener", newHTTPServer(t, tg.NulstarHandler())}} {
		status, a := postNulstar(t, srv.url, nulstarScriptRequest, map[string]string{"Content-Type": ""})
		if status != http.StatusOK || a.MessageData.RequestID != "157873380292281-1" || a.MessageData.ResponseStatus != 0 ||
			string(a.MessageData.ResponseData["getStatus"]) != `{"status":1}` {
			t.Errorf("%s: %d %+v", srv.name, status, a)
		}
	}
	for _, tt := range []struct {
		name, body string
		header     map[string]string
		status     int
		code       string
	}{
		{"not JSON", `getStatus please`, nil, 7, "NCN-7"},
		{"not a Request", `{"MessageID":"1","Timestamp":"1","TimeZone":"0","MessageType":"Ack","MessageData":{"RequestID":"1"}}`, nil, 7, "NCN-7"},
		{"unknown method", `{"MessageID":"1","Timestamp":"1","TimeZone":"0","MessageType":"Request","MessageData":{"RequestMethods":{"nope":{}}}}`, nil, 2, "NCN-2"},
		{"kernel command, even for an admin", `{"MessageID":"1","Timestamp":"1","TimeZone":"0","MessageType":"Request","MessageData":{"RequestMethods":{"status":{}}}}`, bearer(ta.admin), 2, "NCN-2"},
		{"bad parameter", `{"MessageID":"1","Timestamp":"1","TimeZone":"0","MessageType":"Request","MessageData":{"RequestMethods":{"latestHeight":{"chainId":"x"}}}}`, nil, 65536, "err_0012"},
		{"module failure", `{"MessageID":"1","Timestamp":"1","TimeZone":"0","MessageType":"Request","MessageData":{"RequestMethods":{"getBalance":{"chainId":2,"assetChainId":2,"assetId":1,"address":"bad"}}}}`, nil, 65536, "lg_1014"},
	} {
		h := map[string]string{"Content-Type": "text/plain"}
		for k, v := range tt.header {
			h[k] = v
		}
		status, a := postNulstar(t, tg.url+"/nulstar", tt.body, h)
		if status != http.StatusOK || a.MessageData.ResponseStatus != tt.status || a.MessageData.ResponseErrorCode != tt.code {
			t.Errorf("%s: %d %+v, want status %d, code %s", tt.name, status, a.MessageData, tt.status, tt.code)
		}
	}
	// A browser page elsewhere cannot post to it (no preflight for
	// text/plain, so the cross-origin guard must refuse it).
	status, _, _ := postWith(t, tg.url+"/nulstar", nulstarScriptRequest, map[string]string{"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	if status != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", status)
	}
	if !strings.Contains(nulstarScriptRequest, `"RequestType"`) {
		t.Fatal("the script's request lost its RequestType field")
	}
}

// newHTTPServer serves h on a loopback port until the test ends and
// returns its URL.
func newHTTPServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
