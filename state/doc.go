// Package state is the gateway's shared state other than subscriptions
// (package subscriptions): what lets several instances act as one for calls
// and definitions, each with a memory implementation (one instance, the
// tests) and a Redis one (a cluster).
//
//   - Calls records the calls in flight (method, instance, deadline), keeps
//     the answers of asynchronous and idempotent calls within their bounds
//     (per client and in all, by count and bytes: Reserve, answers.lua in
//     Redis), and binds the Idempotency-Keys.
//   - Documents keeps named JSON documents: the compound methods' definitions
//     and the method list an instance discovered, for those whose upstream
//     cannot list.
//
// # Concurrency
//
// Every implementation is safe for concurrent use. MemoryCalls and
// MemoryDocuments each guard their maps with one mutex; the Redis ones hold
// no lock, and each operation is one round trip (a script where it must be
// atomic), bounded by their operation timeout.
package state
