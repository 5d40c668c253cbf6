// Package devnode is a simulated NULS 2 node built on the module side of
// package bridge: a small chain that makes blocks, keeps balances and
// accounts, and answers the methods a gateway calls with the parameters and
// result shapes of the real Java modules. It is the gateway's embedded
// default upstream and the test peer of the project.
//
// # Topology
//
// The main endpoint (Config.Listen, default 127.0.0.1:7771) answers every
// method, as a Nulstar Connector or a single Java process does (T1), on any
// path. It also plays the Manager like the Java kernel: RegisterAPI answers
// the role table at once and pushes it again to subscribers whenever a
// module joins or leaves, and ListAPI lists every method as
// "<Domain>.<MethodName>".
//
// Besides, each of the node's own modules ("block", "ledger", "account",
// "transaction") listens on a free port of the same host at the path /ws,
// like a Java module (T2). They share one chain state with the main
// endpoint, and the role table lists them, so that a gateway registered with
// the Manager (bridge.ManagerLink) can call them directly (bridge.Modules).
//
// # The chain
//
// Block 0 funds GenesisAccounts accounts with GenesisBalance each; they are
// in the node's wallet with the password GenesisPassword, so ac_transfer can
// spend from them at once (Node.GenesisAccounts lists them). A transfer is
// applied at once, balances and nonces included, and raises the getBalance
// event for the addresses it touched; the next block includes it. Every
// BlockInterval (or on Node.ProduceBlock) a block is made and the
// latestHeight event raised. Blocks, transactions and addresses have the
// NULS byte layouts and formats, with made-up but deterministic keys and
// signatures: equal inputs give equal hashes.
//
// # Several nodes of one chain
//
// With Config.Follow a node follows another (its leader) as a node of a
// real network does: it makes no block of its own, takes each of the
// leader's blocks with its transactions and seals it with the same hash
// (the chain is deterministic), and sends the methods that make a
// transaction (ac_transfer, tx_newTx) to the leader, taking the
// transaction with the block that includes it. Several followers of one
// leader are several nodes of one chain for a gateway to spread its calls
// over. Node.SetFaults makes a node misbehave as real ones do: lag a number
// of blocks, stall (its head frozen, its sockets open) or answer slowly.
//
// Failures carry the Java modules' codes (ac_…, lg_…, tx_…, err_…) with
// status 65536; unknown methods and bad parameters are answered by bridge as
// Java does (err_0021, err_0012). With Config.Strict, every endpoint drops
// frames with fields a Java module does not know.
//
// # Concurrency
//
// New, Run and the accessors may be called from any goroutine; ProduceBlock
// is safe for concurrent use. Run owns every goroutine the node starts (the
// HTTP servers, the block ticker, the goroutines the Manager's handlers
// start) and, through the modules it closes, every connection and
// subscription; it waits for all of them before returning.
//
// A follower's goroutine (started by Run) polls the leader through a
// bridge.Client that Run also owns. Faults are read atomically at each use.
//
// Lock order: Node.produceMu (held around a whole ProduceBlock or takeBlock), then
// chain.mu or Node.mu, never both. Neither chain.mu nor Node.mu is held
// while an event is raised, since an event runs the subscribed methods,
// which take them.
package devnode
