package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNulstarHTTPEndpoint plays a Nulstar-8089 script, unchanged, against
// the gateway's --nulstar-listen: 32 connections at once, each posting raw
// Request messages at / with no media type, as a script's HTTP library
// does, and each answer the Response message to its own Request. (The
// Connector's own endpoint fails as soon as two connections hit it.)
func TestNulstarHTTPEndpoint(t *testing.T) {
	t.Parallel()
	// 640 calls from one address: above the anonymous plan's burst, which
	// applies here as to /rpc.
	gw := startGateway(t, "--simulated-node", "--nulstar-listen", "127.0.0.1:0", "--rate-plans", "anonymous=unlimited,default=unlimited")
	if gw.NulstarURL == "" {
		t.Fatal("the gateway did not log its Nulstar endpoint's address")
	}
	const conns, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One connection per script: its own transport, kept alive.
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for i := range each {
				id := fmt.Sprintf("%d-%d", c, i)
				body := `{"ProtocolVersion":"0.1","MessageID":"` + id + `","Timestamp":"1578733802922","TimeZone":"8","MessageType":"Request",` +
					`"MessageData":{"RequestType":"1","SubscriptionEventCounter":"0","SubscriptionPeriod":"0","SubscriptionRange":"0","ResponseMaxSize":"0",` +
					`"RequestMethods":{"latestHeight":{"chainId":2}}}}`
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, gw.NulstarURL+"/", strings.NewReader(body))
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var m struct {
					MessageType string
					MessageData struct {
						RequestID      string
						ResponseStatus int
						ResponseData   map[string]struct{ Value *int64 }
					}
				}
				if err := json.Unmarshal(b, &m); err != nil || resp.StatusCode != http.StatusOK || m.MessageType != "Response" ||
					m.MessageData.RequestID != id || m.MessageData.ResponseStatus != 0 || m.MessageData.ResponseData["latestHeight"].Value == nil {
					errs <- fmt.Errorf("request %s: %d %s", id, resp.StatusCode, b)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
