package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/version"
	"io"
	"os"
	"os/exec"
	pathpkg "path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// staticBases are the final-stage bases accepted: no shell, no package
// manager, nothing the static binaries do not need.
var staticBases = []string{"gcr.io/distroless/static", "scratch"}

// checkDockerfile checks path with BuildKit's own parser and the rules of
// its linter (`docker build --check`), then what the image must be: a Go
// builder at least as new as go.mod asks, static stripped binaries, a final
// stage on a static base running as a numeric non-root user, port 8080, the
// gateway as exec-form entrypoint. root is the build context, whose
// .dockerignore must keep every file the build compiles.
func checkDockerfile(path, root string) []error {
	src, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	var errs []error
	fail := failer(&errs, "%s: ", path)
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	for _, w := range res.Warnings {
		fail("line %d: %s", w.Location.Start.Line, w.Short)
	}
	lint := linter.New(&linter.Config{
		ExperimentalAll: true,
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			fail("line %d: %s: %s", line, rule, msg)
		},
	})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return append(errs, fmt.Errorf("%s: %w", path, err))
	}
	if len(stages) < 2 {
		fail("%d stages, want a builder and a final stage", len(stages))
		return errs
	}
	args := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
			}
		}
	}
	expand := func(s string) string {
		return os.Expand(s, func(k string) string { return args[k] })
	}

	// The builder: the stage that runs go build.
	var pkgs []string
	for _, st := range stages[:len(stages)-1] {
		for _, c := range st.Commands {
			run, ok := c.(*instructions.RunCommand)
			if !ok {
				continue
			}
			line := strings.Join(run.CmdLine, " ")
			if !strings.Contains(line, "go build") {
				continue
			}
			for _, flag := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w"} {
				if !strings.Contains(line, flag) {
					fail("stage %s: go build without %s", st.Name, flag)
				}
			}
			pkgs = append(pkgs, regexp.MustCompile(`\./[\w./-]+`).FindAllString(line[strings.Index(line, "go build"):], -1)...)
			base := expand(st.BaseName)
			if tag, ok := strings.CutPrefix(base, "golang:"); ok {
				errs = append(errs, checkGoVersion(path, root, tag)...)
			}
		}
	}
	if len(pkgs) == 0 {
		fail("no stage runs go build of ./... packages")
	}

	final := stages[len(stages)-1]
	base := expand(final.BaseName)
	if !slices.ContainsFunc(staticBases, func(b string) bool {
		return base == b || strings.HasPrefix(base, b+"-") || strings.HasPrefix(base, b+":")
	}) {
		fail("final stage FROM %s: want one of %v", base, staticBases)
	}
	var user string
	var exposed, entry []string
	var health []string
	files := map[string]bool{} // what COPY puts in the final image
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			for _, src := range c.SourcePaths {
				if strings.HasSuffix(c.DestPath, "/") || len(c.SourcePaths) > 1 {
					files[pathpkg.Join(c.DestPath, pathpkg.Base(src))] = true
				} else {
					files[c.DestPath] = true
				}
			}
		case *instructions.UserCommand:
			user = c.User
		case *instructions.ExposeCommand:
			exposed = append(exposed, c.Ports...)
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				fail("ENTRYPOINT in shell form: the image has no shell")
			}
			entry = c.CmdLine
		case *instructions.HealthCheckCommand:
			if len(c.Health.Test) > 0 && c.Health.Test[0] != "CMD" && c.Health.Test[0] != "NONE" {
				fail("HEALTHCHECK %s: the image has no shell, use the exec form", c.Health.Test[0])
			}
			health = c.Health.Test
		case *instructions.RunCommand:
			fail("RUN in the final stage: a static base has nothing to run it with")
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if !regexp.MustCompile(`^[0-9]+$`).MatchString(uid) || uid == "0" {
		fail("final stage USER %q: want a numeric non-root user (Kubernetes' runAsNonRoot can only verify a number)", user)
	}
	if !slices.ContainsFunc(exposed, func(p string) bool { return p == "8080" || p == "8080/tcp" }) {
		fail("final stage does not EXPOSE 8080")
	}
	if len(entry) == 0 || entry[0] != "/gateway" {
		fail("ENTRYPOINT %q: want [\"/gateway\"]", entry)
	} else if !files[entry[0]] {
		fail("ENTRYPOINT runs %s, which no COPY of the final stage puts in the image", entry[0])
	}
	if len(health) > 1 && health[0] == "CMD" && !files[health[1]] {
		fail("HEALTHCHECK runs %s, which no COPY of the final stage puts in the image", health[1])
	}
	return append(errs, checkDockerignore(root, filepath.Join(root, ".dockerignore"), pkgs)...)
}

// checkGoVersion checks that the golang image tag is at least the go
// directive of the main module's go.mod.
func checkGoVersion(path, root, tag string) []error {
	m := regexp.MustCompile(`^(\d+\.\d+(\.\d+)?)`).FindString(tag)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return []error{err}
	}
	want := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(mod)
	if m == "" || want == nil {
		return []error{fmt.Errorf("%s: cannot compare golang:%s with go.mod", path, tag)}
	}
	if version.Compare(version.Lang("go"+m), version.Lang("go"+string(want[1]))) < 0 {
		return []error{fmt.Errorf("%s: golang:%s is older than go.mod's go %s", path, tag, want[1])}
	}
	return nil
}

// checkDockerignore checks that the ignore file (root/.dockerignore) lets
// into the build context every file `go build` reads for pkgs: go.mod,
// go.sum, and the Go and embedded files of each package of the main module
// they depend on.
func checkDockerignore(root, ignore string, pkgs []string) []error {
	f, err := os.Open(ignore)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return []error{err}
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return []error{fmt.Errorf(".dockerignore: %w", err)}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return []error{fmt.Errorf(".dockerignore: %w", err)}
	}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json=Dir,GoFiles,EmbedFiles,Module"}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return []error{fmt.Errorf("go list %v: %v: %s", pkgs, err, stderr.String())}
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return []error{err}
	}
	needed := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Dir        string
			GoFiles    []string
			EmbedFiles []string
			Module     *struct{ Main bool }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return []error{err}
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(absRoot, p.Dir)
		if err != nil {
			return []error{err}
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	var errs []error
	for _, f := range needed {
		excluded, err := pm.MatchesOrParentMatches(f)
		if err != nil {
			return []error{err}
		}
		if excluded {
			errs = append(errs, fmt.Errorf(".dockerignore excludes %s, which the image's go build needs", f))
		}
	}
	return errs
}
