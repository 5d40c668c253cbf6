package bridge

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// javaPeer answers like the Java modules (docs/protocol.md#java):
// negotiation always "1", one Response per method in request order, the Ack
// after the Response with Java's RequestId spelling, and for an event
// subscription the Response and an identical push at once.
func javaPeer(t *testing.T, onRequest func(r *rawPeer, m *Message, req *Request)) string {
	t.Helper()
	return rawServer(t, func(r *rawPeer) {
		for {
			m, err := r.tryRead(10 * time.Second)
			if err != nil {
				return
			}
			switch d := m.MessageData.(type) {
			case *NegotiateConnection:
				r.sendMsg(NewMessage("j-n", &NegotiateConnectionResponse{RequestID: m.MessageID, NegotiationStatus: "1", NegotiationComment: "Connection true!"}))
			case *Request:
				onRequest(r, m, d)
			}
		}
	})
}

func javaResponse(id, method, result string) string {
	return `{"MessageID":"j-` + id + `-` + method + `","Timestamp":"1","TimeZone":"9","MessageType":"Response","MessageData":{"RequestID":"` + id +
		`","ResponseProcessingTime":null,"ResponseStatus":0,"ResponseComment":"success","ResponseMaxSize":"0","ResponseData":{"` + method + `":` + result + `},"ResponseErrorCode":null}}`
}

// TestClientPerMethodResponses covers D4 against real peers: one Response
// per method sharing the RequestID (Java: request order; Nulstar: completion
// order), and an early failure completing the call at once.
func TestClientPerMethodResponses(t *testing.T) {
	t.Parallel()
	url := javaPeer(t, func(r *rawPeer, m *Message, req *Request) {
		if req.RequestMethods[0].Method == "fails" {
			// Java stops at a failed method: nothing for the others.
			r.send(`{"MessageID":"x","MessageType":"Response","MessageData":{"RequestID":"` + m.MessageID + `","ResponseStatus":65536,"ResponseComment":"Cmd not found:fails,","ResponseData":null,"ResponseErrorCode":"err_0021"}}`)
			return
		}
		// Completion order, as Nulstar: the last method first.
		for i := len(req.RequestMethods) - 1; i >= 0; i-- {
			r.send(javaResponse(m.MessageID, req.RequestMethods[i].Method, `{"n":`+string(rune('0'+i))+`}`))
		}
		r.send(`{"MessageID":"a","MessageType":"Ack","MessageData":{"RequestId":"` + m.MessageID + `"}}`)
	})
	c := startClient(t, url, ClientConfig{})
	reply, err := c.CallMethods(t.Context(), []MethodCall{{Method: "a"}, {Method: "b"}, {Method: "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resultsText(reply.Results); got != `a={"n":0} b={"n":1} c={"n":2}` {
		t.Fatalf("results %s: want every method, in request order", got)
	}
	start := time.Now()
	_, err = c.CallMethods(t.Context(), []MethodCall{{Method: "fails"}, {Method: "never"}})
	var rpcErr *RPCError
	if !errors.As(err, &rpcErr) || !rpcErr.MethodNotFound() || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v, want the failure at once", err, time.Since(start))
	}
}

// TestClientIgnoresAck covers D6: the call completes on its Response, with
// the Ack before, after (Java's RequestId spelling) or never (Nulstar).
func TestClientIgnoresAck(t *testing.T) {
	t.Parallel()
	url := javaPeer(t, func(r *rawPeer, m *Message, req *Request) {
		ack := `{"MessageID":"a","MessageType":"Ack","MessageData":{"RequestId":"` + m.MessageID + `"}}`
		switch req.RequestMethods[0].Method {
		case "before":
			r.send(ack)
			r.send(javaResponse(m.MessageID, "before", "1"))
		case "after":
			r.send(javaResponse(m.MessageID, "after", "2"))
			r.send(ack)
		default:
			r.send(javaResponse(m.MessageID, req.RequestMethods[0].Method, "3"))
		}
	})
	c := startClient(t, url, ClientConfig{CallTimeout: time.Second})
	for _, m := range []string{"before", "after", "never"} {
		if _, err := c.Call(t.Context(), m, nil); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
}

// TestClientDuplicatePushes covers D21 against a Java-like peer: the event
// subscription's Response and its identical push arrive together (one
// event, not two); a push identical to the last is dropped; period ticks are
// always delivered; pushes for an unsubscribed request are dropped.
func TestClientDuplicatePushes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	subs := map[string]*rawPeer{}
	unsubscribed := make(chan string, 4)
	url := rawServer(t, func(r *rawPeer) {
		for {
			m, err := r.tryRead(10 * time.Second)
			if err != nil {
				return
			}
			switch d := m.MessageData.(type) {
			case *NegotiateConnection:
				r.sendMsg(NewMessage("n", &NegotiateConnectionResponse{RequestID: m.MessageID, NegotiationStatus: "1"}))
			case *Request:
				method := d.RequestMethods[0].Method
				mu.Lock()
				subs[method] = r
				mu.Unlock()
				r.send(javaResponse(m.MessageID, method, `{"value":1}`))
				r.send(javaResponse(m.MessageID, method, `{"value":1}`)) // Java's extra push
			case *Unsubscribe:
				unsubscribed <- d.UnsubscribeMethods[0]
			}
		}
	})
	c := startClient(t, url, ClientConfig{})
	ev, err := c.Subscribe(t.Context(), Request{SubscriptionEventCounter: 1, RequestMethods: []MethodCall{{Method: "latestHeight"}}})
	if err != nil {
		t.Fatal(err)
	}
	per, err := c.Subscribe(t.Context(), Request{SubscriptionPeriod: 2, RequestMethods: []MethodCall{{Method: "getBalance"}}})
	if err != nil {
		t.Fatal(err)
	}
	if h := heightOf(t, nextPush(t, ev, time.Second)); h != 1 {
		t.Fatalf("first %d", h)
	}
	noPush(t, ev, 200*time.Millisecond) // the duplicate was dropped
	nextPush(t, per, time.Second)
	nextPush(t, per, time.Second) // the same content, but a tick: delivered

	waitFor(t, "both subscriptions", func() bool { mu.Lock(); defer mu.Unlock(); return len(subs) == 2 })
	mu.Lock()
	r := subs["latestHeight"]
	mu.Unlock()
	id := ev.ID()
	r.send(javaResponse(id, "latestHeight", `{"value":2}`))
	if h := heightOf(t, nextPush(t, ev, time.Second)); h != 2 {
		t.Fatalf("push %d", h)
	}
	ev.Close()
	if got := <-unsubscribed; got != id {
		t.Fatalf("Unsubscribe %q, want the Request ID %q (D5)", got, id)
	}
	// Java keeps pushing after Unsubscribe: dropped, the connection lives.
	r.send(javaResponse(id, "latestHeight", `{"value":3}`))
	if _, ok := <-ev.C(); ok {
		t.Fatal("push after Close")
	}
	mu.Lock()
	r = subs["getBalance"]
	mu.Unlock()
	r.send(javaResponse(per.ID(), "getBalance", `{"value":9}`))
	if h := heightOf(t, nextPush(t, per, time.Second)); h != 9 {
		t.Fatalf("period push %d", h)
	}
}

// TestClientNegotiation covers D7 and D22 from the client: the documented
// NegotiateConnection fields, and a distinct Abbreviation per connection.
func TestClientNegotiation(t *testing.T) {
	t.Parallel()
	got := make(chan *NegotiateConnection, 4)
	url := rawServer(t, func(r *rawPeer) {
		m, err := r.tryRead(5 * time.Second)
		if err != nil {
			return
		}
		got <- m.MessageData.(*NegotiateConnection)
		r.sendMsg(NewMessage("n", &NegotiateConnectionResponse{RequestID: m.MessageID, NegotiationStatus: "1"}))
		_, _ = r.tryRead(10 * time.Second)
	})
	a := startClient(t, url, ClientConfig{Abbreviation: "gateway"})
	b := startClient(t, url, ClientConfig{Abbreviation: "gateway"})
	_, _ = a, b
	n1, n2 := <-got, <-got
	for _, n := range []*NegotiateConnection{n1, n2} {
		if n.ProtocolVersion != "0.1" || n.CompressionAlgorithm != "zlib" || n.CompressionRate != "0" || !strings.HasPrefix(n.Abbreviation, "gateway-") {
			t.Errorf("NegotiateConnection %+v", n)
		}
	}
	if n1.Abbreviation == n2.Abbreviation {
		t.Errorf("two connections share the Abbreviation %q", n1.Abbreviation)
	}
}

// TestDialDeadline covers D22: a server that accepts the TCP connection but
// never answers the upgrade (a Java server on a path without /ws) does not
// hang the dial.
func TestDialDeadline(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	start := time.Now()
	_, err = dial(t.Context(), "ws://"+ln.Addr().String()+"/", 200*time.Millisecond)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("dial = %v after %v, want a timeout near 200ms", err, time.Since(start))
	}
}

