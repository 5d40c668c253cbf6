// Package bridge is a Go implementation of the NULS 2 module protocol: the
// JSON-over-WebSocket messages that NULS modules, the Nulstar Manager and
// Connector, and the Java kernel exchange.
//
// It covers both sides. As a client it is tolerant: it interoperates with the
// real Java modules and Nulstar as they behave on the wire (strings or numbers
// for every scalar, legacy casing, Java's Ack spelling, duplicate pushes,
// one Response per method). As a server it implements the documented
// semantics in full: consolidated multi-method Responses, event and period
// subscriptions, ranges, maximum response sizes, compound methods, method
// versions and the kernel commands.
//
// The decisions the package implements are in docs/protocol.md (section
// "Decisions D1 to D22", with the message types and what the real peers
// do); comments cite them as D1 to D22.
//
// # Pieces
//
//   - Message, Encode, Decode, DecodeStrict: the messages and their codec.
//   - Conn: one WebSocket connection (dialled or accepted) carrying messages.
//   - Peer: one connection seen from this side: calls to the other side, and
//     the module side of the connection when a Module serves it.
//   - Client: a reconnecting connection to a peer, with Call, CallMethods and
//     Subscribe.
//   - Module: the server side: handlers by name and version, served on
//     accepted connections (it is an http.Handler) and on Client connections.
//   - ManagerLink and Modules: registration with a Manager (RegisterAPI, the
//     role table) and one Client per module it names.
//
// # Trust
//
// The kernel commands stop a module and change its configuration (D17), so
// they are TrustedOnly methods: a module answers them only on a trusted
// connection, and to any other as if they did not exist. The Manager link's
// connection, the one the module opened to the Manager's URL, is trusted
// (ClientConfig.Trusted); a connection the module accepted is not, unless
// ModuleConfig.TrustAccepted says so, since nothing on it proves who opened
// it. ModuleConfig.TrustedCompounds keeps the registration of compound
// methods, which the module announces to its Manager, to trusted
// connections too.
//
// # Concurrency
//
// Encode and Decode are pure functions. Conn owns exactly two goroutines, one
// reader and one writer (the gorilla/websocket rule); Send only queues a
// frame. Received messages are handled on the reader goroutine, which never
// waits for a consumer: Responses complete calls by closing channels, pushes
// go to bounded Subscription buffers (a consumer that falls behind is cut off
// with ErrSlowConsumer), and every Request runs on its own goroutine, owned by
// its connection (at most ModuleConfig.MaxInFlight at once).
//
// Client.Run owns its connection and reconnect loop; Module.Close and
// Shutdown stop every goroutine the module started; ManagerLink.Run and
// Modules.Run own theirs. All other methods of Client, Peer, Module,
// Subscription, ManagerLink and Modules are safe for concurrent use. Every
// goroutine ends when its owner is closed or its context ends; tests check
// this with goleak.
//
// # Locks
//
// No two of Module.mu, session.mu, Peer.mu, Client.mu and Subscription.mu
// are ever held together: each is released before another is taken, and no
// callback runs under one. The one lock held across foreign code is
// serverSub.eventMu, held while an event push runs the subscription's
// methods so that pushes queue in event order: a handler of a subscribed
// method must therefore not raise its own method's event inline (see
// Module.Trigger).
package bridge
