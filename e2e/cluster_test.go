package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timings of the cluster tests, from the gateway's constants: a topic's
// lease lives 1.5 s (subscriptions.RedisClusterConfig.LeaseTTL) and is
// renewed, or taken by the standby, every sixth of that; streams tell
// clients to reconnect after 3 s (gateway.Config.RetryHint).
const (
	leaseTTL  = 1500 * time.Millisecond
	retryHint = 3 * time.Second
	// blockInterval is the simulated node's: five pushes a second.
	blockInterval = 200 * time.Millisecond
)

// heightStream is the stream every cluster test reads: one push per block.
const heightStream = "/rpc/latestHeight/stream?chainId=2"

// cluster is the whole stack as processes: a redis-server, the simulated
// node, and gateway instances sharing their state through the Redis.
type cluster struct {
	// Redis is the cluster's redis-server, nil when it is a Sentinel or
	// a Cluster (startClusterOn).
	Redis    *redisProc
	RedisURL string
	Node     *devnodeProc
	Gateways []*gatewayProc
	// Prefix starts every Redis key of the cluster (--redis-prefix).
	Prefix string
	// Extra are more flags of every instance.
	Extra []string
	// KeysFile holds OperatorKey, a key with the admin scope, which every
	// instance takes (the transfers take passwords).
	KeysFile, OperatorKey string
}

// startCluster starts a redis-server, the simulated node (a block every
// 200 ms) and n gateway instances on them, with extraArgs. Everything is stopped in
// t.Cleanup, the gateways first.
func startCluster(t *testing.T, n int, extraArgs ...string) *cluster {
	t.Helper()
	r := startRedis(t)
	c := startClusterOn(t, n, r.URL, extraArgs...)
	c.Redis = r
	return c
}

// startClusterOn starts the simulated node and n gateway instances sharing
// the Redis of redisURL (--redis-url: a server, a Sentinel or a Cluster).
func startClusterOn(t *testing.T, n int, redisURL string, extraArgs ...string) *cluster {
	t.Helper()
	c := &cluster{RedisURL: redisURL, Prefix: "e2e-" + randomHex(4), Extra: extraArgs}
	c.KeysFile, c.OperatorKey = operatorKey(t)
	c.Node = startDevnode(t, "--block-interval", blockInterval.String())
	for range n {
		c.Gateways = append(c.Gateways, startGateway(t, c.gatewayArgs()...))
	}
	return c
}

// gatewayArgs are the flags of a gateway instance of the cluster.
func (c *cluster) gatewayArgs() []string {
	return append([]string{"--upstream", c.Node.URL, "--redis-url", c.RedisURL, "--redis-prefix", c.Prefix,
		"--keys-file", c.KeysFile, "--scopes", "public,admin"}, c.Extra...)
}

// bases returns the instances' base URLs.
func (c *cluster) bases() []string {
	out := make([]string, len(c.Gateways))
	for i, g := range c.Gateways {
		out[i] = g.URL
	}
	return out
}

// instance returns the index of the gateway named name, or -1.
func (c *cluster) instance(name string) int {
	for i, g := range c.Gateways {
		if g.Instance == name {
			return i
		}
	}
	return -1
}

// lease returns the one topic lease of the cluster: its key and the index
// of the instance holding it. It fails unless exactly one lease exists and
// its holder is one of the instances.
func (c *cluster) lease(ctx context.Context) (string, int, error) {
	leases, err := c.Redis.leases(ctx, c.Prefix)
	if err != nil {
		return "", -1, err
	}
	if len(leases) != 1 {
		return "", -1, fmt.Errorf("leases in Redis: %v, want one", leases)
	}
	for k, holder := range leases {
		i := c.instance(holder)
		if i < 0 {
			return k, -1, fmt.Errorf("lease %s held by %q, not an instance of the cluster", k, holder)
		}
		return k, i, nil
	}
	panic("unreachable")
}

// standby returns the index of the instance standing by for the topic
// whose lease key is given ("<prefix>:{<topic>}:lease" → ":standby").
func (c *cluster) standby(ctx context.Context, leaseKey string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	name, err := c.Redis.Client.Get(ctx, strings.TrimSuffix(leaseKey, ":lease")+":standby").Result()
	if err != nil {
		return -1, fmt.Errorf("the topic's standby: %w", err)
	}
	if i := c.instance(name); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("the topic's standby is %q, not an instance of the cluster", name)
}

// streamLog returns the entries of the shared log beside a lease key
// ("<prefix>:{<topic>}:lease" → ":log").
func (c *cluster) streamLog(ctx context.Context, leaseKey string) ([]redis.XMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.Redis.Client.XRange(ctx, strings.TrimSuffix(leaseKey, ":lease")+":log", "-", "+").Result()
}

