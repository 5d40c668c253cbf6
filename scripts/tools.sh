#!/usr/bin/env bash
# Installs the Go tools the build uses, at pinned versions, into ./bin.
set -euo pipefail
cd "$(dirname "$0")/.."
SWAG_VERSION=v1.16.6
mkdir -p bin
if [ ! -x bin/swag ] || [ "$(cat bin/.swag-version 2>/dev/null)" != "$SWAG_VERSION" ]; then
	GOBIN="$PWD/bin" go install "github.com/swaggo/swag/cmd/swag@$SWAG_VERSION"
	echo "$SWAG_VERSION" > bin/.swag-version
fi
