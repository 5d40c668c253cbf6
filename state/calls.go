package state

import (
	"container/heap"
	"context"
	"errors"
	"maps"
	"sync"
	"time"
)

// CallRecord is one call the gateway makes upstream: while it runs
// (Method, Instance, Deadline) and, for asynchronous and idempotent calls,
// the HTTP answer it produced.
type CallRecord struct {
	ID       string
	Method   string
	Instance string
	// Owner names the caller the answer belongs to (a credential), or is
	// empty when anyone holding the ID may read it.
	Owner    string
	Deadline time.Time
	// Client names the caller whose share of the kept answers the answer
	// takes (see Calls.Reserve): set for the calls whose answer is kept,
	// empty for the others. It is not stored with the record.
	Client string
	// Done is set once the answer is stored.
	Done bool
	// Status, Header and Body are the HTTP answer of a done call.
	Status int
	Header map[string]string
	Body   []byte
}

// AnswerOverhead is the least a kept answer counts against the bounds:
// about what its record costs beside its body and headers.
const AnswerOverhead = 1024

// AnswerSize is what rec's answer counts against the bounds: its body,
// headers and names, at least AnswerOverhead.
func AnswerSize(rec CallRecord) int64 {
	n := len(rec.Body) + len(rec.ID) + len(rec.Method) + len(rec.Instance) + len(rec.Owner)
	for k, v := range rec.Header {
		n += len(k) + len(v)
	}
	return max(int64(n), AnswerOverhead)
}

// AnswerBounds bound the answers a Calls store keeps (those of the records
// with a Client), from the moment their call starts: how many, and how many
// bytes (AnswerSize), per client and in all. A zero field is no bound.
type AnswerBounds struct {
	PerClient      int
	PerClientBytes int64
	Total          int
	TotalBytes     int64
}

// QuotaError refuses room for an answer beyond a bound.
type QuotaError struct {
	// Total is set when the bound of all clients together refused it;
	// else the client's share did.
	Total bool
	// RetryAfter is when a room of the bound that refused expires (a
	// hint: at least a second).
	RetryAfter time.Duration
}

func (e *QuotaError) Error() string {
	if e.Total {
		return "state: as many answers are kept as the gateway keeps"
	}
	return "state: this client has as many answers kept as one client may"
}

// Calls keeps CallRecords and idempotency keys. Implementations are safe for
// concurrent use.
type Calls interface {
	// Begin records a call in flight until ttl.
	Begin(ctx context.Context, rec CallRecord, ttl time.Duration) error
	// Reserve makes room until ttl for the answer of the call rec: bytes
	// (at least AnswerOverhead) counted against the share of rec.Client
	// and the total, within b. The gateway reserves AnswerOverhead when a
	// call whose answer it keeps starts, and the answer's size when it
	// finishes; a call that has a room has it resized. Beyond a bound it
	// returns a *QuotaError and changes nothing. Finish with keep 0 frees
	// the room.
	Reserve(ctx context.Context, rec CallRecord, bytes int64, ttl time.Duration, b AnswerBounds) error
	// Finish stores a call's answer for keep, or forgets the call (and
	// frees its room) when keep is 0. A record with a Client is kept only
	// within the room reserved for it.
	Finish(ctx context.Context, rec CallRecord, keep time.Duration) error
	// Get returns a record and whether it exists.
	Get(ctx context.Context, id string) (CallRecord, bool, error)
	// Claim binds an idempotency key to a call for ttl. When the key is
	// already bound it returns the call and request fingerprint bound to it
	// and claimed false.
	Claim(ctx context.Context, key, fingerprint, id string, ttl time.Duration) (boundID, boundFingerprint string, claimed bool, err error)
	// Release unbinds an idempotency key, so that a retry runs the call
	// again (its first answer was not final).
	Release(ctx context.Context, key string) error
	// Extend makes an idempotency key live ttl from now: as long as the
	// answer bound to it.
	Extend(ctx context.Context, key string, ttl time.Duration) error
}

// ErrNoRoom refuses to keep an answer larger than the room reserved for it
// (see Calls.Reserve).
var ErrNoRoom = errors.New("state: no room reserved for this answer")

