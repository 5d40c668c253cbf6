package subscriptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Config.
const (
	defaultRetention     = 1024
	defaultGrace         = 10 * time.Second
	defaultFirstPushWait = 2 * time.Second
	defaultMinRetry      = 500 * time.Millisecond
	defaultMaxRetry      = 30 * time.Second
	defaultMaxTopics     = 1000
)

// Sentinel errors.
var (
	// ErrClosed is returned by Join on a hub that is not running.
	ErrClosed = errors.New("subscriptions: hub closed")
	// ErrBadEventID reports a Last-Event-ID that is not an event position.
	ErrBadEventID = errors.New("subscriptions: bad Last-Event-ID")
	// ErrUnavailable reports shared state that could not be reached in
	// time (Redis down).
	ErrUnavailable = errors.New("subscriptions: shared state unavailable")
	// ErrTooManyTopics reports a Join that would open a topic beyond
	// Config.MaxTopics.
	ErrTooManyTopics = errors.New("subscriptions: too many subscriptions")
)

// TopicError ends a topic whose upstream subscription failed for good; a
// Member's Take returns it once the topic's events are all taken.
type TopicError struct {
	Key Key
	Err error
}

func (e *TopicError) Error() string { return fmt.Sprintf("subscriptions: %s: %v", e.Key.Method, e.Err) }

// Unwrap returns the upstream failure.
func (e *TopicError) Unwrap() error { return e.Err }

// Config tunes a Hub. The zero value is usable.
type Config struct {
	// Retention is how many events each topic keeps for readers that
	// resume with Last-Event-ID. Default 1024.
	Retention int
	// Grace is how long a topic outlives its last reader, so that a
	// reconnecting client finds it (and its events) again. Default 10s.
	Grace time.Duration
	// FirstPushWait is how long Join waits on a new topic for its first
	// push, so that a subscription the upstream rejects becomes an error of
	// Join rather than of the stream. Default 2s.
	FirstPushWait time.Duration
	// RetryMin and RetryMax bound the backoff between attempts to reopen a
	// feed that ended while readers remain. Defaults 500ms and 30s.
	RetryMin, RetryMax time.Duration
	// Cluster, when set, shares the topics with the other instances of
	// the cluster (Redis): one of them subscribes upstream, all mirror the
	// shared log. Nil: this hub is alone.
	Cluster Cluster
	// ReadyWait bounds how long Join waits for a shared topic's log to be
	// loaded. Default 3s.
	ReadyWait time.Duration
	// MaxTopics bounds the topics fed by an upstream subscription that
	// this hub holds at once (those in their grace period included), and
	// so the upstream subscriptions it opens. Default 1000.
	MaxTopics int
	// ClusterTick is the rhythm of a shared topic's upkeep: presence
	// heartbeat, a poll of the log (announcements make most polls
	// early), and the choice to follow the topic upstream or not. It must
	// be well below the Cluster's presence TTL. Leases are renewed on
	// their own rhythm, a sixth of the Cluster's LeaseTTL. Default 1s.
	ClusterTick time.Duration
	// Chain, when set, tells which topics follow the chain's height, so
	// that a renewed subscription continues their logs by height (see
	// continuation). Nil: renewals are judged by equality alone.
	Chain Chain
	// Render, when set, rewrites the data of each push before it enters
	// a topic's log, once for all its readers: the gateway writes the
	// amounts its clients cannot read exactly as JSON numbers as strings
	// of digits. It must be safe for concurrent use and return data
	// unchanged when it has nothing to rewrite.
	Render func(k Key, data json.RawMessage) json.RawMessage
}

func (c Config) withDefaults() Config {
	if c.Retention <= 0 {
		c.Retention = defaultRetention
	}
	if c.Grace <= 0 {
		c.Grace = defaultGrace
	}
	if c.FirstPushWait <= 0 {
		c.FirstPushWait = defaultFirstPushWait
	}
	if c.RetryMin <= 0 {
		c.RetryMin = defaultMinRetry
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(defaultMaxRetry, c.RetryMin)
	}
	if c.ReadyWait <= 0 {
		c.ReadyWait = 3 * time.Second
	}
	if c.ClusterTick <= 0 {
		c.ClusterTick = time.Second
	}
	if c.MaxTopics <= 0 {
		c.MaxTopics = defaultMaxTopics
	}
	return c
}