// takeovers counts the instances' log lines that say they took a topic's
// lease: subscribing upstream then, or as the standby already subscribed.
func (c *cluster) takeovers() []int {
	fresh, standby := c.logCounts("took the topic's lease: subscribing upstream"), c.logCounts("took the topic's lease: appending what the standby subscription recorded")
	for i := range fresh {
		fresh[i] += standby[i]
	}
	return fresh
}

// upstreamSubscriptions counts the upstream subscriptions the instances
// hold for their topics, from their log lines: those they made (standing
// by, or taking a lease without) less those they ended (losing a lease, no
// longer standing by, or the topic ending there). The simulated node does not count them.
func (c *cluster) upstreamSubscriptions() int {
	made := sum(c.logCounts("standing by: subscribing upstream")) + sum(c.logCounts("took the topic's lease: subscribing upstream"))
	ended := sum(c.logCounts("lost the topic's lease")) + sum(c.logCounts("stopped standing by")) + sum(c.logCounts("unsubscribing upstream: the topic ends here"))
	return made - ended
}

// logCounts counts each instance's log records whose message is msg.
func (c *cluster) logCounts(msg string) []int {
	out := make([]int, len(c.Gateways))
	for i, g := range c.Gateways {
		out[i] = g.logCount(msg)
	}
	return out
}

// waitFor polls cond every 50 ms until it returns nil or within passes;
// it returns the last error.
func waitFor(ctx context.Context, within time.Duration, cond func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %v: %w", within, err)
		case <-tick.C:
		}
	}
}

// rpcAnswer is an HTTP answer of the gateway.
type rpcAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// post sends a POST with a JSON body and the headers given (name, value
// pairs) and returns the answer.
func post(ctx context.Context, url, body string, header ...string) (rpcAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return rpcAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rpcAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		return rpcAnswer{}, err
	}
	return rpcAnswer{Status: resp.StatusCode, Header: resp.Header, Body: bytes.TrimSpace(b)}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkContinuous reports why a client's events are not every event of
// the stream exactly once and in order: each must be a push or a gap event
// of the log (the upstream subscription was renewed), its sequence number
// following the previous one's; each push's height must be the previous
// push's plus one, unless a gap event came between them.
func checkContinuous(evs []received) error {
	var prevSeq uint64
	var prevHeight int64
	afterGap, first := false, true
	tip := int64(-1) // the new tip a rollback event named, for the next push
	for i, e := range evs {
		if e.Type != "" && e.Type != "gap" && e.Type != "rollback" {
			return fmt.Errorf("event %d (from instance %d): %s event %s %q, want pushes, gaps and rollbacks only", i, e.Instance, e.Type, e.ID, e.Data)
		}
		seq, err := e.seq()
		if err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		if i > 0 {
			switch {
			case seq == prevSeq:
				return fmt.Errorf("event %d (%s, from instance %d): seq %d twice", i, e.ID, e.Instance, seq)
			case seq != prevSeq+1:
				return fmt.Errorf("event %d (%s, from instance %d): seq %d after %d: %d events missing", i, e.ID, e.Instance, seq, prevSeq, int64(seq)-int64(prevSeq)-1)
			}
		}
		prevSeq = seq
		switch e.Type {
		case "gap":
			afterGap = true
			continue
		case "rollback":
			var rb struct{ Height, From int64 }
			if err := json.Unmarshal([]byte(e.Data), &rb); err != nil || rb.From != prevHeight || rb.Height >= rb.From {
				return fmt.Errorf("event %d (%s, from instance %d): rollback %s after height %d", i, e.ID, e.Instance, e.Data, prevHeight)
			}
			tip = rb.Height
			continue
		}
		h, err := e.height()
		if err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		if tip >= 0 {
			if h != tip {
				return fmt.Errorf("event %d (%s, from instance %d): height %d after a rollback to %d", i, e.ID, e.Instance, h, tip)
			}
			prevHeight, tip = h, -1
			continue
		}
		if !first && !afterGap && h != prevHeight+1 {
			return fmt.Errorf("event %d (%s, from instance %d): height %d after %d without a gap event", i, e.ID, e.Instance, h, prevHeight)
		}
		prevHeight, afterGap, first = h, false, false
	}
	return nil
}

// gapEvents counts the gap and rollback events of the log among evs: where
// the stream of heights did not go on by one.
func gapEvents(evs []received) int {
	n := 0
	for _, e := range evs {
		if isBreak(e) {
			n++
		}
	}
	return n
}

// isBreak reports whether e is a gap or a rollback event of the log.
func isBreak(e received) bool {
	return (e.Type == "gap" || e.Type == "rollback") && e.ID != ""
}

