#!/usr/bin/env bash
# Starts a private redis-server on a free port for the tests, installing it
# with apt-get when it is missing. Prints the URL; the server stops when the
# process with PID $1 (the caller) exits, or with `scripts/redis.sh stop DIR`.
# Usage: eval "$(scripts/redis.sh start)"   # sets NULSGW_TEST_REDIS_URL, REDIS_TEST_DIR
set -euo pipefail

install_redis() {
	command -v redis-server >/dev/null 2>&1 && return
	echo "redis-server not found: installing it with apt-get" >&2
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y --no-install-recommends redis-server >&2 ||
		{ $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends redis-server >&2; }
}

port_free() { ! (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "${1:-start}" in
start)
	install_redis
	dir=$(mktemp -d /tmp/nulsgw-redis.XXXXXX)
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 20000))
		port_free "$port" || continue
		if redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
			--dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2; then
			for _ in $(seq 1 50); do
				if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
					echo "export NULSGW_TEST_REDIS_URL=redis://127.0.0.1:$port/0 REDIS_TEST_DIR=$dir"
					exit 0
				fi
				sleep 0.1
			done
		fi
	done
	echo "could not start redis-server" >&2
	exit 1
	;;
stop)
	dir=${2:?dir}
	pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		# Wait for it to exit: on its way out it writes its log and removes
		# its pid file, and a removal of the directory meanwhile fails.
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -rf "$dir" || echo "warning: could not remove $dir" >&2
	;;
esac
