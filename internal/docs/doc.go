// Package docs holds no code, only tests that keep the project's documents
// in step with the code: every decision (D1 to D22) that a Go comment cites
// has its section in docs/protocol.md, every anchor of that document the
// code and the README link to exists, and no comment cites the parts of the
// research notes kept outside the repository, which a reader of the
// repository cannot open. The manual (README.md, docs/*.md,
// deployments/README.md) is checked too: every relative link leads to a
// file of the repository and, into a Markdown document, to one of its
// anchors; every page of docs/ opens with its table of contents and is
// linked from the README. The examples of those documents are run by
// TestDocs in package e2e.
package docs
