package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startRedisCluster runs a Redis Cluster of three masters (no replicas), as
// redis-server --cluster-enabled yes and redis-cli --cluster create make
// one, and returns its --redis-url (the seeds) once every slot is served.
func startRedisCluster(t *testing.T) string {
	t.Helper()
	bin := findRedisServer(t)
	cli := findRedisCLI(t)
	var addrs []string
	for i := range 3 {
		port := freePort(t)
		addr := localAddr(port)
		dir := filepath.Join(t.TempDir(), strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
		}
		client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
		t.Cleanup(func() { client.Close() })
		newDaemon(t, "redis-server (cluster node "+strconv.Itoa(i)+")", bin, addr, args, func(ctx context.Context) error {
			return client.Ping(ctx).Err()
		}).start(t)
		addrs = append(addrs, addr)
	}
	runTool(t, "", nil, cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	if err := waitFor(t.Context(), 20*time.Second, func(ctx context.Context) error {
		info, err := cc.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("cluster not ok yet: %.80s", info)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
}

// findRedisCLI returns redis-cli, beside redis-server or on PATH.
func findRedisCLI(t *testing.T) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(findRedisServer(t)), "redis-cli")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	missing(t, "redis-cli not found beside redis-server (%s): install redis-tools", p)
	return ""
}

// sentinel is a Redis master, its replica and a Sentinel watching them.
type sentinel struct {
	URL    string        // --redis-url: the Sentinel and the master's name
	Client *redis.Client // the test's client of the Sentinel
}

// startSentinel runs a master, a replica and one Sentinel (quorum 1) that
// fails over to the replica 1 s after the master stops answering, and
// returns once the Sentinel knows the replica.
func startSentinel(t *testing.T) *sentinel {
	t.Helper()
	bin := findRedisServer(t)
	server := func(name string, extra ...string) string {
		port := freePort(t)
		addr := localAddr(port)
		args := append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir(),
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
		}, extra...)
		client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
		t.Cleanup(func() { client.Close() })
		newDaemon(t, name, bin, addr, args, func(ctx context.Context) error { return client.Ping(ctx).Err() }).start(t)
		return addr
	}
	master := server("redis-server (master)")
	host, port, _ := strings.Cut(master, ":")
	server("redis-server (replica)", "--replicaof", host, port)

	sport := freePort(t)
	saddr := localAddr(sport)
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster %s %s 1\n"+
		"sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\n",
		sport, filepath.Dir(conf), host, port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := redis.NewClient(&redis.Options{Addr: saddr, DialTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { sc.Close() })
	newDaemon(t, "redis-sentinel", bin, saddr, []string{conf, "--sentinel"}, func(ctx context.Context) error {
		return sc.Ping(ctx).Err()
	}).start(t)
	if err := waitFor(t.Context(), 20*time.Second, func(ctx context.Context) error {
		replicas, err := sc.Do(ctx, "SENTINEL", "REPLICAS", "mymaster").Slice()
		if err != nil {
			return err
		}
		if len(replicas) == 0 {
			return fmt.Errorf("the Sentinel knows no replica yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return &sentinel{URL: "redis://" + saddr + "?master_name=mymaster", Client: sc}
}

// master returns the address the Sentinel has for the master.
func (s *sentinel) master(ctx context.Context) (string, error) {
	a, err := s.Client.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster").StringSlice()
	if err != nil {
		return "", err
	}
	if len(a) != 2 {
		return "", fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME: %v", a)
	}
	return a[0] + ":" + a[1], nil
}

// checkTopology runs clients of the height stream and calls on three
// instances over the Redis of c, with disrupt in the middle, and checks
// that calls answered 200 throughout (but those to the instance disrupt
// reports it killed, if any), every stream delivered after it, and no
// client got an event twice or out of order.
func checkTopology(t *testing.T, c *cluster, disrupt func() (killed int)) {
	t.Helper()
	cs, stop := followAll(t.Context(), c, 12)
	defer stop()
	ctx, cancel := context.WithCancel(t.Context())
	calls, waitCalls := startCaller(ctx, c.bases(), 100*time.Millisecond)
	defer func() { cancel(); waitCalls() }()
	if err := waitStreaming(t.Context(), cs, 5); err != nil {
		t.Fatal(err)
	}
	// An idempotent call, replayed by another instance.
	key := "topology-" + randomHex(8)
	first, err := post(t.Context(), c.Gateways[0].URL+"/rpc/latestHeight", `{"chainId":2}`, "Idempotency-Key", key)
	if err != nil || first.Status != http.StatusOK {
		t.Fatalf("idempotent call: %d %s %v", first.Status, first.Body, err)
	}
	again, err := post(t.Context(), c.Gateways[1].URL+"/rpc/latestHeight", `{"chainId":2}`, "Idempotency-Key", key)
	if err != nil || again.Status != http.StatusOK || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Errorf("the idempotent call retried on another instance: %d %v %s %v, want the first answer replayed", again.Status, again.Header, again.Body, err)
	}

	t0 := time.Now()
	killed := disrupt()
	after := time.Now()
	if err := waitEventsAfter(t.Context(), cs, after, 20*time.Second); err != nil {
		t.Errorf("streams after the disruption: %v", err)
	}
	t.Logf("every stream delivered again %v after the disruption ended; %s", time.Since(after).Round(10*time.Millisecond), observed(cs))
	time.Sleep(time.Second)
	cancel()
	waitCalls()
	stop()

	all := calls.between(t0.Add(-time.Minute), time.Now())
	t.Logf("calls: %s, slowest %v (instance %d killed, if any)", statuses(all), slowest(all), killed)
	for _, k := range all {
		if k.Status != http.StatusOK && (k.Instance != killed || k.Status != 0) {
			t.Errorf("call to instance %d at %s: %d %v %s, want 200", k.Instance, k.At.Format("15:04:05.000"), k.Status, k.Err, k.Body)
		}
	}
	for i, fc := range cs {
		lost, dup := tally(fc.events())
		if dup > 0 {
			t.Errorf("client %d: %d events twice%s", i, dup, describe(fc))
		}
		if err := checkGapsAnnounced(fc.events()); err != nil {
			t.Errorf("client %d: %v (%d lost)%s", i, err, lost, describe(fc))
		}
		if err := checkContinuous(fc.events()); err != nil {
			t.Errorf("client %d: %v%s", i, err, describe(fc))
		}
	}
}

// TestRedisCluster runs three instances on a three-master Redis Cluster:
// a topic's keys share a hash tag (one slot), the other state spreads over
// the masters, and calls, idempotency keys and streams work as on one
// server, across a crash of the lease holder.
func TestRedisCluster(t *testing.T) {
	t.Parallel()
	c := startClusterOn(t, 3, startRedisCluster(t), "--rate-plans", unlimited)
	checkTopology(t, c, func() int {
		// Without a redis-server of its own the lease is found by the
		// instances' logs: the one that took it last.
		holder := -1
		for i, n := range c.takeovers() {
			if n > 0 {
				holder = i
			}
		}
		if holder < 0 {
			t.Fatal("no instance logged taking the lease")
		}
		c.Gateways[holder].kill(t)
		// The clients of the killed instance move on with their retry
		// hint; the standby took over meanwhile.
		time.Sleep(leaseTTL + retryHint)
		return holder
	})
}

// TestRedisSentinel runs three instances on a master and a replica watched
// by a Sentinel, and fails the master over during streams and calls: the
// instances follow the Sentinel to the new master.
func TestRedisSentinel(t *testing.T) {
	t.Parallel()
	s := startSentinel(t)
	c := startClusterOn(t, 3, s.URL, "--rate-plans", unlimited)
	checkTopology(t, c, func() int {
		before, err := s.master(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Client.Do(t.Context(), "SENTINEL", "FAILOVER", "mymaster").Err(); err != nil {
			t.Fatalf("SENTINEL FAILOVER: %v", err)
		}
		if err := waitFor(t.Context(), 20*time.Second, func(ctx context.Context) error {
			now, err := s.master(ctx)
			if err != nil {
				return err
			}
			if now == before {
				return fmt.Errorf("the master is still %s", before)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		t.Logf("the Sentinel failed the master over from %s", before)
		return -1
	})
}
