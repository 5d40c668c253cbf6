// Package e2e holds black-box tests of the built binaries: they build
// cmd/gateway and cmd/devnode once, run them as processes on free ports,
// and check them only from the outside, over real sockets and with real
// third-party clients:
//
//   - openapi_test.go validates GET /openapi.json with kin-openapi and with
//     an independent validator from npm (@apidevtools/swagger-parser, pinned
//     in testdata/js), then generates a Go client with oapi-codegen (pinned)
//     and runs a program (testdata/client) that calls the gateway through the
//     generated typed functions.
//   - browser_test.go opens an EventSource in headless Chromium on a page of
//     another origin and checks the pushes that reach the browser.
//   - cluster_*_test.go run the whole stack as processes: a redis-server of
//     the test's own, the simulated node (cmd/devnode), and three gateways
//     sharing their state through that Redis. Clients that behave as an
//     EventSource behind a load balancer (sse_client_test.go) read one
//     stream while the test kills the instance that subscribes upstream
//     (TestClusterFailover), kills and restarts Redis
//     (TestClusterRedisRestart) or the node (TestClusterNodeRestart); and
//     asynchronous and idempotent calls are answered across instances
//     (TestClusterAsyncAndIdempotency). TestBenchRedisState measures the
//     cost of the Redis state; it runs only with E2E_BENCH=1 (BENCHMARKS.md).
//   - docs_test.go runs every shell example of README.md, docs/ and
//     deployments/ (TestDocs, with internal/doctest): each document against
//     a gateway started as make run starts it; a block that cannot run here
//     is marked so, with its reason.
//
// The package has no non-test code. The tests need the go command and the
// Go module proxy (oapi-codegen and its runtime), node and npm with the npm
// registry (or its cache), Chromium (scripts/ensure-chromium.sh installs
// Debian's; E2E_CHROMIUM names another binary) and redis-server (on PATH or
// in /usr/bin, /usr/local/bin; E2E_REDIS_SERVER names another binary). A
// test whose tool is missing skips with a loud message, unless
// E2E_REQUIRE_TOOLS=1, as in CI, turns the skip into a failure.
//
// # Concurrency and cleanup
//
// Tests run in parallel, each with its own processes; nothing is shared
// between tests but the binaries, built at most once per run and removed by
// TestMain. Every process a test starts is started in its own process
// group, killed with its parent test binary (Linux: Pdeathsig), and ended in
// t.Cleanup: the gateway with SIGTERM, and the test fails unless it exits 0
// within a few seconds (it is killed otherwise), except a gateway the test
// killed on purpose; redis-server, the node, a browser or a tool with
// SIGKILL to its whole group. Cleanups run last-in first-out, so a browser
// ends before the gateway it streams from, and the gateways before the
// Redis and the node they use.
package e2e
