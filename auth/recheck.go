package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Why a credential checked again no longer holds.
var (
	errExpired = invalidToken(ReasonExpired, "the credential expired; authenticate again with a new one")
	errRevoked = invalidToken(ReasonRevoked, "the API key was revoked")
	errNarrow  = invalidToken(ReasonRevoked, "the API key's grants changed; authenticate again")
)

// keyBatchStore is a KeyStore that looks many IDs up at once (one Redis
// round trip), for Recheck.
type keyBatchStore interface {
	// LookupMany returns the records of the IDs it holds; an error
	// means it could not be asked about some of them (those not in the
	// map).
	LookupMany(ctx context.Context, ids []string) (map[string]KeyRecord, error)
}

// Recheck reports, for each of ps, whether the credential it was
// authenticated with still holds at now: nil, or why not: an *Error
// (invalid_token) when it expired, its API key was revoked or lost a scope
// or a method that ps had, and ErrUnavailable when the key stores cannot
// tell (fail closed). Anonymous callers always hold. A JWT cannot be
// revoked: only its expiry is checked. A stream ticket is checked as the
// credential it was issued for.
//
// Keys are looked up once per ID, through the stores' caches, so a
// revocation is seen as fast as new requests see it (within the key file's
// reload, or RedisKeys' freshness). It is cheap enough to run every second
// over every open stream.
func (a *Authenticator) Recheck(ctx context.Context, ps []*Principal, now time.Time) []error {
	errs := make([]error, len(ps))
	var ids []string
	seen := map[string]bool{}
	for i, p := range ps {
		switch {
		case p.Kind == KindAnonymous:
		case p.Kind != KindKey && p.Kind != KindJWT:
			errs[i] = invalidToken(ReasonMalformed, "unknown credential kind")
		case !p.Expires.IsZero() && !now.Before(p.Expires):
			errs[i] = errExpired
		case p.Kind == KindKey:
			id, ok := strings.CutPrefix(p.ID, "key:")
			if !ok {
				errs[i] = errRevoked
				continue
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return errs
	}
	recs, storeErr := a.currentKeys(ctx, ids)
	for i, p := range ps {
		if errs[i] != nil || p.Kind != KindKey {
			continue
		}
		id, _ := strings.CutPrefix(p.ID, "key:")
		rec, ok := recs[id]
		switch {
		case !ok && storeErr != nil:
			errs[i] = fmt.Errorf("%w: %v", ErrUnavailable, storeErr)
		case !ok:
			errs[i] = errRevoked
		case rec.Expires != nil && !now.Before(*rec.Expires):
			errs[i] = errExpired
		case !covers(rec, p):
			errs[i] = errNarrow
		}
	}
	return errs
}

// currentKeys returns the records the stores hold of ids, each from the
// first store that has it, as checkKey finds them. The error is a store's
// that could not be asked: an ID none of the others has may be there.
func (a *Authenticator) currentKeys(ctx context.Context, ids []string) (map[string]KeyRecord, error) {
	found := make(map[string]KeyRecord, len(ids))
	var storeErr error
	missing := ids
	for _, s := range a.keys {
		if len(missing) == 0 {
			break
		}
		if b, ok := s.(keyBatchStore); ok {
			recs, err := b.LookupMany(ctx, missing)
			if err != nil {
				storeErr = err
			}
			for id, rec := range recs {
				found[id] = rec
			}
		} else {
			for _, id := range missing {
				rec, ok, err := s.Lookup(ctx, id)
				switch {
				case err != nil:
					storeErr = err
				case ok:
					found[id] = rec
				}
			}
		}
		missing = slices.DeleteFunc(slices.Clone(missing), func(id string) bool { _, ok := found[id]; return ok })
	}
	return found, storeErr
}

// covers reports whether rec still grants what p was given: each of its
// scopes, and each method of its allow-list (every method when p had no
// list). A grant added since does not matter; a plan changed neither.
func covers(rec KeyRecord, p *Principal) bool {
	for _, s := range p.Scopes {
		if !slices.Contains(rec.Scopes, s) {
			return false
		}
	}
	if rec.Methods == nil {
		return true
	}
	if p.Methods == nil {
		return false
	}
	for _, m := range p.Methods {
		if !slices.Contains(rec.Methods, m) {
			return false
		}
	}
	return true
}
