#!/usr/bin/env bash
# Fails when openapi/swagger.json is not what swag generates from the
# annotations of package gateway (run `make generate`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/tools.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin/swag init -q -g gateway/doc.go -d ./ -o "$tmp" --outputTypes json
if ! diff -u openapi/swagger.json "$tmp/swagger.json"; then
	echo "openapi/swagger.json is stale: run make generate" >&2
	exit 1
fi
