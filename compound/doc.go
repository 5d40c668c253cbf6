// Package compound is the model of the gateway's compound methods (D14):
// virtual methods whose child methods run in order, each with the caller's
// parameters renamed through its aliases. It holds their definition, its
// strict reading and validation (bounds, names, aliases that feed
// parameters of one type), what a compound method declares (Info), what
// each child is given (ChildParams), and the stores that keep the
// definitions: in memory, or in shared documents (package state) so that
// every instance serves the same ones.
//
// Who may create, call and run them, and their HTTP routes, are the
// gateway's (package gateway).
//
// # Concurrency
//
// A Definition is a value. MemoryStore guards its map with one mutex;
// DocumentStore holds no lock of its own. Both are safe for concurrent use.
package compound
