// Package docs holds no code, only tests that keep the project's documents
// in step with the code: every decision (D1 to D22) that a Go comment cites
// has its section in docs/protocol.md, every anchor of that document the
// code and the README link to exists, and no comment cites the parts of the
// research notes kept outside the repository, which a reader of the
// repository cannot open.
package docs
