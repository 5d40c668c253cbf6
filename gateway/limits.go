package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/auth"
	"github.com/nuls-gateway/nuls-gateway/ratelimit"
	"github.com/nuls-gateway/nuls-gateway/upstream"
)

// Rate limit headers (draft-ietf-httpapi-ratelimit-headers).
const (
	headerRateLimitPolicy = "RateLimit-Policy"
	headerRateLimit       = "RateLimit"
)

// rateLimitedError is a request beyond the caller's plan.
type rateLimitedError struct {
	plan  string
	retry int // seconds
}

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("rate limit of plan %s exceeded; retry in %ds", e.plan, e.retry)
}

// clientKey names the caller for rate limits and fair shares: its
// credential, or its address when anonymous.
func (s *Server) clientKey(r *http.Request, p *auth.Principal) string {
	if p.ID != "" {
		return p.ID
	}
	return "ip:" + s.guard.ClientIP(r)
}

// planOf is the caller's rate plan: its own, else the default one (the
// anonymous one for anonymous callers). A plan name nobody configured (a
// JWT's claim, say) gets the default plan.
func (s *Server) planOf(p *auth.Principal) ratelimit.Plan {
	name := p.Plan
	if name == "" {
		name = s.cfg.DefaultPlan
		if p.Anonymous() {
			name = s.cfg.AnonymousPlan
		}
	}
	if plan, ok := s.cfg.Plans[name]; ok {
		return plan
	}
	return s.cfg.Plans[s.cfg.DefaultPlan]
}

// weight is what one call of method costs.
func (s *Server) weight(method string) int {
	if w, ok := s.cfg.Weights[method]; ok {
		return w
	}
	return 1
}

// admit spends cost units of the caller's quota and sets the RateLimit
// headers. Beyond the quota it returns a *rateLimitedError (429, with
// Retry-After set); when the limiter cannot tell, its error.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, p *auth.Principal, cost int) error {
	return s.admitAs(w, r, s.clientKey(r, p), s.planOf(p), cost)
}

// spend spends cost more units of p's quota for work a request asks as it
// goes (the nuls-api profile's calls after its first), without answering:
// beyond the quota it returns a *rateLimitedError for the caller to report.
func (s *Server) spend(r *http.Request, p *auth.Principal, cost int) error {
	plan := s.planOf(p)
	if s.cfg.Limiter == nil || plan.Unlimited() || cost <= 0 {
		return nil
	}
	res, err := s.cfg.Limiter.Allow(r.Context(), s.clientKey(r, p), plan, cost)
	if err != nil {
		return err
	}
	if !res.Allowed {
		s.metrics.RateLimited()
		return &rateLimitedError{plan: plan.Name, retry: res.RetryAfterSeconds()}
	}
	return nil
}

// admitAddress spends one unit of the address's anonymous quota.
func (s *Server) admitAddress(w http.ResponseWriter, r *http.Request) error {
	return s.admitAs(w, r, "ip:"+s.guard.ClientIP(r), s.cfg.Plans[s.cfg.AnonymousPlan], 1)
}

// meterAddress spends one unit of the address's anonymous quota per
// request of the routes it guards.
func (s *Server) meterAddress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.admitAddress(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) admitAs(w http.ResponseWriter, r *http.Request, key string, plan ratelimit.Plan, cost int) error {
	if s.cfg.Limiter == nil || plan.Unlimited() {
		return nil
	}
	res, err := s.cfg.Limiter.Allow(r.Context(), key, plan, cost)
	if err != nil {
		return err
	}
	if res.Local {
		s.metrics.RateLimitedLocally()
	}
	policy, ok := s.policies[plan.Name]
	if !ok {
		policy = []string{plan.PolicyHeader()}
	}
	h := w.Header()
	h[headerRateLimitPolicy] = policy
	h[headerRateLimit] = []string{res.StateHeader(plan)}
	if !res.Allowed {
		s.metrics.RateLimited()
		h.Set("Retry-After", strconv.Itoa(res.RetryAfterSeconds()))
		return &rateLimitedError{plan: plan.Name, retry: res.RetryAfterSeconds()}
	}
	return nil
}

// Fair shares of the streams.
var (
	errClientStreams = errors.New("this client has as many streams open as one client may")
	errClientTopics  = errors.New("this client follows as many distinct subscriptions as one client may")
)

