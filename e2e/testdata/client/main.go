// Command client calls a running gateway through the Go client that
// oapi-codegen generates from the gateway's /openapi.json (package
// nulsclient, written next to this file by e2e/openapi_test.go). It uses only
// the generated typed calls and bodies, and prints one line per call for the
// test to check.
//
// Usage: client <gateway URL> <address>
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"nulsclientdemo/nulsclient"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: client <gateway URL> <address>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func ptr[T any](v T) *T { return &v }

func run(server, address string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := nulsclient.NewClientWithResponses(server)
	if err != nil {
		return err
	}

	bal, err := c.GetBalanceWithResponse(ctx, nulsclient.GetBalanceJSONRequestBody{
		ChainId: ptr(2), AssetChainId: ptr(2), AssetId: ptr(1), Address: ptr(address),
	})
	if err != nil {
		return fmt.Errorf("getBalance: %w", err)
	}
	if bal.JSON200 == nil {
		return fmt.Errorf("getBalance: status %d: %s", bal.StatusCode(), bal.Body)
	}
	fmt.Printf("getBalance status=%d total=%s\n", bal.StatusCode(), field(*bal.JSON200, "total"))

	h, err := c.LatestHeightWithResponse(ctx, nulsclient.LatestHeightJSONRequestBody{ChainId: ptr(2)})
	if err != nil {
		return fmt.Errorf("latestHeight: %w", err)
	}
	if h.JSON200 == nil {
		return fmt.Errorf("latestHeight: status %d: %s", h.StatusCode(), h.Body)
	}
	fmt.Printf("latestHeight status=%d value=%s\n", h.StatusCode(), field(*h.JSON200, "value"))

	// chainId 0 is below the declared minimum: a typed problem document.
	bad, err := c.GetBalanceWithResponse(ctx, nulsclient.GetBalanceJSONRequestBody{
		ChainId: ptr(0), AssetChainId: ptr(2), AssetId: ptr(1), Address: ptr(address),
	})
	if err != nil {
		return fmt.Errorf("getBalance chainId 0: %w", err)
	}
	if bad.ApplicationproblemJSON400 == nil || bad.ApplicationproblemJSON400.Status == nil {
		return fmt.Errorf("getBalance chainId 0: status %d, want a problem: %s", bad.StatusCode(), bad.Body)
	}
	fmt.Printf("getBalanceInvalid status=%d problem.status=%d\n", bad.StatusCode(), *bad.ApplicationproblemJSON400.Status)

	// The stream operation: the generated call builds the query; the
	// body is read as far as the first event.
	resp, err := c.LatestHeightStream(ctx, &nulsclient.LatestHeightStreamParams{ChainId: ptr(2)})
	if err != nil {
		return fmt.Errorf("latestHeightStream: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			fmt.Printf("latestHeightStream status=%d type=%s data=%s\n", resp.StatusCode, resp.Header.Get("Content-Type"), data)
			return nil
		}
	}
	return fmt.Errorf("latestHeightStream: status %d: no event: %v", resp.StatusCode, sc.Err())
}

// field renders one field of a JSON object result as JSON.
func field(v any, name string) string {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprintf("<not an object: %T>", v)
	}
	b, err := json.Marshal(m[name])
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}