// TestDialOneAtATime covers D22: connections to one host are opened one at
// a time, a few milliseconds apart (Nulstar tells connections apart by the
// millisecond they were accepted).
func TestDialOneAtATime(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var accepted []time.Time
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		accepted = append(accepted, time.Now())
		mu.Unlock()
		ws, err := up.Upgrade(w, r, nil)
		if err == nil {
			ws.Close()
		}
	}))
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, err := dial(context.Background(), url, 2*time.Second)
			if err == nil {
				ws.Close()
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) != 5 {
		t.Fatalf("%d connections", len(accepted))
	}
	for i := 1; i < len(accepted); i++ {
		for j := 0; j < i; j++ {
			d := accepted[i].Sub(accepted[j])
			if d < 0 {
				d = -d
			}
			if d < time.Millisecond {
				t.Fatalf("connections %d and %d accepted %v apart", i, j, d)
			}
		}
	}
}

// TestClientCompression covers D9 from the client: after a negotiation with
// a rate N > 0 that the peer accepts, the client sends binary zlib frames.
func TestClientCompression(t *testing.T) {
	t.Parallel()
	frames := make(chan int, 4)
	url := rawServer(t, func(r *rawPeer) {
		m, err := r.tryRead(5 * time.Second)
		if err != nil {
			return
		}
		if m.MessageData.(*NegotiateConnection).CompressionRate != "5" {
			t.Errorf("rate %+v", m.MessageData)
		}
		r.sendMsg(NewMessage("n", &NegotiateConnectionResponse{RequestID: m.MessageID, NegotiationStatus: "1"}))
		typ, b, err := r.ws.ReadMessage()
		if err != nil {
			return
		}
		frames <- typ
		text, err := inflate(b, 1<<20)
		if err != nil {
			t.Errorf("not zlib: %v", err)
			return
		}
		req, _ := Decode(text)
		r.send(javaResponse(req.MessageID, "m", `"ok"`))
		_, _ = r.tryRead(10 * time.Second)
	})
	c := startClient(t, url, ClientConfig{CompressionRate: 5})
	got, err := c.Call(t.Context(), "m", nil)
	if err != nil || string(got) != `"ok"` {
		t.Fatalf("%s %v", got, err)
	}
	if typ := <-frames; typ != websocket.BinaryMessage {
		t.Fatalf("frame type %d, want binary", typ)
	}
}
