package compound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/nuls-gateway/nuls-gateway/state"
)

// Store keeps the compound methods. Implementations are safe for
// concurrent use.
type Store interface {
	// Add stores c; it fails with ErrExists when the name is taken.
	Add(ctx context.Context, c Definition) error
	// Get returns the compound method called name, and whether it exists.
	Get(ctx context.Context, name string) (Definition, bool, error)
	// List returns every compound method, sorted by name.
	List(ctx context.Context) ([]Definition, error)
	// Delete removes one; it reports whether it existed.
	Delete(ctx context.Context, name string) (bool, error)
}

// ErrExists reports a compound method name already taken.
var ErrExists = errors.New("compound: compound method exists")

// ErrUnavailable reports a store that cannot be reached (Redis away).
var ErrUnavailable = errors.New("compound: the store is unavailable")

// MemoryStore is a Store in memory, for one instance.
type MemoryStore struct {
	mu sync.RWMutex // guards m
	m  map[string]Definition
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]Definition{}} }

// Add implements Store.
func (s *MemoryStore) Add(_ context.Context, c Definition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[c.Name]; ok {
		return ErrExists
	}
	s.m[c.Name] = c
	return nil
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, name string) (Definition, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.m[name]
	return c, ok, nil
}

// List implements Store.
func (s *MemoryStore) List(context.Context) ([]Definition, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Definition, 0, len(s.m))
	for _, c := range s.m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[name]
	delete(s.m, name)
	return ok, nil
}

// DocumentStore keeps the compound methods in shared documents (Redis),
// so that every instance serves the same ones.
type DocumentStore struct {
	Docs state.Documents
}

var _ Store = DocumentStore{}

// Add implements Store.
func (d DocumentStore) Add(ctx context.Context, c Definition) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	ok, err := d.Docs.Add(ctx, c.Name, b)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if !ok {
		return ErrExists
	}
	return nil
}

// Get implements Store.
func (d DocumentStore) Get(ctx context.Context, name string) (Definition, bool, error) {
	b, ok, err := d.Docs.Get(ctx, name)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return Definition{}, false, err
	}
	var c Definition
	if err := json.Unmarshal(b, &c); err != nil {
		return Definition{}, false, err
	}
	return c, true, nil
}

// List implements Store.
func (d DocumentStore) List(ctx context.Context) ([]Definition, error) {
	docs, err := d.Docs.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	out := make([]Definition, 0, len(docs))
	for _, b := range docs {
		var c Definition
		if json.Unmarshal(b, &c) == nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements Store.
func (d DocumentStore) Delete(ctx context.Context, name string) (bool, error) {
	ok, err := d.Docs.Delete(ctx, name)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return ok, nil
}
