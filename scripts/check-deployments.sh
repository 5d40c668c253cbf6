#!/usr/bin/env bash
# Validates deployments/ offline, with no cluster and no Docker engine:
#   - the Helm chart: helm lint --strict and helm template, with the default
#     values and with each ci/*-values.yaml; the values schema rejects typos;
#     every rendered manifest is decoded strictly into the Kubernetes API
#     types and checked (probes, resources, non-root, selectors, autoscaler
#     target, grace period);
#   - docker-compose.yml, loaded by compose-go (the loader and schema of
#     `docker compose`), and the nginx configuration it mounts, also with
#     `nginx -t` when Debian's nginx can be had; its Prometheus scrapes every
#     gateway, its Grafana gets its provisioning and dashboards;
#   - the Grafana dashboards, decoded strictly and checked against the
#     provisioning (Grafana cannot run here);
#   - the Dockerfile (BuildKit's parser and linter) and .dockerignore;
#   - the Prometheus configuration and alert rules (promtool check config,
#     promtool check rules, and promtool test rules with their tests),
#     with Debian's promtool (scripts/ensure-prometheus.sh installs it).
# helm and the checker (deployments/validate) are built from
# deployments/validate/go.mod, which pins them, into ./bin. Idempotent; a
# second run reuses bin/helm and the Go build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mkdir -p bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# helm keeps no state between runs, and touches nothing in $HOME.
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"

validate() { go -C deployments/validate "$@"; }

echo "== deployments/validate: gofmt, vet, tests"
unformatted=$(gofmt -l deployments/validate)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
cp deployments/validate/go.mod "$work/go.mod"; cp deployments/validate/go.sum "$work/go.sum"
validate mod tidy
if ! cmp -s deployments/validate/go.mod "$work/go.mod" || ! cmp -s deployments/validate/go.sum "$work/go.sum"; then
	cp "$work/go.mod" deployments/validate/go.mod; cp "$work/go.sum" deployments/validate/go.sum
	echo "deployments/validate/go.mod is not tidy: run go mod tidy there"; exit 1
fi
validate vet ./...
validate test -count=1 ./...
validate build -o "$root/bin/validate-deployments" .

