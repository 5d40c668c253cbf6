package subscriptions

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkFanOut publishes one event to a topic read by many members, each
// in its own goroutine as the gateway's streams are, and waits until every
// member has taken it: one op is one event delivered to all of them.
func BenchmarkFanOut(b *testing.B) {
	for _, members := range []int{100, 10000} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			h := NewHub(Config{Retention: 16}, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			hubDone := make(chan struct{})
			go func() { defer close(hubDone); _ = h.Run(ctx) }()
			defer func() { cancel(); <-hubDone }()
			for h.Publish("bench", TypePush, []byte(`0`)) != nil {
				runtime.Gosched() // Run has not started yet
			}

			var taken atomic.Int64
			all := make(chan struct{}, 1)
			var wg sync.WaitGroup
			for range members {
				m, err := h.JoinLocal("bench", "")
				if err != nil {
					b.Fatal(err)
				}
				wg.Go(func() {
					defer m.Close()
					for {
						<-m.Ready()
						batch, err := m.Take(256)
						if err != nil {
							return
						}
						for range batch.Events {
							if taken.Add(1)%int64(members) == 0 {
								all <- struct{}{}
							}
						}
					}
				})
			}
			// Every member first takes the current state.
			<-all
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := h.Publish("bench", TypePush, []byte(fmt.Sprint(i))); err != nil {
					b.Fatal(err)
				}
				<-all
			}
			b.StopTimer()
			cancel()
			wg.Wait()
		})
	}
}
