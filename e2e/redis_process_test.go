package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisProc is a redis-server process of the test's own, on a free port,
// that the test may kill and start again (on the same port, and empty: it
// persists nothing).
type redisProc struct {
	*daemon
	// URL is the server's URL for --redis-url.
	URL string
	// Client is the test's own client, for reading keys and INFO.
	Client *redis.Client
}

// redisServerPaths are where redis-server is looked for when it is not on
// PATH (Debian's package, a source build, Homebrew).
var redisServerPaths = []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server", "/opt/homebrew/bin/redis-server"}

// findRedisServer returns the redis-server binary: E2E_REDIS_SERVER, else
// redis-server on PATH or in a usual place. When there is none the test
// skips loudly (fails with E2E_REQUIRE_TOOLS=1).
func findRedisServer(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("E2E_REDIS_SERVER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			missing(t, "E2E_REDIS_SERVER=%s: %v", p, err)
		}
		return p
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	for _, p := range redisServerPaths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	missing(t, "redis-server not found on PATH nor in %v: install it (apt-get install redis-server; scripts/redis.sh does) or set E2E_REDIS_SERVER", redisServerPaths)
	return ""
}

// startRedis runs a redis-server on a free port of 127.0.0.1 that saves
// nothing and takes DEBUG commands from 127.0.0.1, and returns once it answers PING. It is killed in t.Cleanup.
func startRedis(t *testing.T) *redisProc {
	t.Helper()
	bin := findRedisServer(t)
	port := freePort(t)
	addr := localAddr(port)
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(),
		"--daemonize", "no", "--loglevel", "warning",
		// DEBUG SLEEP makes a slow Redis (TestChaos).
		"--enable-debug-command", "local",
	}
	ping := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return client.Ping(ctx).Err()
	}
	// The client closes after the server is killed (cleanups run last
	// in, first out).
	t.Cleanup(func() { client.Close() })
	r := &redisProc{daemon: newDaemon(t, "redis-server", bin, addr, args, ping), URL: "redis://" + addr + "/0", Client: client}
	r.start(t)
	return r
}

// info returns the fields of an INFO section, such as "stats".
func (r *redisProc) info(ctx context.Context, section string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := r.Client.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out, nil
}

// commandsProcessed is INFO stats total_commands_processed: every command
// the server ran, the INFO that asks included.
func (r *redisProc) commandsProcessed(ctx context.Context) (int64, error) {
	st, err := r.info(ctx, "stats")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(st["total_commands_processed"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("INFO stats total_commands_processed %q: %w", st["total_commands_processed"], err)
	}
	return n, nil
}

// leases returns the topic leases under prefix: lease key → holder.
func (r *redisProc) leases(ctx context.Context, prefix string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	keys, err := r.Client.Keys(ctx, prefix+":*:lease").Result()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, k := range keys {
		v, err := r.Client.Get(ctx, k).Result()
		if err == nil {
			out[k] = v
		}
	}
	return out, nil
}
