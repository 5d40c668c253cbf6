#!/usr/bin/env bash
# Installs Debian's prometheus package for promtool (the alert rules' checks
# in scripts/check-deployments.sh) and for the e2e test that scrapes a
# running gateway with a real Prometheus (e2e/metrics_prometheus_test.go).
# Idempotent: when promtool and prometheus are on PATH it only prints their
# versions. It needs root (or sudo) and apt-get; elsewhere install
# Prometheus 2.42 or later yourself.
#
# The package's own service is never left running: the install runs under
# a policy-rc.d that forbids starting services, and a service the package
# manager started all the same (a policy-rc.d of the machine's that allows
# it) is stopped and disabled. The tests start their own prometheus on a
# free port.
set -euo pipefail

if command -v promtool >/dev/null && command -v prometheus >/dev/null; then
	echo "prometheus: $(command -v prometheus) ($(prometheus --version 2>&1 | head -1))"
	exit 0
fi

if ! command -v apt-get >/dev/null; then
	echo "ensure-prometheus: no promtool and no apt-get: install Prometheus (promtool and prometheus on PATH)" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "ensure-prometheus: installing prometheus needs root or sudo" >&2
		exit 1
	fi
	sudo="sudo"
fi

# invoke-rc.d and deb-systemd-invoke ask /usr/sbin/policy-rc.d whether a
# service may start; 101 means no. One already there (Docker images have
# one) is left as it is.
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# ensure-prometheus.sh: no service starts while it installs\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	ours=1
fi
cleanup() { if [ -n "$ours" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT

install() {
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
}
# The package lists may be missing (slim images) or stale: refresh them once
# and try again.
if ! apt-cache show prometheus >/dev/null 2>&1 || ! install; then
	$sudo apt-get update -q
	install
fi

# Whatever started anyway is stopped, and nothing starts it at the next
# boot: only the tests' own prometheus runs. (systemctl disable works on the
# unit's links even where systemd is not running, as in a container.)
if command -v systemctl >/dev/null; then
	if systemctl is-system-running >/dev/null 2>&1; then
		$sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
	else
		$sudo systemctl disable prometheus >/dev/null 2>&1 || true
	fi
fi
if [ -x /etc/init.d/prometheus ]; then
	$sudo /etc/init.d/prometheus stop >/dev/null 2>&1 || true
fi

echo "prometheus: $(command -v prometheus) ($(prometheus --version 2>&1 | head -1))"
echo "promtool: $(command -v promtool)"