echo "== helm"
helm_version=$(validate list -m -f '{{.Version}}' helm.sh/helm/v3)
# Like helm's Makefile: the Kubernetes version helm template assumes and
# helm lint checks deprecations against is that of its client-go.
k8s_minor=$(validate list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
stamp="$helm_version k8s-1.$k8s_minor $(go env GOVERSION) $(sha256sum deployments/validate/go.sum | cut -c1-16)"
if [ ! -x bin/helm ] || [ "$(cat bin/.helm-version 2>/dev/null)" != "$stamp" ]; then
	echo "building helm $helm_version (a few minutes the first time)"
	ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
	for pkg in pkg/lint/rules pkg/chartutil; do
		ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s_minor"
	done
	validate build -trimpath -ldflags "$ldflags" -o "$root/bin/helm" helm.sh/helm/v3/cmd/helm
	echo "$stamp" > bin/.helm-version
fi
bin/helm version --short

chart=deployments/helm/nuls-gateway
render() { # name, then helm arguments
	local name=$1; shift
	bin/helm lint --strict --quiet "$chart" "$@"
	bin/helm template gw "$chart" --namespace nuls "$@" > "$work/$name.yaml"
	echo "rendered $name"
}
# The defaults name no upstream: the chart must refuse them, saying what to
# set, rather than render gateways that do not start (or, before, each pod a
# simulated chain with funded accounts of its own).
if out=$(bin/helm template gw "$chart" 2>&1); then
	echo "helm template rendered the default values, which name no upstream"; exit 1
elif ! grep -q gateway.upstream <<< "$out" || ! grep -q devnode.enabled <<< "$out"; then
	echo "the default values failed, but not saying to set gateway.upstream or devnode.enabled: $out"; exit 1
fi
echo "the chart needs gateway.upstream or devnode.enabled"
render default --set gateway.upstream=ws://nulstar.nuls.svc:7772
for values in "$chart"/ci/*-values.yaml; do
	render "$(basename "$values" .yaml)" -f "$values"
done
# values.schema.json must stop a misspelt or invalid value.
for bad in redis.ulr=redis://redis:6379 gateway.topology=mesh gateway.callTimeout=ten; do
	if bin/helm template gw "$chart" --set gateway.upstream=ws://nulstar:7772 --set "$bad" > /dev/null 2>&1; then
		echo "helm template accepted --set $bad: values.schema.json lets it through"; exit 1
	fi
done
echo "values.schema.json rejects bad values"
# The module port is the Manager's: the chart will not guess who that is.
if out=$(bin/helm template gw "$chart" --set gateway.topology=manager --set gateway.upstream=ws://manager:7771 2>&1); then
	echo "helm template rendered the manager topology with no networkPolicy.module.managerPodSelector"; exit 1
elif ! grep -q managerPodSelector <<< "$out"; then
	echo "the manager topology without a Manager selector failed, but not saying so: $out"; exit 1
fi
# Unless the chart's devnode is the Manager.
bin/helm template gw "$chart" --namespace nuls --set gateway.topology=manager --set devnode.enabled=true > "$work/devnode-manager.yaml"
echo "the manager topology needs the Manager's pods named (or the chart's devnode)"
bin/validate-deployments k8s -gateway-config cmd/gateway/config.go "$work"/*.yaml

echo "== docker compose"
bin/validate-deployments compose -gateway-config cmd/gateway/config.go deployments/docker-compose.yml
if docker compose version > /dev/null 2>&1; then
	docker compose -f deployments/docker-compose.yml config --quiet
	echo "ok  docker compose config"
else
	echo "(no docker compose plugin here: compose-go above is its loader)"
fi

echo "== nginx -t"
# Debian's nginx, unpacked into bin/ (no service, no root needed to run it).
nginx=$(command -v nginx || true)
if [ -z "$nginx" ] && [ ! -x bin/nginx-deb/usr/sbin/nginx ] && command -v apt-get > /dev/null; then
	(
		cd "$work"
		if ! apt-get download nginx > /dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
			apt-get update -qq > /dev/null 2>&1 && apt-get download nginx > /dev/null 2>&1
		fi
		ls nginx_*.deb > /dev/null 2>&1 && dpkg-deb -x nginx_*.deb "$root/bin/nginx-deb"
	) || true
fi
if [ -z "$nginx" ] && [ -x bin/nginx-deb/usr/sbin/nginx ]; then
	nginx=bin/nginx-deb/usr/sbin/nginx
fi
if [ -n "$nginx" ]; then
	# The container resolves gateway1..3 through Docker's DNS; here they are
	# 127.0.0.1. "resolve" needs nginx 1.27.3, newer than Debian's; the pid
	# and temporary files go to a scratch prefix.
	mkdir -p "$work/nginx/tmp"
	sed -e 's/ resolve;/;/' \
		-e 's/server gateway[0-9]*:/server 127.0.0.1:/' \
		-e 's#^pid .*#pid nginx.pid;#' \
		-e 's#^http {#http {\n\tclient_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;#' \
		deployments/nginx.conf > "$work/nginx/nginx.conf"
	"$nginx" -t -q -p "$work/nginx/" -e stderr -c "$work/nginx/nginx.conf"
	echo "ok  nginx -t ($("$nginx" -v 2>&1 | sed 's/.*: //'))"
else
	echo "SKIP nginx -t: no nginx, and Debian's could not be downloaded"
fi

echo "== grafana: provisioning and dashboards (Grafana's JSON model, strictly)"
bin/validate-deployments grafana deployments/grafana

echo "== prometheus: config, alert rules and their tests"
command -v promtool > /dev/null || ./scripts/ensure-prometheus.sh
promtool check config deployments/prometheus/prometheus.yml
promtool check rules deployments/prometheus/alerts.yml
(cd deployments/prometheus && promtool test rules alerts_test.yml)

echo "== Dockerfile"
bin/validate-deployments dockerfile -root . deployments/Dockerfile
echo "deployments: ok"
