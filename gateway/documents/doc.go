// Package documents builds and keeps the documents that describe the
// callable methods: the OpenAPI document (GET /openapi.json), the OpenRPC
// document (GET /openrpc.json and rpc.discover) and the method list (GET
// /methods).
//
// They cost ~100 ms of CPU to build in front of a listing of some 250
// methods, and anyone may ask for them. So each is built once per change of
// what it describes, and its bytes are served until then:
//
//   - the listing: its generation (Input.Generation) moves when the
//     upstream's methods, or the catalog standing in for them, change;
//   - the compound methods: this instance's own changes are seen at once
//     (CompoundsChanged); another instance's within a second, when the
//     list, read at most that often, has another digest.
//
// Nothing else they say depends on the request, except the OpenRPC
// document's server URL (the Host the client used), which WithServerURL
// puts in at serving time. The anonymous policy, the exposed scopes and the
// catalog are fixed for the process's lifetime.
//
// # Concurrency
//
// Cache is safe for concurrent use. One mutex guards the documents
// built and the compound methods last read; it is held while a document is
// built, so that concurrent requests wait for that one build rather than
// each make their own. The Input's functions are called with it held:
// they must not call back into the Cache.
package documents
