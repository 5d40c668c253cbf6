package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/policy"
	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// NotificationsTopic is the hub topic of the Manager's Notifications
// (D15), which PublishNotification feeds.
const NotificationsTopic = "notifications"

// Feeds opens the hub's upstream subscriptions on an Upstream: it
// implements subscriptions.Source. A subscription is pushed by the
// upstream or polled by the gateway, as Polled decides: period
// subscriptions always, event subscriptions when PollEvents is set or the
// upstream cannot push the method. Derived streams (newHeaders,
// accountBalance) follow a subscription of their source.
type Feeds struct {
	Upstream Upstream
	// PollEvents, when set, emulates event subscriptions by calling the
	// method this often and keeping the changes: for an upstream that
	// cannot push, such as a Nulstar Connector. Zero: the upstream pushes.
	PollEvents time.Duration
	// CallTimeout bounds each call of a poller (and of a derived stream),
	// as the gateway's --call-timeout bounds its calls: at most the
	// period. Default 10s (D19).
	CallTimeout time.Duration
	// RenderError describes a failure as the event a stream sends for it
	// (the gateway's problem document). Default: {"title", "detail",
	// "method"}.
	RenderError func(method string, err error) json.RawMessage
}

var _ subscriptions.Source = Feeds{}

// DefaultCallTimeout is Feeds.CallTimeout's default, the gateway's (D19).
const DefaultCallTimeout = 10 * time.Second

// withDefaults fills the zero fields.
func (f Feeds) withDefaults() Feeds {
	if f.CallTimeout <= 0 {
		f.CallTimeout = DefaultCallTimeout
	}
	if f.RenderError == nil {
		f.RenderError = plainError
	}
	return f
}

// plainError is the default RenderError.
func plainError(method string, err error) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"title": "upstream error", "detail": err.Error(), "method": method})
	return b
}

// Polled reports whether a subscription of method is the gateway calling
// it (polled) rather than the upstream pushing it: a period subscription
// always (a Java module pushes every ~6 s whatever the period; a Nulstar
// Connector never pushes), an event one when pollEvents is set or up
// cannot push the method. The one place that decides it: Feeds.Subscribe
// and what the gateway tells its clients (X-Nuls-Subscription) agree.
func Polled(up Upstream, pollEvents time.Duration, method string, period int) bool {
	if d, ok := derivedStreams[method]; ok {
		method = d.source
	}
	return period > 0 || pollEvents > 0 || !canPush(up, method)
}

// Subscribe implements subscriptions.Source.
func (f Feeds) Subscribe(ctx context.Context, k subscriptions.Key) (subscriptions.Feed, error) {
	f = f.withDefaults()
	if d, ok := derivedStreams[k.Method]; ok {
		src := k
		src.Method = d.source
		feed, err := f.Subscribe(ctx, src)
		if err != nil {
			return nil, err
		}
		return newDerivedFeed(feed, d, f, json.RawMessage(k.Params)), nil
	}
	if Polled(f.Upstream, f.PollEvents, k.Method, k.Period) {
		every, event := f.PollEvents, true
		switch {
		case k.Period > 0:
			every, event = time.Duration(k.Period)*time.Second, false
		case every <= 0:
			every = defaultEventPoll // the upstream cannot push this method
		}
		return newPollFeed(f, k, every, event)
	}
	req := bridge.Request{
		SubscriptionEventCounter: k.EventCounter,
		SubscriptionPeriod:       k.Period,
		SubscriptionRange:        k.Range,
		RequestMethods:           []bridge.MethodCall{{Method: k.Method, Params: json.RawMessage(k.Params)}},
	}
	var (
		sub Pushes
		err error
	)
	if so, ok := f.Upstream.(StreamOpener); ok {
		sub, err = so.OpenStream(ctx, req)
	} else {
		sub, err = f.Upstream.Subscribe(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	fd := &feed{sub: sub, method: k.Method, render: f.RenderError, ch: make(chan subscriptions.Update, 16), stop: make(chan struct{}), done: make(chan struct{})}
	go fd.run()
	return fd, nil
}

// defaultEventPoll is how often an event subscription is emulated where
// the upstream is known not to push the method (see pusher).
const defaultEventPoll = time.Second

// pusher is an upstream that knows which methods it cannot push: a
// Managed upstream forwarding a method through Nulstar's ServiceManager.
type pusher interface {
	CanPush(method string) bool
}

func canPush(up Upstream, method string) bool {
	p, ok := up.(pusher)
	return !ok || p.CanPush(method)
}

// feed turns the pushes of a bridge.Subscription into hub updates. Its
// goroutine ends when the subscription ends or the feed is closed.
type feed struct {
	sub    Pushes
	method string
	render func(method string, err error) json.RawMessage
	ch     chan subscriptions.Update
	stop   chan struct{}
	once   sync.Once
	done   chan struct{}
}

func (f *feed) run() {
	defer close(f.done)
	defer close(f.ch)
	for {
		select {
		case <-f.stop:
			return
		case p, ok := <-f.sub.C():
			if !ok {
				return
			}
			u := toUpdate(f.method, p, f.render)
			select {
			case f.ch <- u:
			case <-f.stop:
				return
			}
		}
	}
}

// toUpdate is one push as the hub stores it: the method's result, or the
// rendering of a failure. A failure that can never heal (unknown method,
// bad parameters) ends the topic; so does an answer carrying a secret
// field, which no stream carries, whoever reads it (the policy streams only
// reads that answer none: this is an upstream answering what its method
// was not known to).
func toUpdate(method string, p bridge.Push, render func(string, error) json.RawMessage) subscriptions.Update {
	if p.Err == nil {
		result := json.RawMessage("null")
		for _, r := range p.Results {
			if r.Method == method || len(p.Results) == 1 {
				result = r.Result
			}
		}
		if field, secret := policy.SecretField(result); secret {
			return subscriptions.Update{Type: subscriptions.TypeError, Data: render(method, fmt.Errorf("%w (%s)", policy.ErrSecretAnswer, field)),
				Final: true, Err: policy.ErrSecretAnswer}
		}
		return subscriptions.Update{Data: result, Gap: p.Resubscribed}
	}
	final := p.Err.MethodNotFound() || p.Err.InvalidParams()
	return subscriptions.Update{Type: subscriptions.TypeError, Data: render(method, p.Err), Final: final, Err: p.Err, Gap: p.Resubscribed}
}

func (f *feed) Updates() <-chan subscriptions.Update { return f.ch }

func (f *feed) Err() error { return f.sub.Err() }

// Close unsubscribes upstream (D5) and stops the goroutine.
func (f *feed) Close() error {
	f.once.Do(func() { close(f.stop) })
	err := f.sub.Close()
	<-f.done
	return err
}

// PublishNotification hands a Notification (D15) to the streams of
// GET /notifications.
func PublishNotification(hub interface {
	Publish(name, typ string, data []byte) error
}, n *bridge.Notification) {
	data := n.NotificationData
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	b, _ := json.Marshal(struct {
		Type    string          `json:"type"`
		Comment string          `json:"comment"`
		Data    json.RawMessage `json:"data"`
	}{n.NotificationType, n.NotificationComment, data})
	_ = hub.Publish(NotificationsTopic, "notification", b)
}
