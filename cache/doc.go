// Package cache answers the reads that can no longer change from memory
// and from Redis, instead of the node: a block, a header or a confirmed
// transaction once it is Depth blocks below the chain's tip. Explorers and
// wallets read mostly such data, again and again.
//
// What may be cached is decided by the command and its answer, never by
// the caller (rules.go): only the block and transaction commands that
// read by height or hash, only a success that names a height at or below
// Tip-Depth. Never a write, never a secret-bearing command, never an
// error. The entry is keyed by the command and its canonical parameters.
//
// A read goes to the in-process layer (bounded in bytes, least recently
// used out), then to Redis (shared by the instances, bounded in entries,
// lowest heights out), then to the node; identical reads in flight are one
// call to the node (coalesced). Redis away, the cache goes to the node.
// When the chain goes back (Rollback), every entry above the new tip is
// dropped from both layers.
//
// Concurrency: a Cache is safe for concurrent use. Its lock (Cache.mu)
// guards the in-process layer only and is never held across a call to
// Redis or the node. Tracker.Run is its only long-lived goroutine, owned by
// the caller's context.
package cache
