#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of e2e/ when it is missing.
# Idempotent: when a chromium is already on PATH it only prints its path.
# It needs root (or sudo) and apt-get; elsewhere install chromium yourself or
# set E2E_CHROMIUM to its path (e2e/chromium_test.go).
set -euo pipefail

find_chromium() {
	if [ -n "${E2E_CHROMIUM:-}" ] && [ -x "$E2E_CHROMIUM" ]; then
		echo "$E2E_CHROMIUM"; return 0
	fi
	command -v chromium || command -v chromium-browser
}

if path=$(find_chromium); then
	echo "chromium: $path"
	exit 0
fi

if ! command -v apt-get >/dev/null; then
	echo "ensure-chromium: no chromium and no apt-get: install chromium or set E2E_CHROMIUM" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "ensure-chromium: installing chromium needs root or sudo" >&2
		exit 1
	fi
	sudo="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
install() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }
# The package lists may be missing (slim images) or stale (a 404 on an old
# version): refresh them once and try again.
if ! apt-cache show chromium >/dev/null 2>&1 || ! install; then
	$sudo apt-get update -q
	install
fi
path=$(find_chromium)
echo "chromium: $path ($("$path" --version 2>/dev/null || echo "version unknown"))"
