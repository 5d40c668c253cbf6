package bridge

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// dropConnections cuts every connection the module accepted, as a crash
// would (no close frame).
func dropConnections(m *Module) {
	for _, p := range m.Peers() {
		_ = p.conn.ws.Close()
	}
}

// TestDropMidCall: a call in flight when the connection drops fails at once
// with ErrConnectionLost, and the client reconnects by itself.
func TestDropMidCall(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), "slow", map[string]int{"ms": 10000})
		errc <- err
	}()
	waitFor(t, "the call to be running", func() bool { return tm.Module.runningRequests() == 1 })
	dropConnections(tm.Module)
	select {
	case err := <-errc:
		if !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("err = %v, want ErrConnectionLost", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("call hung after the connection dropped")
	}
	waitFor(t, "reconnect", func() bool { return c.Connections() == 2 && c.Ready() })
	if _, err := c.Call(t.Context(), "echo", nil); err != nil {
		t.Fatal(err)
	}
}

// TestDropMidSubscription: after a reconnect the client subscribes again
// and the consumer reads on from the same channel, without duplicates.
func TestDropMidSubscription(t *testing.T) {
	t.Parallel()
	tm := newTestModule(t, ModuleConfig{})
	c := startClient(t, tm.url, ClientConfig{})
	sub, err := c.Subscribe(t.Context(), Request{SubscriptionEventCounter: 1, RequestMethods: []MethodCall{{Method: "height"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	nextPush(t, sub, time.Second)
	waitFor(t, "server subscription", func() bool { return serverSubs(tm.Module) == 1 })
	tm.bump()
	if pu := nextPush(t, sub, time.Second); heightOf(t, pu) != 1 || pu.Resubscribed {
		t.Fatalf("height %d, resubscribed %v", heightOf(t, pu), pu.Resubscribed)
	}
	firstID := sub.ID()

	dropConnections(tm.Module)
	waitFor(t, "reconnect", func() bool { return c.Connections() == 2 && c.Ready() })
	waitFor(t, "resubscription", func() bool { return serverSubs(tm.Module) == 1 && sub.ID() != firstID && sub.ID() != "" })
	// The first Response of the renewed subscription repeats height 1:
	// a duplicate for the consumer (D21), so the next push is height 2,
	// and nothing was missed. Bumped before that Response arrived, the
	// first Response would be height 2, rightly flagged: wait for it.
	waitFor(t, "the renewed subscription's first Response", func() bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return !sub.renewed
	})
	tm.bump()
	if pu := nextPush(t, sub, 2*time.Second); heightOf(t, pu) != 2 || pu.Resubscribed {
		t.Fatalf("after reconnect: height %d, resubscribed %v; want 2, false", heightOf(t, pu), pu.Resubscribed)
	}
	// A change during the outage is delivered by the renewed first Response.
	dropConnections(tm.Module)
	tm.height.Add(5) // no subscriber to trigger while disconnected
	waitFor(t, "second reconnect", func() bool { return c.Connections() == 3 })
	// It is flagged: the consumer's view jumped.
	if pu := nextPush(t, sub, 2*time.Second); heightOf(t, pu) != 7 || !pu.Resubscribed {
		t.Fatalf("after outage: height %d, resubscribed %v; want 7, true", heightOf(t, pu), pu.Resubscribed)
	}
	tm.bump()
	if pu := nextPush(t, sub, 2*time.Second); heightOf(t, pu) != 8 || pu.Resubscribed {
		t.Fatalf("next push: height %d, resubscribed %v; want 8, false", heightOf(t, pu), pu.Resubscribed)
	}
}

// TestReconnectWhenPeerReturns: the client keeps dialling a dead address
// with backoff and connects when a server appears there.
func TestReconnectWhenPeerReturns(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := runClient(t, "ws://"+addr+"/ws", ClientConfig{})
	if _, err := c.Call(t.Context(), "echo", nil); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("err = %v, want ErrNotConnected", err)
	}
	time.Sleep(300 * time.Millisecond) // a few failed dials

	m, err := NewModule(ModuleConfig{Abbreviation: "late"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(Method{Name: "echo", Handler: func(_ context.Context, c *Call) (any, error) { return c.Params, nil }}); err != nil {
		t.Fatal(err)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv := &http.Server{Handler: m}
	go srv.Serve(ln)
	t.Cleanup(func() {
		m.Close()
		srv.Close()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(t.Context(), "echo", nil); err != nil {
		t.Fatal(err)
	}
}

// TestPeerNeverAnswers: a peer that accepts the socket and stays silent
// fails the negotiation; after the D8 retries the failure is reported, and
// the client goes on trying with backoff.
func TestPeerNeverAnswers(t *testing.T) {
	t.Parallel()
	var dials atomic.Int64
	url := rawServer(t, func(r *rawPeer) {
		dials.Add(1)
		for {
			if _, _, err := r.ws.ReadMessage(); err != nil {
				return
			}
		}
	})
	reported := make(chan error, 1)
	c := runClient(t, url, ClientConfig{
		NegotiationTimeout:       100 * time.Millisecond,
		NegotiationRetryInterval: 50 * time.Millisecond,
		OnNegotiationFailure:     func(_ string, err error) { reported <- err },
	})
	select {
	case err := <-reported:
		if !errors.Is(err, ErrNegotiationFailed) {
			t.Errorf("reported %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("negotiation failure never reported")
	}
	if n := dials.Load(); n != 3 {
		t.Errorf("%d tries before the report, want 3 (D8: two more tries)", n)
	}
	if c.Ready() {
		t.Error("ready without negotiation")
	}
	waitFor(t, "retries after the report", func() bool { return dials.Load() >= 4 })
}

// TestPeerNeverAnswersCalls: negotiation succeeds but calls get no answer:
// each call times out, nothing hangs.
func TestPeerNeverAnswersCalls(t *testing.T) {
	t.Parallel()
	url := rawServer(t, func(r *rawPeer) {
		n, err := r.tryRead(2 * time.Second)
		if err != nil {
			return
		}
		r.sendMsg(NewMessage("s", &NegotiateConnectionResponse{RequestID: n.MessageID, NegotiationStatus: "1"}))
		for {
			if _, _, err := r.ws.ReadMessage(); err != nil {
				return
			}
		}
	})
	c := startClient(t, url, ClientConfig{CallTimeout: 100 * time.Millisecond})
	for i := 0; i < 3; i++ {
		if _, err := c.Call(context.Background(), "m", nil); !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
	}
}

// TestPeerSendsGarbage: frames that are not messages are dropped and the
// connection goes on.
func TestPeerSendsGarbage(t *testing.T) {
	t.Parallel()
	url := rawServer(t, func(r *rawPeer) {
		n, err := r.tryRead(2 * time.Second)
		if err != nil {
			return
		}
		r.send("not json at all")
		r.send(`{"MessageType":"Response","MessageData":{"ResponseData":[1]}}`)
		r.send(`{"MessageType":"Bogus","MessageData":{}}`)
		r.send(`[]`)
		_ = r.ws.WriteMessage(websocket.BinaryMessage, []byte{0x78, 0x9c, 0xff, 0x00}) // broken zlib
		r.sendMsg(NewMessage("s", &NegotiateConnectionResponse{RequestID: n.MessageID, NegotiationStatus: "1"}))
		for {
			m, err := r.tryRead(5 * time.Second)
			if err != nil {
				return
			}
			if _, ok := m.MessageData.(*Request); ok {
				r.send(`{"MessageID":1,"MessageType":"Response","MessageData":{"RequestID":"` + m.MessageID + `","ResponseStatus":"0","ResponseData":{"m":{"ok":true}}}}`)
			}
		}
	})
	c := startClient(t, url, ClientConfig{})
	got, err := c.Call(t.Context(), "m", nil)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, `{"ok":true}`, got)
}