// describe summarizes a client's history for a failure message: its
// connections, and its first and last events and those that are not pushes
// (every event with E2E_DEBUG=1).
func describe(c *followingClient) string {
	var b strings.Builder
	for _, conn := range c.connections() {
		fmt.Fprintf(&b, "\n    instance %d from %s (Last-Event-ID %q): %d events, ended %s: %v",
			conn.Instance, conn.Opened.Format("15:04:05.000"), conn.LastID, conn.Events, conn.Ended.Format("15:04:05.000"), conn.Err)
	}
	evs := c.events()
	fmt.Fprintf(&b, "\n    %d events", len(evs))
	for i, e := range evs {
		if os.Getenv("E2E_DEBUG") != "" || i < 3 || i >= len(evs)-3 || e.Type != "" {
			fmt.Fprintf(&b, "\n      %s %s [%s] %s (instance %d)", e.At.Format("15:04:05.000"), e.ID, e.Type, e.Data, e.Instance)
		}
	}
	return b.String()
}

// TestClusterFailover kills the instance that appends a stream's pushes
// to the shared log, while 30 clients read the stream on three instances:
// the standby instance, subscribed upstream too, takes the topic's lease
// over within the lease TTL and appends what it received meanwhile; the
// clients of the killed instance resume elsewhere with Last-Event-ID, and
// every client gets every event exactly once and in order, without a gap.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// Every other client comes back late, after the takeover: it must
	// catch up with the events appended while it was away.
	const clients = 30
	const lag = 6 * time.Second
	var cs []*followingClient
	var waits []func()
	for i := range clients {
		fc, wait := follow(ctx, c.bases(), heightStream, i%len(c.Gateways), time.Duration(i%2)*lag)
		cs = append(cs, fc)
		waits = append(waits, wait)
	}
	stop := func() {
		cancel()
		for _, w := range waits {
			w()
		}
	}
	defer stop()

	// Every client streams for a while before the failover.
	if err := waitStreaming(t.Context(), cs, 8); err != nil {
		t.Fatal(err)
	}
	leaseKey, owner, err := c.lease(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.takeovers(); got[owner] != 1 || sum(got) != 1 {
		t.Errorf("lease takeovers logged per instance %v, want 1, by the holder (instance %d) only", got, owner)
	}
	standby, err := c.standby(t.Context(), leaseKey)
	if err != nil {
		t.Fatal(err)
	}
	if standby == owner {
		t.Fatalf("instance %d is the topic's holder and its standby", owner)
	}

	// Kill the producer in the middle of the stream.
	killed := c.Gateways[owner]
	killed.kill(t)
	killedAt := time.Now()
	log, err := c.streamLog(t.Context(), leaseKey)
	if err != nil || len(log) == 0 {
		t.Fatalf("shared log after the kill: %d entries, %v", len(log), err)
	}
	seqAtKill := mustSeq(t, log[len(log)-1].ID)
	t.Logf("killed instance %d (%s), the lease holder, at seq %d", owner, killed.Instance, seqAtKill)

	// The standby takes over within the lease TTL and appends.
	newOwner, err := c.waitLeaseMoved(t.Context(), owner, leaseTTL+5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	takeover := time.Since(killedAt)
	t.Logf("instance %d (%s) took the lease over %v after the kill", newOwner, c.Gateways[newOwner].Instance, takeover.Round(10*time.Millisecond))
	if newOwner != standby {
		t.Errorf("instance %d took the lease over, want the standby, instance %d", newOwner, standby)
	}
	// The lease expires after its TTL; the standby tries every sixth of
	// it. The slack is for a loaded machine: the chaos test measures.
	if takeover > leaseTTL+time.Second {
		t.Errorf("takeover took %v, want within %v", takeover, leaseTTL+time.Second)
	}

	// Every client ends on a live instance with events after the kill.
	err = waitFor(t.Context(), retryHint+lag+10*time.Second, func(context.Context) error {
		for i, fc := range cs {
			last, ok := fc.lastEvent()
			if !ok {
				return fmt.Errorf("client %d has no event", i)
			}
			if s, _ := last.seq(); s <= seqAtKill+2 {
				return fmt.Errorf("client %d is at seq %d, want past %d", i, s, seqAtKill+2)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(killedAt)
	// Keep streaming a little past the recovery, then stop.
	time.Sleep(time.Second)
	stop()

	t.Logf("every client past the failover %v after the kill", took.Round(10*time.Millisecond))
	moved, caughtUp := 0, 0
	for _, fc := range cs {
		conns := fc.connections()
		if len(conns) > 1 {
			moved++
			// Events appended while it was away came at once.
			caughtUp = max(caughtUp, conns[len(conns)-1].Events-countAfter(fc.events(), conns[len(conns)-1].FirstEvent.Add(blockInterval/2)))
		}
	}
	t.Logf("%d clients resumed on another instance, the late ones catching up with up to %d events at once", moved, caughtUp)
	for i, fc := range cs {
		evs := fc.events()
		if os.Getenv("E2E_DEBUG") != "" {
			t.Logf("client %d:%s", i, describe(fc))
		}
		if err := checkContinuous(evs); err != nil {
			t.Errorf("client %d: %v%s", i, err, describe(fc))
			continue
		}
		// The standby received every block the holder did: nothing
		// was lost, and nothing says so.
		if n := gapEvents(evs); n != 0 {
			t.Errorf("client %d: %d gap events, want none%s", i, n, describe(fc))
		}
		conns := fc.connections()
		end := conns[len(conns)-1]
		if end.Instance == owner {
			t.Errorf("client %d ended on the killed instance %d%s", i, owner, describe(fc))
		}
		if last := evs[len(evs)-1]; last.Instance == owner || !last.At.After(killedAt) {
			t.Errorf("client %d: last event %s from instance %d at %s, want one from a live instance after the kill%s",
				i, last.ID, last.Instance, last.At.Format("15:04:05.000"), describe(fc))
		}
		if i%len(c.Gateways) == owner && len(conns) < 2 {
			t.Errorf("client %d started on the killed instance but did not reconnect%s", i, describe(fc))
		}
	}

	// The killed holder and then the standby took the lease, nobody
	// else; the third instance stands by for the new holder; and the
	// shared log holds each block once (two feeds appending would have
	// appended heights twice).
	got := c.takeovers()
	got[owner] = 1 // its log ends at the kill; it took the lease once
	want := make([]int, len(got))
	want[owner], want[newOwner] = 1, 1
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lease takeovers logged per instance %v, want %v", got, want)
	}
	if err := waitFor(t.Context(), 5*time.Second, func(ctx context.Context) error {
		third := 3 - owner - newOwner
		if got, err := c.standby(ctx, leaseKey); err != nil || got != third {
			return fmt.Errorf("standby instance %d (%v), want the third one, %d", got, err, third)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := checkLog(t.Context(), c, leaseKey); err != nil {
		t.Error(err)
	}
}

// countAfter counts the events received after t0.
func countAfter(evs []received, t0 time.Time) int {
	n := 0
	for _, e := range evs {
		if e.At.After(t0) {
			n++
		}
	}
	return n
}

// waitStreaming waits until every client has received n events.
func waitStreaming(ctx context.Context, cs []*followingClient, n int) error {
	return waitFor(ctx, 20*time.Second, func(context.Context) error {
		for i, fc := range cs {
			if got := len(fc.events()); got < n {
				return fmt.Errorf("client %d has %d events, want %d", i, got, n)
			}
		}
		return nil
	})
}

// checkLog checks the shared log: gapless sequence numbers, and heights
// that rise by one from push to push except across a gap entry.
func checkLog(ctx context.Context, c *cluster, leaseKey string) error {
	log, err := c.streamLog(ctx, leaseKey)
	if err != nil {
		return err
	}
	evs := make([]received, len(log))
	for i, m := range log {
		data, _ := m.Values["d"].(string)
		typ, _ := m.Values["t"].(string)
		evs[i] = received{sseEvent: sseEvent{ID: m.ID, Type: typ, Data: data}}
	}
	if err := checkContinuous(evs); err != nil {
		return fmt.Errorf("shared log: %w", err)
	}
	return nil
}

func mustSeq(t *testing.T, id string) uint64 {
	t.Helper()
	s, err := received{sseEvent: sseEvent{ID: id}}.seq()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// operatorKey makes a keys file holding one key with the public and admin
// scopes, as an operator does with `gateway keys add`, and returns the
// file and the key. The wallet's commands take passwords: only such a key
// reaches them in front of a real upstream (here, the simulated node's
// process).
func operatorKey(t *testing.T) (file, key string) {
	t.Helper()
	file = t.TempDir() + "/keys.json"
	out, err := exec.Command(gatewayBinary(t), "keys", "add", "--keys-file", file, "--name", "e2e-operator", "--scopes", "public,admin").CombinedOutput()
	if err != nil {
		t.Fatalf("gateway keys add: %v\n%s", err, out)
	}
	for _, field := range strings.Fields(string(out)) {
		if strings.HasPrefix(field, "ngw_") {
			return file, field
		}
	}
	t.Fatalf("gateway keys add printed no key: %s", out)
	return "", ""
}
