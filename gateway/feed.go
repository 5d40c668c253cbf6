package gateway

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

// notificationsTopic is the hub topic of GET /notifications.
const notificationsTopic = "notifications"

// Feeds opens the hub's upstream subscriptions on an Upstream: it
// implements subscriptions.Upstream. Period subscriptions are emulated by
// calling the method at the period (see pollFeed); event subscriptions are
// the upstream's, unless PollEvents is set.
type Feeds struct {
	Upstream Upstream
	// PollEvents, when set, emulates event subscriptions by calling the
	// method this often and keeping the changes: for an upstream that
	// cannot push, such as a Nulstar Connector. Zero: the upstream pushes.
	PollEvents time.Duration
}

var _ subscriptions.Upstream = Feeds{}

// Subscribe implements subscriptions.Upstream.
func (f Feeds) Subscribe(ctx context.Context, k subscriptions.Key) (subscriptions.Feed, error) {
	if d, ok := derivedStreams[k.Method]; ok {
		src := k
		src.Method = d.source
		feed, err := f.Subscribe(ctx, src)
		if err != nil {
			return nil, err
		}
		return newDerivedFeed(feed, d, f.Upstream, json.RawMessage(k.Params)), nil
	}
	switch {
	case k.Period > 0:
		return newPollFeed(f.Upstream, k, time.Duration(k.Period)*time.Second, false)
	case f.PollEvents > 0:
		return newPollFeed(f.Upstream, k, f.PollEvents, true)
	case !canPush(f.Upstream, k.Method):
		return newPollFeed(f.Upstream, k, defaultEventPoll, true)
	}
	sub, err := f.Upstream.Subscribe(ctx, bridge.Request{
		SubscriptionEventCounter: k.EventCounter,
		SubscriptionPeriod:       k.Period,
		SubscriptionRange:        k.Range,
		RequestMethods:           []bridge.MethodCall{{Method: k.Method, Params: json.RawMessage(k.Params)}},
	})
	if err != nil {
		return nil, err
	}
	fd := &feed{sub: sub, method: k.Method, ch: make(chan subscriptions.Update, 16), stop: make(chan struct{}), done: make(chan struct{})}
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
	sub    *bridge.Subscription
	method string
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
			u := toUpdate(f.method, p)
			select {
			case f.ch <- u:
			case <-f.stop:
				return
			}
		}
	}
}

// toUpdate is one push as the hub stores it: the method's result, or a
// problem document for a failure. A failure that can never heal (unknown
// method, bad parameters) ends the topic.
func toUpdate(method string, p bridge.Push) subscriptions.Update {
	if p.Err == nil {
		var result json.RawMessage = json.RawMessage("null")
		for _, r := range p.Results {
			if r.Method == method || len(p.Results) == 1 {
				result = r.Result
			}
		}
		if field, secret := policy.SecretField(result); secret {
			// Streams never carry a secret, whoever reads them: the
			// policy streams only reads that answer none, so this is
			// an upstream answering what its method was not known to.
			prob := problemAt(fmt.Errorf("%w (%s)", errSecretAnswer, field), "", "")
			prob.Method = method
			data, _ := json.Marshal(prob)
			return subscriptions.Update{Type: subscriptions.TypeError, Data: data, Final: true, Err: errSecretAnswer}
		}
		return subscriptions.Update{Data: result, Gap: p.Resubscribed}
	}
	prob := problemAt(p.Err, "", "")
	prob.Method, prob.Detail = method, p.Err.Comment
	data, _ := json.Marshal(prob)
	final := p.Err.MethodNotFound() || p.Err.InvalidParams()
	return subscriptions.Update{Type: subscriptions.TypeError, Data: data, Final: final, Err: p.Err, Gap: p.Resubscribed}
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
	_ = hub.Publish(notificationsTopic, "notification", b)
}