// MemoryCalls is Calls for one instance. The answers it keeps stay within
// their rooms, and so within the bounds given to Reserve.
type MemoryCalls struct {
	mu     sync.Mutex // guards calls, keys, expiry, shares, total
	calls  map[string]memCall
	keys   map[string]memKey
	expiry expiryHeap
	shares map[string]*memShare
	total  memShare
}

type memCall struct {
	rec     CallRecord
	expires time.Time
	// room is the bytes reserved for the answer (0: none), counted in the
	// share of client.
	room   int64
	client string
}

// memShare counts the rooms of one client, or of all.
type memShare struct {
	count int
	bytes int64
	ids   map[string]struct{} // a client's rooms (nil for the total)
}

type memKey struct {
	id, fingerprint string
	expires         time.Time
}

var _ Calls = (*MemoryCalls)(nil)

// NewMemoryCalls returns an empty store. Expired records leave as new
// operations come, so memory stays bounded by the records of the last TTL,
// and the kept answers by the bounds given to Reserve.
func NewMemoryCalls() *MemoryCalls {
	return &MemoryCalls{calls: map[string]memCall{}, keys: map[string]memKey{}, shares: map[string]*memShare{}}
}

// expiryHeap orders the records by expiry; an entry whose record has
// another expiry since is stale, and skipped.
type expiryHeap []expiryEntry

type expiryEntry struct {
	at time.Time
	id string
}

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// setLocked stores c under id, and when it expires. mc.mu must be held.
func (mc *MemoryCalls) setLocked(id string, c memCall) {
	if old, ok := mc.calls[id]; !ok || !old.expires.Equal(c.expires) {
		heap.Push(&mc.expiry, expiryEntry{at: c.expires, id: id})
	}
	mc.calls[id] = c
}

// deleteLocked forgets the record id and frees its room. mc.mu must be
// held.
func (mc *MemoryCalls) deleteLocked(id string) {
	c, ok := mc.calls[id]
	if !ok {
		return
	}
	delete(mc.calls, id)
	if c.room > 0 {
		sh := mc.shares[c.client]
		sh.count--
		sh.bytes -= c.room
		delete(sh.ids, id)
		if sh.count == 0 {
			delete(mc.shares, c.client)
		}
		mc.total.count--
		mc.total.bytes -= c.room
	}
}

// sweepLocked drops the records expired at now, and the expired keys
// from time to time. mc.mu must be held.
func (mc *MemoryCalls) sweepLocked(now time.Time) {
	for len(mc.expiry) > 0 && now.After(mc.expiry[0].at) {
		e := heap.Pop(&mc.expiry).(expiryEntry)
		if c, ok := mc.calls[e.id]; ok && c.expires.Equal(e.at) {
			mc.deleteLocked(e.id)
		}
	}
	// A record's expiry moves at most twice (Begin, Reserve, Finish):
	// stale entries are few, but never left to pile up.
	if len(mc.expiry) > 4*len(mc.calls)+1024 {
		mc.expiry = mc.expiry[:0]
		for id, c := range mc.calls {
			mc.expiry = append(mc.expiry, expiryEntry{at: c.expires, id: id})
		}
		heap.Init(&mc.expiry)
	}
	if len(mc.keys)%1024 == 1023 {
		for k, v := range mc.keys {
			if now.After(v.expires) {
				delete(mc.keys, k)
			}
		}
	}
}

// Local reports that every operation is done in this process and never
// waits: callers need not bound it with a deadline.
func (*MemoryCalls) Local() bool { return true }

// Begin implements Calls.
func (mc *MemoryCalls) Begin(_ context.Context, rec CallRecord, ttl time.Duration) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	now := time.Now()
	mc.sweepLocked(now)
	c := mc.calls[rec.ID] // its room, if reserved
	c.rec, c.expires = rec, now.Add(ttl)
	mc.setLocked(rec.ID, c)
	return nil
}