// Hub shares upstream subscriptions among readers: every Join of the same
// Key reads one topic fed by one upstream subscription, which ends a grace
// period after the last reader leaves. Publishing never waits for readers:
// each Member keeps its own cursor into the topic's retained events.
//
// Run owns the hub's goroutines; Join, Publish and Stats are safe for
// concurrent use.
type Hub struct {
	cfg      Config
	upstream Source
	logger   *slog.Logger

	mu     sync.Mutex // guards ctx, topics, fed
	ctx    context.Context
	topics map[string]*topic
	fed    int // topics fed by an upstream subscription
	wg     sync.WaitGroup
}

// NewHub returns a hub over upstream; Run starts it.
func NewHub(cfg Config, upstream Source, logger *slog.Logger) *Hub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{cfg: cfg.withDefaults(), upstream: upstream, logger: logger, topics: map[string]*topic{}}
}

// Run serves until ctx ends, then ends every topic (closing the upstream
// subscriptions) and waits for the hub's goroutines.
func (h *Hub) Run(ctx context.Context) error {
	h.mu.Lock()
	if h.ctx != nil {
		h.mu.Unlock()
		return errors.New("subscriptions: Hub.Run called twice")
	}
	h.ctx = ctx
	h.mu.Unlock()
	if c := h.cfg.Cluster; c != nil {
		h.dispatch(ctx, c.Announcements())
	}
	<-ctx.Done()
	h.mu.Lock()
	topics := h.topics
	h.topics, h.fed = map[string]*topic{}, 0
	h.mu.Unlock()
	for _, t := range topics {
		t.close(ErrClosed)
	}
	h.wg.Wait()
	return nil
}

