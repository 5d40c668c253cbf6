package slots

import (
	"errors"
	"sync"
	"time"
)

// Why Acquire refuses a stream. ErrFull is the gateway's bound (503); the
// others are the client's fair share (429).
var (
	ErrFull          = errors.New("too many streams")
	ErrClientStreams = errors.New("this client has as many streams open as one client may")
	ErrClientTopics  = errors.New("this client follows as many distinct subscriptions as one client may")
)

// Config are the bounds.
type Config struct {
	// Max is the streams open in all; PerClient those of one client;
	// PerClientTopics the distinct topics one client's streams follow.
	Max, PerClient, PerClientTopics int
	// Grace is how long a topic outlives its last stream (the hub's
	// grace period); 0 for none.
	Grace time.Duration
	// Lingers reports whether a topic outlives its last stream (one the
	// hub feeds from upstream); nil for all of them.
	Lingers func(topic string) bool
}

// Slots are the streams' places.
type Slots struct {
	cfg Config

	mu      sync.Mutex // guards total, clients, topics
	total   int
	clients map[string]*clientStreams
	topics  map[string]*topicStreams
}

// clientStreams is what one client holds.
type clientStreams struct {
	name    string
	streams int
	// topics are the topics of the client's streams, with their count;
	// 0 for a topic its last stream left, in its grace period.
	topics map[string]int
}

// topicStreams are the streams of one topic.
type topicStreams struct {
	name    string
	streams int
	// left is the client charged with the topic in its grace period
	// (streams 0), until expire fires; graces counts the grace periods,
	// so that a timer of an earlier one does nothing.
	left   string
	expire *time.Timer
	graces uint64
}

// New returns Slots with the bounds of cfg.
func New(cfg Config) *Slots {
	return &Slots{cfg: cfg, clients: map[string]*clientStreams{}, topics: map[string]*topicStreams{}}
}

func (ss *Slots) lingers(topic string) bool {
	return ss.cfg.Grace > 0 && (ss.cfg.Lingers == nil || ss.cfg.Lingers(topic))
}

// Acquire takes a slot for client's stream of topic, or says which bound
// refuses it.
func (ss *Slots) Acquire(client, topic string) (*Slot, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.total >= ss.cfg.Max {
		return nil, ErrFull
	}
	c := ss.clients[client]
	if c == nil {
		c = &clientStreams{name: client, topics: map[string]int{}}
	}
	if c.streams >= ss.cfg.PerClient {
		return nil, ErrClientStreams
	}
	if _, ok := c.topics[topic]; !ok && len(c.topics) >= ss.cfg.PerClientTopics {
		return nil, ErrClientTopics
	}
	ts := ss.topics[topic]
	if ts == nil {
		ts = &topicStreams{name: topic}
		ss.topics[topic] = ts
	}
	if ts.left != "" {
		// Out of its grace period: no longer the leaver's to bear
		// (unless the leaver is this client, which bears it anyway).
		ts.expire.Stop()
		if ts.left != client {
			ss.unchargeLocked(ts.left, topic)
		}
		ts.left, ts.expire = "", nil
	}
	ts.streams++
	ss.clients[client] = c
	c.streams++
	c.topics[ts.name]++
	ss.total++
	return &Slot{ss: ss, c: c, ts: ts}, nil
}

// unchargeLocked takes topic, in its grace period, out of client's share.
// ss.mu must be held.
func (ss *Slots) unchargeLocked(client, topic string) {
	c := ss.clients[client]
	if c == nil || c.topics[topic] != 0 {
		return
	}
	delete(c.topics, topic)
	if c.streams == 0 && len(c.topics) == 0 {
		delete(ss.clients, client)
	}
}

// Count returns the streams open.
func (ss *Slots) Count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.total
}

// Slot is one stream's place. It points to its client's and its topic's
// counts, which live as long as it does (it counts in them), rather than
// keep its own copies of their names: thousands of a topic's streams share
// one.
type Slot struct {
	ss   *Slots
	c    *clientStreams
	ts   *topicStreams
	once sync.Once
}

// Release frees the slot; calls after the first do nothing.
func (sl *Slot) Release() {
	sl.once.Do(func() {
		ss, c, ts := sl.ss, sl.c, sl.ts
		topic := ts.name
		ss.mu.Lock()
		defer ss.mu.Unlock()
		ss.total--
		c.streams--
		c.topics[topic]--
		ts.streams--
		switch {
		case ts.streams > 0:
			// Others read it: it is not in its grace period.
			if c.topics[topic] == 0 {
				delete(c.topics, topic)
			}
		case ss.lingers(topic):
			// The last stream: the topic stays in this client's share
			// (c.topics[topic] 0) for the grace period.
			ts.left = c.name
			ts.graces++
			n := ts.graces
			ts.expire = time.AfterFunc(ss.cfg.Grace, func() { ss.expire(topic, ts, n) })
		default:
			delete(c.topics, topic)
			delete(ss.topics, topic)
		}
		if c.streams == 0 && len(c.topics) == 0 {
			delete(ss.clients, c.name)
		}
	})
}

// expire ends the grace period n of ts, the streams of topic, if it is
// still on.
func (ss *Slots) expire(topic string, ts *topicStreams, n uint64) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.topics[topic] != ts || ts.graces != n || ts.left == "" {
		return
	}
	ss.unchargeLocked(ts.left, topic)
	delete(ss.topics, topic)
}
