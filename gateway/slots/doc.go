// Package slots bounds the gateway's streams: in all, per client, and the
// distinct subscriptions (topics) each client follows, so that one client
// can neither take every stream nor make the gateway subscribe upstream
// without end.
//
// A topic outlives its last stream by the hub's grace period and holds its
// upstream subscription that long: so it stays in the share of the client
// whose stream left it last, for the grace period, unless a stream joins it
// again. Else a client could open and close distinct streams, each leaving
// a topic behind, and fill the hub.
//
// # Concurrency
//
// Slots is safe for concurrent use: one mutex guards its counts, taken by
// Acquire, Count, Slot.Release and the grace timers (time.AfterFunc), never
// held while calling out. A Slot's Release may be called from any
// goroutine, any number of times; it frees the slot once.
package slots