// Reserve implements Calls.
func (mc *MemoryCalls) Reserve(_ context.Context, rec CallRecord, bytes int64, ttl time.Duration, b AnswerBounds) error {
	bytes = max(bytes, AnswerOverhead)
	mc.mu.Lock()
	defer mc.mu.Unlock()
	now := time.Now()
	mc.sweepLocked(now)
	c, ok := mc.calls[rec.ID]
	if !ok {
		c.rec = rec
	}
	if c.room > 0 && c.client != rec.Client {
		mc.deleteLocked(rec.ID) // another client's room: not to be moved
		c = memCall{rec: rec}
	}
	sh := mc.shares[rec.Client]
	if sh == nil {
		sh = &memShare{ids: map[string]struct{}{}}
	}
	grow, more := bytes-c.room, 0
	if c.room == 0 {
		more = 1
	}
	switch {
	case b.PerClient > 0 && sh.count+more > b.PerClient, b.PerClientBytes > 0 && grow > 0 && sh.bytes+grow > b.PerClientBytes:
		return &QuotaError{RetryAfter: mc.retryLocked(now, rec.Client)}
	case b.Total > 0 && mc.total.count+more > b.Total, b.TotalBytes > 0 && grow > 0 && mc.total.bytes+grow > b.TotalBytes:
		return &QuotaError{Total: true, RetryAfter: mc.retryLocked(now, "")}
	}
	mc.shares[rec.Client] = sh
	sh.ids[rec.ID] = struct{}{}
	sh.count += more
	sh.bytes += grow
	mc.total.count += more
	mc.total.bytes += grow
	c.room, c.client = bytes, rec.Client
	if exp := now.Add(ttl); exp.After(c.expires) || more == 1 {
		c.expires = exp
	}
	mc.setLocked(rec.ID, c)
	return nil
}

// retryLocked is about when a room of client (of any client: "") expires,
// at least a second from now: a hint. mc.mu must be held.
func (mc *MemoryCalls) retryLocked(now time.Time, client string) time.Duration {
	var first time.Time
	if sh := mc.shares[client]; client != "" && sh != nil {
		for id := range sh.ids {
			if c := mc.calls[id]; first.IsZero() || c.expires.Before(first) {
				first = c.expires
			}
		}
	} else if len(mc.expiry) > 0 {
		first = mc.expiry[0].at // the first record to expire, room or not
	}
	return max(first.Sub(now), time.Second)
}

// Finish implements Calls.
func (mc *MemoryCalls) Finish(_ context.Context, rec CallRecord, keep time.Duration) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	now := time.Now()
	mc.sweepLocked(now)
	if keep <= 0 {
		mc.deleteLocked(rec.ID)
		return nil
	}
	c := mc.calls[rec.ID]
	if rec.Client != "" && (c.room == 0 || c.client != rec.Client || c.room < AnswerSize(rec)) {
		return ErrNoRoom
	}
	rec.Done = true
	rec.Client = ""
	rec.Header = maps.Clone(rec.Header)
	c.rec, c.expires = rec, now.Add(keep)
	mc.setLocked(rec.ID, c)
	return nil
}

// Get implements Calls.
func (mc *MemoryCalls) Get(_ context.Context, id string) (CallRecord, bool, error) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	c, ok := mc.calls[id]
	if !ok || time.Now().After(c.expires) {
		return CallRecord{}, false, nil
	}
	return c.rec, true, nil
}

// Claim implements Calls.
func (mc *MemoryCalls) Claim(_ context.Context, key, fingerprint, id string, ttl time.Duration) (string, string, bool, error) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	now := time.Now()
	if k, ok := mc.keys[key]; ok && now.Before(k.expires) {
		return k.id, k.fingerprint, false, nil
	}
	mc.sweepLocked(now)
	mc.keys[key] = memKey{id: id, fingerprint: fingerprint, expires: now.Add(ttl)}
	return id, fingerprint, true, nil
}

// Release implements Calls.
func (mc *MemoryCalls) Release(_ context.Context, key string) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	delete(mc.keys, key)
	return nil
}

// Extend implements Calls.
func (mc *MemoryCalls) Extend(_ context.Context, key string, ttl time.Duration) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if k, ok := mc.keys[key]; ok {
		k.expires = time.Now().Add(ttl)
		mc.keys[key] = k
	}
	return nil
}
