// Package compoundhttp serves the compound methods (NULS
// RegisterCompoundMethod, D14; the model is package compound): POST
// /compound-methods creates one, GET /compound-methods lists them, DELETE
// /compound-methods/{name} removes one. It announces them on the gateway's
// own NULS module (Config.Module), when the gateway registers with a
// Manager, so that RegisterAPI tells the Manager and other modules can call
// them, and Sync keeps the module's compound methods in step with the
// store, which other instances share.
//
// What the compound methods are made of is the gateway's (Backend): who
// may create one (the caller, its rate plan, the validation of a
// definition against its access), what one declares (Info), and how one
// runs when a module calls it (Run, the gateway's call pipeline). The
// routes stay the gateway's; errors reach HTTP there, ErrTooMany as 409,
// ErrUnknownMethod as 404.
//
// # Concurrency
//
// An Endpoint's methods are safe for concurrent use; Create, List and
// Delete run on their request's goroutine, Sync on Run's until its context
// ends, and an announced method's handler on the module's. Endpoint.mu
// guards the names announced on the module. Lock order: mu, then the
// module's own locks (Register and Unregister are called holding mu); mu
// is never held around a Backend call or the store.
package compoundhttp
