package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Set by the linker for a release build; empty otherwise.
var version, commit string

type info struct{ version, commit string }

var read = sync.OnceValue(func() info {
	in := info{version: version, commit: commit}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if in.version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.version = bi.Main.Version
		}
		if in.commit == "" {
			var rev, modified string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" && modified == "true" {
				rev += "-dirty"
			}
			in.commit = rev
		}
	}
	if in.version == "" {
		in.version = "devel"
	}
	if in.commit == "" {
		in.commit = "unknown"
	}
	return in
})

// Version is the gateway's version: a release's tag, the module version it
// was installed at, or "devel".
func Version() string { return read().version }

// Commit is the revision it was built from (12 hex digits, "-dirty" when
// the checkout had changes), or "unknown".
func Commit() string { return read().commit }

// GoVersion is the Go toolchain that built it.
func GoVersion() string { return runtime.Version() }

// String is the one line gateway --version prints.
func String() string {
	return "gateway " + Version() + " (commit " + Commit() + ", " + GoVersion() + ")"
}
