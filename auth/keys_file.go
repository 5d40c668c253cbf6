package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// keyFileReload is how often a key file is checked for changes.
const keyFileReload = 2 * time.Second

// keyFile is the JSON form of a key file.
type keyFile struct {
	Keys []KeyRecord `json:"keys"`
}

// FileKeys is a KeyStore and KeyAdmin kept in a JSON file
// ({"keys": [KeyRecord, ...]}). The gateway reads it at start and again
// whenever it changes (Run), so that keys added or revoked with the keys
// subcommand take effect within seconds; a file that no longer parses
// leaves the last good keys in force, and is logged.
type FileKeys struct {
	path   string
	logger *slog.Logger

	mu      sync.RWMutex // guards keys, modTime, size
	keys    map[string]KeyRecord
	modTime time.Time
	size    int64
}

var (
	_ KeyStore = (*FileKeys)(nil)
	_ KeyAdmin = (*FileKeys)(nil)
)

// OpenKeyFile reads the key file at path. A missing file is an error unless
// create is set, for the keys subcommand's first add.
func OpenKeyFile(path string, create bool, logger *slog.Logger) (*FileKeys, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &FileKeys{path: path, logger: logger, keys: map[string]KeyRecord{}}
	err := f.reload()
	if errors.Is(err, fs.ErrNotExist) && create {
		return f, nil
	}
	return f, err
}

// reload reads the file if it changed since the last read.
func (f *FileKeys) reload() error {
	st, err := os.Stat(f.path)
	if err != nil {
		return err
	}
	f.mu.RLock()
	same := st.ModTime().Equal(f.modTime) && st.Size() == f.size
	f.mu.RUnlock()
	if same {
		return nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return err
	}
	keys, err := parseKeyFile(b)
	if err != nil {
		return fmt.Errorf("auth: key file %s: %w", f.path, err)
	}
	f.mu.Lock()
	f.keys, f.modTime, f.size = keys, st.ModTime(), st.Size()
	f.mu.Unlock()
	return nil
}

func parseKeyFile(b []byte) (map[string]KeyRecord, error) {
	var kf keyFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		return nil, err
	}
	keys := make(map[string]KeyRecord, len(kf.Keys))
	for _, r := range kf.Keys {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if _, dup := keys[r.ID]; dup {
			return nil, fmt.Errorf("key %s appears twice", r.ID)
		}
		keys[r.ID] = r
	}
	return keys, nil
}

// Run reloads the file when it changes, until ctx ends.
func (f *FileKeys) Run(ctx context.Context) error {
	t := time.NewTicker(keyFileReload)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := f.reload()
		switch {
		case err != nil && err.Error() != lastErr:
			f.logger.Error("key file not reloaded; the last keys read stay in force", slog.String("path", f.path), slog.Any("err", err))
			lastErr = err.Error()
		case err == nil && lastErr != "":
			f.logger.Info("key file reloaded", slog.String("path", f.path))
			lastErr = ""
		}
	}
}

// Lookup implements KeyStore.
func (f *FileKeys) Lookup(_ context.Context, id string) (KeyRecord, bool, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	r, ok := f.keys[id]
	return r, ok, nil
}

// Len returns the number of keys.
func (f *FileKeys) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.keys)
}

// Add implements KeyAdmin: the file is rewritten with the new record.
func (f *FileKeys) Add(_ context.Context, rec KeyRecord) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	return f.update(func(keys map[string]KeyRecord) error {
		if _, dup := keys[rec.ID]; dup {
			return fmt.Errorf("auth: key %s exists", rec.ID)
		}
		keys[rec.ID] = rec
		return nil
	})
}

// List implements KeyAdmin.
func (f *FileKeys) List(context.Context) ([]KeyRecord, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedRecords(f.keys), nil
}

// Revoke implements KeyAdmin: the file is rewritten without the record.
func (f *FileKeys) Revoke(_ context.Context, id string) (bool, error) {
	found := false
	err := f.update(func(keys map[string]KeyRecord) error {
		_, found = keys[id]
		delete(keys, id)
		return nil
	})
	return found, err
}

// update rereads the file, changes it and writes it back atomically
// (a temporary file renamed over it), readable by its owner only.
func (f *FileKeys) update(change func(map[string]KeyRecord) error) error {
	if err := f.reload(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make(map[string]KeyRecord, len(f.keys)+1)
	for id, r := range f.keys {
		keys[id] = r
	}
	if err := change(keys); err != nil {
		return err
	}
	b, err := json.MarshalIndent(keyFile{Keys: sortedRecords(keys)}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".keys-*.json")
	if err != nil {
		return err
	}
	// Fails once the rename below has moved the file: nothing to remove then.
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close() // the write's error is the one to report
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close() // the chmod's error is the one to report
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return err
	}
	f.keys = keys
	if st, err := os.Stat(f.path); err == nil {
		f.modTime, f.size = st.ModTime(), st.Size()
	}
	return nil
}

func sortedRecords(keys map[string]KeyRecord) []KeyRecord {
	out := make([]KeyRecord, 0, len(keys))
	for _, r := range keys {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return slices.Clip(out)
}
