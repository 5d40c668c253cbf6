package subscriptions

import (
	"context"
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
	// Done is set once the answer is stored.
	Done bool
	// Status, Header and Body are the HTTP answer of a done call.
	Status int
	Header map[string]string
	Body   []byte
}

// Calls keeps CallRecords and idempotency keys. Implementations are safe for
// concurrent use.
type Calls interface {
	// Begin records a call in flight until ttl.
	Begin(ctx context.Context, rec CallRecord, ttl time.Duration) error
	// Finish stores a call's answer for keep, or forgets the call when
	// keep is 0.
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

// MemoryCalls is Calls for one instance.
type MemoryCalls struct {
	mu    sync.Mutex // guards calls, keys
	calls map[string]memCall
	keys  map[string]memKey
}

type memCall struct {
	rec     CallRecord
	expires time.Time
}

type memKey struct {
	id, fingerprint string
	expires         time.Time
}

var _ Calls = (*MemoryCalls)(nil)

// NewMemoryCalls returns an empty store. Expired entries are dropped as new
// ones come, so memory stays bounded by the calls of the last TTL.
func NewMemoryCalls() *MemoryCalls {
	return &MemoryCalls{calls: map[string]memCall{}, keys: map[string]memKey{}}
}

// sweepLocked drops expired entries. mc.mu must be held.
func (mc *MemoryCalls) sweepLocked(now time.Time) {
	for id, c := range mc.calls {
		if now.After(c.expires) {
			delete(mc.calls, id)
		}
	}
	for k, v := range mc.keys {
		if now.After(v.expires) {
			delete(mc.keys, k)
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
	if len(mc.calls)%1024 == 1023 {
		mc.sweepLocked(now)
	}
	mc.calls[rec.ID] = memCall{rec: rec, expires: now.Add(ttl)}
	return nil
}

// Finish implements Calls.
func (mc *MemoryCalls) Finish(_ context.Context, rec CallRecord, keep time.Duration) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if keep <= 0 {
		delete(mc.calls, rec.ID)
		return nil
	}
	rec.Done = true
	rec.Header = maps.Clone(rec.Header)
	mc.calls[rec.ID] = memCall{rec: rec, expires: time.Now().Add(keep)}
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
	if len(mc.keys)%1024 == 1023 {
		mc.sweepLocked(now)
	}
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
