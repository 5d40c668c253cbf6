package pool

import (
	"context"
	"testing"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/bridge/devnode"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// BenchmarkCall measures what routing adds to a call: the same read on one
// node, directly and through a pool of that one node.
//
//	go test ./upstream/pool -run '^$' -bench Call -benchmem
func BenchmarkCall(b *testing.B) {
	n, err := devnode.New(devnode.Config{Listen: "127.0.0.1:0", BlockInterval: -1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	c, err := bridge.NewClient(bridge.ClientConfig{URL: n.URL()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		_ = c.Run(ctx)
	}()
	if err := c.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	direct := upstream.NewDirect(c)
	p, err := New(Config{ChainID: 2, HeadInterval: time.Hour, IsWrite: func(string) bool { return false }},
		[]Member{{Name: "node1", Upstream: direct}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	p.nodes[0].poll(ctx, 2, time.Second, time.Now()) // in rotation
	for _, bc := range []struct {
		name string
		up   upstream.Upstream
	}{{"direct", direct}, {"pool", p}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := bc.up.Call(ctx, latestHeight()); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	cancel()
	<-clientDone
	if err := <-done; err != nil {
		b.Error(err)
	}
}
