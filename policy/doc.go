// Package policy decides what a caller of the gateway may reach of the NULS
// module network: each command's scope, whether it bears a secret, whether
// the gateway may call it again and again for a stream, and the bounds of
// its parameters. It also holds the last line on the way out: the answer
// fields that are secrets (SecretField).
//
// A command's scope is the strictest of three statements, so that no listing
// can loosen it:
//
//   - what the upstream lists (ListAPI's MethodScope; the Java modules
//     default every command to public, and Nulstar passes that on);
//   - what the catalog says (package catalog: the @CmdAnnotation scope);
//   - the gateway's own rules: the module protocol's commands are never
//     callable; the kernel commands are admin, and only when the operator
//     allows them; a command that takes or answers a secret (a password, a
//     private key, a keystore, a mnemonic) is admin; a command of the NULS 2
//     catalog is public only when the reviewed list (exposure.json) says so,
//     and private otherwise, unless the operator opens it; a name the
//     catalog does not know is unlisted, and gets the operator's scope for
//     such names or none.
//
// exposure.json is data, reviewed by hand against the catalog: every
// command of catalog/nuls2.json is in it (public or private, with the
// reason), or bears a secret. Its tests fail when the catalog gains a
// command nobody reviewed.
//
// # Concurrency
//
// A Policy is immutable once built: safe for concurrent use.
package policy