// Join starts reading the topic of key, creating it (and its upstream
// subscription) if needed. lastEventID resumes after that event; empty
// starts with the latest retained event, the current state. On a new
// topic Join waits up to FirstPushWait for the first push, and returns the
// *TopicError if the upstream rejected the subscription.
func (h *Hub) Join(ctx context.Context, key Key, lastEventID string) (*Member, error) {
	afterMs, after, err := parseCursor(lastEventID)
	if err != nil {
		return nil, err
	}
	t, created, err := h.topicFor(key.Topic(), &key)
	if err != nil {
		return nil, err
	}
	if err := t.waitReady(ctx, h.cfg.ReadyWait); err != nil {
		return nil, err
	}
	if lastEventID != "" && h.cfg.Cluster != nil {
		// The reader may come from an instance whose copy of the log is
		// ahead of ours: catch up first, or it would see a gap and then
		// events it already has.
		t.catchUp(ctx, after, catchUpWait)
	}
	m := t.join(afterMs, after, lastEventID != "")
	if created {
		if t.empty() {
			wait := time.NewTimer(h.cfg.FirstPushWait)
			defer wait.Stop()
			select {
			case <-t.firstPush:
			case <-wait.C:
			case <-ctx.Done():
				m.Close()
				return nil, ctx.Err()
			}
		}
		// Also when the first push came before the check above: it may
		// be the rejection.
		if err := t.failure(); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// JoinLocal reads a topic fed by Publish rather than by an upstream, such as
// the Manager's notifications.
func (h *Hub) JoinLocal(name, lastEventID string) (*Member, error) {
	afterMs, after, err := parseCursor(lastEventID)
	if err != nil {
		return nil, err
	}
	t, _, err := h.topicFor(name, nil)
	if err != nil {
		return nil, err
	}
	return t.join(afterMs, after, lastEventID != ""), nil
}

// Publish appends an event to a local topic (see JoinLocal).
func (h *Hub) Publish(name, typ string, data []byte) error {
	t, _, err := h.topicFor(name, nil)
	if err != nil {
		return err
	}
	t.append(typ, data)
	return nil
}

// topicFor returns the topic called name, creating it when missing. key is
// nil for local topics.
//
// When the topics fed from upstream are at MaxTopics, the one idle the
// longest (no reader since, in its grace period) ends to make room: a topic
// nobody reads never keeps out one somebody would.
func (h *Hub) topicFor(name string, key *Key) (*topic, bool, error) {
	for range evictTries {
		t, created, idle, err := h.topicOrIdle(name, key)
		if idle == nil {
			return t, created, err
		}
		idle.evict()
	}
	return nil, false, ErrTooManyTopics
}

// evictTries bounds the topics one Join may end to make room, each of
// which another Join may have taken meanwhile.
const evictTries = 4

// topicOrIdle is topicFor's step under h.mu: the topic, or, when the
// topics are at MaxTopics, the one to end first (nil: none idle, and
// ErrTooManyTopics).
func (h *Hub) topicOrIdle(name string, key *Key) (t *topic, created bool, idle *topic, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil || h.ctx.Err() != nil {
		return nil, false, nil, ErrClosed
	}
	if t, ok := h.topics[name]; ok {
		return t, false, nil, nil
	}
	if key != nil && h.fed >= h.cfg.MaxTopics {
		var since int64
		for _, c := range h.topics {
			if at := c.idleSince.Load(); c.key != nil && at != 0 && (idle == nil || at < since) {
				idle, since = c, at
			}
		}
		if idle == nil {
			return nil, false, nil, ErrTooManyTopics
		}
		return nil, false, idle, nil
	}
	t = newTopic(h, name, key)
	h.topics[name] = t
	if key != nil {
		h.fed++
		ctx, cancel := context.WithCancel(h.ctx)
		t.cancel = cancel
		h.wg.Add(1)
		go func(t *topic) {
			defer h.wg.Done()
			if h.cfg.Cluster != nil {
				t.clusterLoop(ctx)
			} else {
				t.produce(ctx)
			}
		}(t)
	}
	return t, true, nil, nil
}

// dispatch hands the cluster's announcements to the local topics until ctx
// ends.
func (h *Hub) dispatch(ctx context.Context, ann <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case name := <-ann:
			h.mu.Lock()
			t := h.topics[name]
			h.mu.Unlock()
			if t != nil {
				select {
				case t.announce <- struct{}{}:
				default: // a poll is already due
				}
			}
		}
	}
}

// remove forgets t if it is still the topic of its name.
func (h *Hub) remove(t *topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.topics[t.name] == t {
		delete(h.topics, t.name)
		if t.key != nil {
			h.fed--
		}
	}
}

// snapshot returns the hub's topics now, for a caller to look at one at a
// time without Hub.mu (see the lock order in doc.go).
func (h *Hub) snapshot() []*topic {
	h.mu.Lock()
	defer h.mu.Unlock()
	topics := make([]*topic, 0, len(h.topics))
	for _, t := range h.topics {
		topics = append(topics, t)
	}
	return topics
}

// Grace returns how long a topic outlives its last reader (Config.Grace).
func (h *Hub) Grace() time.Duration { return h.cfg.Grace }

// Stats counts the hub's topics and readers.
type Stats struct {
	Topics  int
	Members int
}

// Stats returns the current counts.
func (h *Hub) Stats() Stats {
	topics := h.snapshot()
	s := Stats{Topics: len(topics)}
	for _, t := range topics {
		t.mu.Lock()
		s.Members += t.members
		t.mu.Unlock()
	}
	return s
}

// parseCursor splits a Last-Event-ID into the time and the sequence number
// of the event to read after.
func parseCursor(lastEventID string) (int64, uint64, error) {
	if lastEventID == "" {
		return 0, 0, nil
	}
	ms, seq, err := ParseID(lastEventID)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrBadEventID, err)
	}
	return ms, seq, nil
}
