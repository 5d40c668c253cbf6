// Package buildinfo says which build of the gateway is running: its version
// and commit, taken from the linker when a release sets them
// (-ldflags "-X github.com/nuls-gateway/nuls-gateway/internal/buildinfo.version=v1.2.3"),
// else from the build information the Go toolchain records (the module
// version of "go install …@v1.2.3", the VCS revision of a build in a
// checkout).
//
// Concurrency: the values are computed once and never change; every
// function is safe for concurrent use.
package buildinfo
