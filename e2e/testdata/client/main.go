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
	"fmt"
	"math/big"
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

	// The parameters the method requires are plain fields, the others
	// pointers; the result is typed from the gateway's catalog.
	bal, err := c.GetBalanceWithResponse(ctx, nulsclient.GetBalanceJSONRequestBody{
		ChainId: 2, AssetChainId: 2, AssetId: 1, Address: address,
	})
	if err != nil {
		return fmt.Errorf("getBalance: %w", err)
	}
	if bal.JSON200 == nil || bal.JSON200.Total == nil {
		return fmt.Errorf("getBalance: status %d: %s", bal.StatusCode(), bal.Body)
	}
	// An amount is a string of digits: exact in any client.
	total, ok := new(big.Int).SetString(*bal.JSON200.Total, 10)
	if !ok {
		return fmt.Errorf("getBalance: total %q is not an integer", *bal.JSON200.Total)
	}
	fmt.Printf("getBalance status=%d total=%s\n", bal.StatusCode(), total)

	h, err := c.LatestHeightWithResponse(ctx, nulsclient.LatestHeightJSONRequestBody{ChainId: 2})
	if err != nil {
		return fmt.Errorf("latestHeight: %w", err)
	}
	if h.JSON200 == nil || h.JSON200.Value == nil {
		return fmt.Errorf("latestHeight: status %d: %s", h.StatusCode(), h.Body)
	}
	fmt.Printf("latestHeight status=%d value=%d\n", h.StatusCode(), *h.JSON200.Value)

	// chainId 0 is below the declared minimum: a typed problem document.
	bad, err := c.GetBalanceWithResponse(ctx, nulsclient.GetBalanceJSONRequestBody{
		ChainId: 0, AssetChainId: 2, AssetId: 1, Address: address,
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
	resp, err := c.LatestHeightStream(ctx, &nulsclient.LatestHeightStreamParams{ChainId: 2})
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
