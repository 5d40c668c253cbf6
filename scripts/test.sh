#!/usr/bin/env bash
# The project's test command (README, "The two commands"), also run by CI.
# It must pass on a fresh machine by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
# The project builds and tests with go1.27.3: go1.26.8, the machines' own Go,
# has standard-library vulnerabilities the code calls (net/http, crypto/tls,
# crypto/x509). The go command fetches this toolchain from the Go module
# proxy once (about 76 MB).
export GOTOOLCHAIN=go1.27.3

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go mod tidy"
cp go.mod /tmp/go.mod.check.$$; cp go.sum /tmp/go.sum.check.$$
go mod tidy
if ! cmp -s go.mod /tmp/go.mod.check.$$ || ! cmp -s go.sum /tmp/go.sum.check.$$; then
	cp /tmp/go.mod.check.$$ go.mod; cp /tmp/go.sum.check.$$ go.sum
	echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1
fi

# golangci-lint and govulncheck (make lint), at pinned versions.
./scripts/lint.sh

echo "== deployments (helm chart, manifests, compose, nginx, Dockerfile)"
./scripts/check-deployments.sh

echo "== generated OpenAPI matches the annotations"
make -s check-generate

echo "== redis-server for the Redis tests"
eval "$(./scripts/redis.sh start)"
trap './scripts/redis.sh stop "$REDIS_TEST_DIR"' EXIT
echo "Redis at $NULSGW_TEST_REDIS_URL"

echo "== chromium for the e2e browser test"
./scripts/ensure-chromium.sh
./scripts/ensure-prometheus.sh # promtool, and a real Prometheus for e2e/metrics_prometheus_test.go
# In CI a missing node, npm or chromium fails the e2e tests instead of skipping them.
export E2E_REQUIRE_TOOLS=1

echo "== go test -race"
go test -race -count=1 -timeout=15m ./...
echo "== the gateway's tests with every stream on its handler (--handler-streams, the fallback)"
NULSGW_TEST_HANDLER_STREAMS=1 go test -race -count=1 -timeout=10m ./gateway

echo "== benchmarks compile and run once"
bench_out=$(mktemp)
if ! go test -run='^$' -bench=. -benchtime=1x ./... >"$bench_out" 2>&1; then
	cat "$bench_out"; rm -f "$bench_out"; exit 1
fi
rm -f "$bench_out"
echo "ok"
