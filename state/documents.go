package state

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Documents is a named set of JSON documents every instance reads the same:
// the compound methods, the discovered method list. Implementations are safe
// for concurrent use.
type Documents interface {
	// Add stores doc under name unless the name is taken; it reports
	// whether it stored it.
	Add(ctx context.Context, name string, doc []byte) (bool, error)
	// Put stores doc under name, replacing what was there.
	Put(ctx context.Context, name string, doc []byte) error
	// Get returns the document called name and whether it exists.
	Get(ctx context.Context, name string) ([]byte, bool, error)
	// List returns every document by name.
	List(ctx context.Context) (map[string][]byte, error)
	// Delete removes a document and reports whether it existed.
	Delete(ctx context.Context, name string) (bool, error)
}

// MemoryDocuments is Documents for one instance.
type MemoryDocuments struct {
	mu   sync.RWMutex // guards docs
	docs map[string][]byte
}

var _ Documents = (*MemoryDocuments)(nil)

// NewMemoryDocuments returns an empty set.
func NewMemoryDocuments() *MemoryDocuments { return &MemoryDocuments{docs: map[string][]byte{}} }

// Add implements Documents.
func (d *MemoryDocuments) Add(_ context.Context, name string, doc []byte) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.docs[name]; ok {
		return false, nil
	}
	d.docs[name] = append([]byte(nil), doc...)
	return true, nil
}

// Put implements Documents.
func (d *MemoryDocuments) Put(_ context.Context, name string, doc []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.docs[name] = append([]byte(nil), doc...)
	return nil
}

// Get implements Documents.
func (d *MemoryDocuments) Get(_ context.Context, name string) ([]byte, bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	doc, ok := d.docs[name]
	return doc, ok, nil
}

// List implements Documents.
func (d *MemoryDocuments) List(context.Context) (map[string][]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return maps.Clone(d.docs), nil
}

// Delete implements Documents.
func (d *MemoryDocuments) Delete(_ context.Context, name string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.docs[name]
	delete(d.docs, name)
	return ok, nil
}

// RedisDocuments is Documents in one Redis hash.
type RedisDocuments struct {
	rdb     redis.UniversalClient
	key     string
	timeout time.Duration
}

var _ Documents = (*RedisDocuments)(nil)

// NewRedisDocuments returns the set stored in the hash key.
func NewRedisDocuments(rdb redis.UniversalClient, key string, opTimeout time.Duration) *RedisDocuments {
	if opTimeout <= 0 {
		opTimeout = defaultOpTimeout
	}
	return &RedisDocuments{rdb: rdb, key: key, timeout: opTimeout}
}

// Add implements Documents with HSETNX.
func (d *RedisDocuments) Add(ctx context.Context, name string, doc []byte) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	return d.rdb.HSetNX(ctx, d.key, name, doc).Result()
}

// Put implements Documents.
func (d *RedisDocuments) Put(ctx context.Context, name string, doc []byte) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	return d.rdb.HSet(ctx, d.key, name, doc).Err()
}

// Get implements Documents.
func (d *RedisDocuments) Get(ctx context.Context, name string) ([]byte, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	b, err := d.rdb.HGet(ctx, d.key, name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	return b, err == nil, err
}

// List implements Documents.
func (d *RedisDocuments) List(ctx context.Context) (map[string][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	m, err := d.rdb.HGetAll(ctx, d.key).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out, nil
}

// Delete implements Documents.
func (d *RedisDocuments) Delete(ctx context.Context, name string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	n, err := d.rdb.HDel(ctx, d.key, name).Result()
	return n > 0, err
}
