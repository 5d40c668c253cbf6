// Package upstream is the NULS side of the gateway: the module network it
// calls, whatever the topology, and what it learns of it.
//
//   - Direct is topology T1: one endpoint serves every method (a Nulstar
//     Connector, a Java module, the simulated node), over one multiplexed
//     connection.
//   - Managed is T2: the gateway registers with a Manager as a module, and
//     routes each method to the module that serves it (CallEach calls one
//     on all of them).
//   - Listing discovers the methods (ListAPI, GetConsolidatedAPI), or takes
//     them from the catalog when the upstream lists none, and keeps the
//     policy's decision of each (package policy).
//   - Feeds opens the subscriptions behind the streams (package
//     subscriptions): pushed by the upstream, or polled by the gateway
//     (Polled decides which, in one place), or derived from another one
//     (newHeaders, accountBalance).
//
// It knows nothing of HTTP: a failure a stream must tell is rendered by the
// hook Feeds.RenderError, the gateway's problem document.
//
// # Concurrency
//
// Direct, Managed and Listing are safe for concurrent use. Listing.Run owns
// the listing's refreshes (lock order: Listing.refresh, then Listing.mu);
// each feed owns one goroutine, which its Close stops.
package upstream
