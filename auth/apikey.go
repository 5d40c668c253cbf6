package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// keyPrefix starts every API key, so that a key is told from a JWT at a
// glance, and secret scanners can find leaked ones.
const keyPrefix = "ngw_"

// The shape of an API key: the prefix, a 16-hex-digit ID (what list and
// revoke name), "_" and 43 base64url characters of secret (256 bits).
const (
	keyIDLen     = 16
	keySecretLen = 43
	keyLen       = len(keyPrefix) + keyIDLen + 1 + keySecretLen
)

// keyID returns the ID of a well-formed key.
func keyID(key string) (string, bool) {
	if len(key) != keyLen || !strings.HasPrefix(key, keyPrefix) || key[len(keyPrefix)+keyIDLen] != '_' {
		return "", false
	}
	id := key[len(keyPrefix) : len(keyPrefix)+keyIDLen]
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	for _, c := range []byte(key[len(keyPrefix)+keyIDLen+1:]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-') {
			return "", false
		}
	}
	return id, true
}

// KeyRecord is what is stored of an API key: never the key itself.
type KeyRecord struct {
	// ID identifies the key (it is part of the key, and not secret).
	ID string `json:"id"`
	// Name is the operator's label for the key.
	Name string `json:"name,omitempty"`
	// Hash is the hex SHA-256 of the whole key. A key has 256 random bits,
	// so a fast hash is as safe as a slow one and costs a call nothing.
	Hash string `json:"hash"`
	// Scopes are the method scopes the key may call.
	Scopes []string `json:"scopes"`
	// Methods, when set, are the only methods the key may call.
	Methods []string `json:"methods,omitempty"`
	// Plan names the key's rate plan; empty means the default plan.
	Plan string `json:"plan,omitempty"`
	// Created is when the key was made.
	Created time.Time `json:"created"`
	// Expires, when set, is when the key stops working.
	Expires *time.Time `json:"expires,omitempty"`
}

// Validate checks a record read from a store or given to one.
func (r KeyRecord) Validate() error {
	if len(r.ID) != 16 || strings.Trim(r.ID, "0123456789abcdef") != "" {
		return fmt.Errorf("auth: key id %q: want 16 hex digits", r.ID)
	}
	if b, err := hex.DecodeString(r.Hash); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("auth: key %s: hash is not a hex SHA-256", r.ID)
	}
	if len(r.Scopes) == 0 {
		return fmt.Errorf("auth: key %s has no scopes", r.ID)
	}
	for _, s := range r.Scopes {
		if !bridge.ValidScope(s) {
			return fmt.Errorf("auth: key %s: unknown scope %q", r.ID, s)
		}
	}
	return nil
}

// principal is the caller the record describes.
func (r KeyRecord) principal() *Principal {
	p := &Principal{ID: "key:" + r.ID, Kind: KindKey, Name: r.Name, Scopes: slices.Clone(r.Scopes), Plan: r.Plan}
	if r.Methods != nil {
		p.Methods = slices.Clone(r.Methods)
	}
	if r.Expires != nil {
		p.Expires = *r.Expires
	}
	return p
}

// NewKey makes a new API key for rec's grants; it fills rec's ID, Hash and
// Created, and returns the key, which is shown once and never stored.
func NewKey(rec KeyRecord) (string, KeyRecord, error) {
	var id [8]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", rec, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", rec, err
	}
	rec.ID = hex.EncodeToString(id[:])
	key := keyPrefix + rec.ID + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	rec.Hash = hashKey(key)
	if rec.Created.IsZero() {
		rec.Created = time.Now().UTC().Truncate(time.Second)
	}
	return key, rec, rec.Validate()
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// looksLikeKey reports whether a bearer credential is meant as an API key.
func looksLikeKey(s string) bool { return strings.HasPrefix(s, keyPrefix) }

// KeyStore finds API key records by ID.
type KeyStore interface {
	// Lookup returns the record of the key with that ID, and whether
	// there is one. An error means the store could not be asked.
	Lookup(ctx context.Context, id string) (KeyRecord, bool, error)
}

// KeyAdmin manages a store's keys (the gateway keys subcommand).
type KeyAdmin interface {
	// Add stores a new record.
	Add(ctx context.Context, rec KeyRecord) error
	// List returns every record, sorted by creation time.
	List(ctx context.Context) ([]KeyRecord, error)
	// Revoke deletes the record with that ID and reports whether it
	// existed.
	Revoke(ctx context.Context, id string) (bool, error)
}

// checkKey finds the record of key in stores, in order, and checks it.
func checkKey(ctx context.Context, stores []KeyStore, key string, now time.Time) (*Principal, error) {
	id, ok := keyID(key)
	if !ok {
		return nil, invalidToken(ReasonInvalidKey, "malformed API key")
	}
	var storeErr error
	for _, s := range stores {
		rec, ok, err := s.Lookup(ctx, id)
		if err != nil {
			storeErr = err
			continue
		}
		if !ok {
			continue
		}
		// Compare in constant time: the ID is public, the hash is not.
		if subtle.ConstantTimeCompare([]byte(rec.Hash), []byte(hashKey(key))) != 1 {
			return nil, invalidToken(ReasonInvalidKey, "unknown API key")
		}
		if rec.Expires != nil && !now.Before(*rec.Expires) {
			return nil, invalidToken(ReasonExpired, "the API key expired")
		}
		return rec.principal(), nil
	}
	if storeErr != nil {
		// Fail closed: a key the reachable stores do not have may be in
		// the one that is down.
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, storeErr)
	}
	return nil, invalidToken(ReasonInvalidKey, "unknown API key")
}

// ErrUnavailable reports that the credential could not be checked now (the
// key store is down); the caller may retry.
var ErrUnavailable = errors.New("auth: credential store unavailable")