// streamSlots bounds the streams: in all, per client, and the distinct
// subscriptions (topics) per client, so that one client can neither take
// every stream slot nor make the gateway subscribe upstream without end.
//
// A topic outlives its last stream by the hub's grace period, and holds its
// upstream subscription (and a place among the hub's --max-topics) that
// long: so it stays in the share of the client whose stream left it last,
// for grace, unless a stream joins it again. Else a client could open and
// close distinct streams, each leaving a topic behind, and fill the hub.
type streamSlots struct {
	max, perClient, perClientTopics int
	grace                           time.Duration

	mu      sync.Mutex // guards total, clients, topics
	total   int
	clients map[string]*clientStreams
	topics  map[string]*topicStreams
}

// clientStreams is what one client holds.
type clientStreams struct {
	streams int
	// topics are the topics of the client's streams, with their count;
	// 0 for a topic its last stream left, in its grace period.
	topics map[string]int
}

// topicStreams are the streams of one topic.
type topicStreams struct {
	streams int
	// left is the client charged with the topic in its grace period
	// (streams 0), until expire fires; graces counts the grace periods,
	// so that a timer of an earlier one does nothing.
	left   string
	expire *time.Timer
	graces uint64
}

func newStreamSlots(total, perClient, perClientTopics int, grace time.Duration) *streamSlots {
	return &streamSlots{max: total, perClient: perClient, perClientTopics: perClientTopics, grace: grace,
		clients: map[string]*clientStreams{}, topics: map[string]*topicStreams{}}
}

// lingers reports whether a topic outlives its last stream: a hub topic
// fed from upstream, not the notifications' nor a socket's slot.
func lingers(topic string) bool { return topic != upstream.NotificationsTopic && topic != socketTopic }

// acquire takes a slot for client's stream of topic, or says which bound
// refuses it.
func (ss *streamSlots) acquire(client, topic string) (*streamSlot, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.total >= ss.max {
		return nil, errTooManyStreams
	}
	c := ss.clients[client]
	if c == nil {
		c = &clientStreams{topics: map[string]int{}}
	}
	if c.streams >= ss.perClient {
		return nil, errClientStreams
	}
	if _, ok := c.topics[topic]; !ok && len(c.topics) >= ss.perClientTopics {
		return nil, errClientTopics
	}
	ts := ss.topics[topic]
	if ts == nil {
		ts = &topicStreams{}
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
	c.topics[topic]++
	ss.total++
	return &streamSlot{ss: ss, client: client, topic: topic}, nil
}

// unchargeLocked takes topic, in its grace period, out of client's share.
// ss.mu must be held.
func (ss *streamSlots) unchargeLocked(client, topic string) {
	c := ss.clients[client]
	if c == nil || c.topics[topic] != 0 {
		return
	}
	delete(c.topics, topic)
	if c.streams == 0 && len(c.topics) == 0 {
		delete(ss.clients, client)
	}
}

// count returns the streams open.
func (ss *streamSlots) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.total
}

// streamSlot is one stream's place; release frees it once.
type streamSlot struct {
	ss            *streamSlots
	client, topic string
	once          sync.Once
}

func (sl *streamSlot) release() {
	sl.once.Do(func() {
		ss := sl.ss
		ss.mu.Lock()
		defer ss.mu.Unlock()
		ss.total--
		c := ss.clients[sl.client]
		c.streams--
		c.topics[sl.topic]--
		ts := ss.topics[sl.topic]
		ts.streams--
		switch {
		case ts.streams > 0:
			// Others read it: it is not in its grace period.
			if c.topics[sl.topic] == 0 {
				delete(c.topics, sl.topic)
			}
		case lingers(sl.topic) && ss.grace > 0:
			// The last stream: the topic stays in this client's share
			// (c.topics[topic] 0) for the grace period.
			ts.left = sl.client
			ts.graces++
			n := ts.graces
			ts.expire = time.AfterFunc(ss.grace, func() { ss.expire(sl.topic, ts, n) })
		default:
			delete(c.topics, sl.topic)
			delete(ss.topics, sl.topic)
		}
		if c.streams == 0 && len(c.topics) == 0 {
			delete(ss.clients, sl.client)
		}
	})
}

// expire ends the grace period n of ts, the streams of topic, if it is
// still on.
func (ss *streamSlots) expire(topic string, ts *topicStreams, n uint64) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.topics[topic] != ts || ts.graces != n || ts.left == "" {
		return
	}
	ss.unchargeLocked(ts.left, topic)
	delete(ss.topics, topic)
}
