# Each target is one line that CI also runs.
GO ?= go
# The project's Go: go1.27.3, fetched by the go command from the module proxy (scripts/test.sh says why).
export GOTOOLCHAIN ?= go1.27.3

.PHONY: all build run test lint e2e catalog generate check-generate check-deployments fmt vet fuzz bench tools

all: build test

# The commands, into bin/: bin/gateway, bin/devnode, bin/loadtest, bin/catalog-gen.
build:
	$(GO) build -o bin/ ./cmd/...

# Start the gateway on :8080 with the simulated NULS node in-process
# (--simulated-node: never a default), its made-up wallet open to anonymous
# callers (--dev-wallet) for the quick start. More flags go through ARGS:
# make run ARGS='--cors-origins=https://example.com'. The binary is built
# first, saying so: the first build is long and would otherwise be silent.
ARGS ?=
run:
	@echo "building bin/gateway (the first build downloads Go 1.27.3 and modules: a few minutes)..."
	$(GO) build -o bin/gateway ./cmd/gateway
	bin/gateway --simulated-node --dev-wallet $(ARGS)

# The README's test command: formatting, vet, lint, vulnerabilities, generated files, every test with -race.
test:
	./scripts/test.sh

# golangci-lint (.golangci.yml) and govulncheck, at the versions pinned in
# scripts/lint.sh, installed into ./bin; part of make test.
lint:
	./scripts/lint.sh

# Black-box tests of the built binary (installs chromium if missing).
e2e:
	./scripts/ensure-chromium.sh && E2E_REQUIRE_TOOLS=1 $(GO) test -race -count=1 ./e2e

tools:
	./scripts/tools.sh

# Regenerate openapi/swagger.json from the swag annotations of package gateway.
generate: tools
	bin/swag fmt -d gateway -g doc.go && bin/swag init -q -g gateway/doc.go -d ./ -o openapi --outputTypes json

# Regenerate catalog/nuls2.json from a nuls-v2 checkout: make catalog NULS_V2=~/src/nuls-v2
catalog:
	$(GO) run ./cmd/catalog-gen --src $(NULS_V2) --commit $$(git -C $(NULS_V2) rev-parse HEAD 2>/dev/null || echo unknown) > catalog/nuls2.json

# Fail when openapi/swagger.json differs from what the annotations generate.
check-generate:
	./scripts/check-generate.sh

# Validate deployments/ offline: helm lint/template, manifests, compose, nginx, Dockerfile.
check-deployments:
	./scripts/check-deployments.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

fuzz:
	$(GO) test ./bridge -run='^$$' -fuzz=FuzzDecode -fuzztime=60s

# Go benchmarks, then the load tests of BENCHMARKS.md (about 6 minutes; 10,000 streams need ulimit -Hn above 10,100).
# With nginx-light installed, the calls are also made through nginx as a reverse proxy; with libnginx-mod-nchan too,
# the streams are measured on nchan. Each report prints its ratios against issue 10's goals.
NGINX ?= $(or $(shell command -v nginx),$(wildcard /usr/sbin/nginx))
NCHAN_MODULE ?= /usr/lib/nginx/modules/ngx_nchan_module.so
NGINX_FLAGS = $(if $(NGINX),--nginx $(NGINX),)
NCHAN_FLAGS = $(if $(and $(NGINX),$(wildcard $(NCHAN_MODULE))),--nchan $(NGINX) --nchan-module $(NCHAN_MODULE),)
bench:
	$(GO) test ./bridge ./subscriptions ./gateway -run='^$$' -bench=. -benchmem && $(GO) run ./cmd/loadtest rpc --open-rate 1000 $(NGINX_FLAGS) && $(GO) run ./cmd/loadtest sse --gc-wait 150s $(NCHAN_FLAGS)
