package doctest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds a block that names no timeout.
const DefaultTimeout = 60 * time.Second

// Addresses are the services the documents name, as the test runs them.
type Addresses struct {
	// Gateway is the host:port of the gateway the documents reach at
	// localhost:8080 (what make run starts).
	Gateway string
	// Redis is the host:port of the Redis the documents name at
	// 127.0.0.1:6379.
	Redis string
	// FreePort returns a port nothing listens on, for the other ports the
	// documents name (8081-8099, 7771-7779): the examples that start a
	// server of their own.
	FreePort func() (int, error)
}

// Config is what a Session runs its blocks with.
type Config struct {
	// Dir is the scratch directory the first block starts in.
	Dir string
	// Env is the blocks' environment, PATH included; the session puts its
	// curl first on that PATH.
	Env []string
	// Addresses are substituted for the documented ones.
	Addresses Addresses
	// Programs are the built programs by name (Programs: gateway,
	// devnode, loadtest), which the session links into the bin/ folder of
	// Dir, as make build puts them in the repository's: a document's
	// PathLine puts them on PATH. Before that line, a stand-in of each
	// program is found on PATH, which fails saying what is missing.
	Programs map[string]string
}

var (
	gatewayAddr = regexp.MustCompile(`\b(?:localhost|127\.0\.0\.1):8080\b`)
	redisAddr   = regexp.MustCompile(`redis://(?:localhost|127\.0\.0\.1):6379\b`)
	otherPort   = regexp.MustCompile(`:(808[1-9]|809[0-9]|777[1-9])\b`)
	statusMark  = regexp.MustCompile(`@@doctest-status ([0-9]{3})@@\n?`)
)

// Session runs the blocks of one document in order, carrying exported
// variables and the working directory from one block to the next.
type Session struct {
	cfg    Config
	state  string         // the session's own files: curl, env, cwd
	ports  map[string]int // documented port → free port, for the document
	groups []int          // the process group of every block run
}

// NewSession prepares a session: its state directory, its curl and the
// programs.
func NewSession(cfg Config) (*Session, error) {
	realCurl, err := exec.LookPath("curl")
	if err != nil {
		return nil, fmt.Errorf("doctest: the examples need curl: %w", err)
	}
	state, err := os.MkdirTemp("", "doctest-")
	if err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, state: state, ports: map[string]int{}}
	if err := os.Mkdir(filepath.Join(state, "bin"), 0o700); err != nil {
		return nil, errors.Join(err, os.RemoveAll(state))
	}
	wrapper := strings.ReplaceAll(curlWrapper, "@REAL@", realCurl)
	if err := os.WriteFile(filepath.Join(state, "bin", "curl"), []byte(wrapper), 0o700); err != nil { //nolint:gosec // G306: an executable, the session's own
		return nil, errors.Join(err, os.RemoveAll(state))
	}
	if err := s.programs(); err != nil {
		return nil, errors.Join(err, os.RemoveAll(state))
	}
	if err := os.WriteFile(filepath.Join(state, "cwd"), []byte(cfg.Dir), 0o600); err != nil {
		return nil, errors.Join(err, os.RemoveAll(state))
	}
	if err := os.WriteFile(filepath.Join(state, "env"), nil, 0o600); err != nil {
		return nil, errors.Join(err, os.RemoveAll(state))
	}
	return s, nil
}

// programs links the built programs into Dir/bin, and puts a stand-in of
// each of Programs next to the session's curl.
func (s *Session) programs() error {
	if len(s.cfg.Programs) > 0 {
		bin := filepath.Join(s.cfg.Dir, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil { //nolint:gosec // G301: the scratch directory's bin/, as make build's
			return err
		}
		for name, path := range s.cfg.Programs {
			if !slices.Contains(Programs, name) {
				return fmt.Errorf("doctest: %s is not one of the programs %v", name, Programs)
			}
			if err := os.Symlink(path, filepath.Join(bin, name)); err != nil {
				return err
			}
		}
	}
	for _, name := range Programs {
		stub := strings.ReplaceAll(missingProgram, "@PATHLINE@", PathLine)
		if err := os.WriteFile(filepath.Join(s.state, "bin", name), []byte(stub), 0o700); err != nil { //nolint:gosec // G306: an executable, the session's own
			return err
		}
	}
	return nil
}

// missingProgram stands in for a program the document runs by name
// before it puts bin/ on PATH.
const missingProgram = `#!/bin/sh
printf '%s %s\n' "doctest: ${0##*/}: command not found, as for a reader:" \
	'the document must tell, before, to run @PATHLINE@ after make build (see the README)' >&2
exit 127
`

// curlWrapper runs the real curl and adds to what it writes, on stderr,
// each transfer's HTTP status, for Run to check. A --write-out of the
// example's own is kept, the status appended to it.
const curlWrapper = `#!/usr/bin/env bash
# The doc test's curl: the real one, and each transfer's HTTP status on stderr.
mark='%{stderr}@@doctest-status %{http_code}@@\n'
args=() wrote=
while (($#)); do
	case $1 in
	-w|--write-out) args+=("$1" "$2$mark"); wrote=1; shift 2 || shift ;;
	--write-out=*) args+=("$1$mark"); wrote=1; shift ;;
	*) args+=("$1"); shift ;;
	esac
done
[ -n "$wrote" ] || args+=(--write-out "$mark")
exec @REAL@ "${args[@]}"
`

// Rewrite substitutes the test's addresses for the documented ones.
func (s *Session) Rewrite(code string) (string, error) {
	a := s.cfg.Addresses
	if a.Gateway != "" {
		code = gatewayAddr.ReplaceAllString(code, a.Gateway)
	}
	if a.Redis != "" {
		code = redisAddr.ReplaceAllString(code, "redis://"+a.Redis)
	}
	var err error
	code = otherPort.ReplaceAllStringFunc(code, func(m string) string {
		doc := m[1:]
		p, ok := s.ports[doc]
		if !ok {
			if a.FreePort == nil {
				return m
			}
			var perr error
			if p, perr = a.FreePort(); perr != nil {
				err = perr
				return m
			}
			s.ports[doc] = p
		}
		return ":" + strconv.Itoa(p)
	})
	return code, err
}

// Run runs a block and checks it: its exit status, the HTTP status of each
// curl, and the texts it must print. The output is returned either way,
// without the curl statuses.
func (s *Session) Run(ctx context.Context, b Block) (string, error) {
	if !b.Runnable() {
		return "", fmt.Errorf("%s: not a runnable block", b.Where())
	}
	code, err := s.Rewrite(b.Code)
	if err != nil {
		return "", fmt.Errorf("%s: %w", b.Where(), err)
	}
	script := filepath.Join(s.state, "block.sh")
	if err := os.WriteFile(script, []byte(s.prelude()+code), 0o600); err != nil {
		return "", err
	}
	out, err := os.CreateTemp(s.state, "out-")
	if err != nil {
		return "", err
	}
	defer out.Close() //nolint:errcheck // read back by name; nothing written through it after Wait

	cmd := exec.CommandContext(ctx, "bash", "-e", script) //nolint:gosec // G204: running the documents' examples is the point
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cwd, err := os.ReadFile(filepath.Join(s.state, "cwd"))
	if err != nil {
		return "", err
	}
	cmd.Dir = strings.TrimSpace(string(cwd))
	cmd.Env = append(s.environ(), "DOCTEST_STATE="+s.state)
	cmd.Stdin = nil
	// Files, not pipes: a background job an example starts keeps its
	// output open, and Wait must not wait for it.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	s.groups = append(s.groups, cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	limit, stream := b.Timeout, b.Stream > 0
	switch {
	case stream:
		limit = b.Stream
	case limit == 0:
		limit = DefaultTimeout
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var runErr error
	select {
	case runErr = <-done:
	case <-timer.C:
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // it may be gone already
		<-done                                          //nolint:errcheck // killed: the error is ours
		if !stream {
			runErr = fmt.Errorf("did not end within %v (a stream needs <!-- doctest: stream 3s -->)", limit)
		}
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // it may be gone already
		<-done                                          //nolint:errcheck // killed: the error is ours
		runErr = ctx.Err()
	}
	raw, err := os.ReadFile(out.Name())
	if err != nil {
		return "", err
	}
	output, statuses := statusMark.ReplaceAllString(string(raw), ""), statusMark.FindAllStringSubmatch(string(raw), -1)
	if runErr != nil {
		return output + s.logs(), fmt.Errorf("%s: %w", b.Where(), runErr)
	}
	if err := b.check(output, statuses); err != nil {
		return output + s.logs(), err
	}
	return output, nil
}

// logTail is how much of each log file a failed block's report shows.
const logTail = 4 << 10

// logs are the tails of the *.log files in the block's working directory:
// what a server the example started in the background said before it died
// is the reason the block failed more often than the block's own output.
func (s *Session) logs() string {
	cwd, err := os.ReadFile(filepath.Join(s.state, "cwd"))
	if err != nil {
		return ""
	}
	names, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(cwd)), "*.log"))
	var b strings.Builder
	for _, name := range names {
		data, err := os.ReadFile(name) //nolint:gosec // G304: the example's own scratch files
		if err != nil {
			continue
		}
		if len(data) > logTail {
			data = data[len(data)-logTail:]
		}
		fmt.Fprintf(&b, "--- %s (its end):\n%s\n", filepath.Base(name), data)
	}
	return b.String()
}

// check compares what a block did with what its directives expect.
func (b Block) check(output string, statuses [][]string) error {
	var problems []string
	for _, m := range statuses {
		code, _ := strconv.Atoi(m[1])
		switch {
		case b.Status != 0 && code != b.Status:
			problems = append(problems, fmt.Sprintf("a curl answered %d, not %d", code, b.Status))
		case b.Status == 0 && (code < 100 || code >= 400):
			problems = append(problems, fmt.Sprintf("a curl answered %d (mark the block <!-- doctest: status %d --> if that is the point)", code, code))
		}
	}
	if b.Status != 0 && len(statuses) == 0 && b.Stream == 0 {
		problems = append(problems, fmt.Sprintf("status %d expected, but no curl answered", b.Status))
	}
	for _, text := range b.Contains {
		if !strings.Contains(output, text) {
			problems = append(problems, fmt.Sprintf("the output lacks %q", text))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", b.Where(), strings.Join(problems, "; "))
	}
	return nil
}

// prelude restores the state the previous blocks left, and saves it again
// when the block succeeds.
func (s *Session) prelude() string {
	return `cd "$(cat "$DOCTEST_STATE/cwd")"
. "$DOCTEST_STATE/env"
__doctest_save() {
	local status=$?
	if [ "$status" = 0 ]; then
		export -p | grep -Ev '^declare -x (PWD|OLDPWD|SHLVL|_|DOCTEST_STATE)=' >"$DOCTEST_STATE/env"
		pwd >"$DOCTEST_STATE/cwd"
	fi
	return "$status"
}
trap __doctest_save EXIT
`
}

// environ is the configured environment, with the session's curl first on
// PATH.
func (s *Session) environ() []string {
	env := make([]string, 0, len(s.cfg.Env)+1)
	path := ""
	for _, kv := range s.cfg.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+filepath.Join(s.state, "bin")+":"+path)
}

// Close kills every process the blocks started, background jobs included,
// and removes the session's state.
func (s *Session) Close() error {
	for _, pgid := range s.groups {
		syscall.Kill(-pgid, syscall.SIGKILL) //nolint:errcheck // most are gone already
	}
	s.groups = nil
	return os.RemoveAll(s.state)
}
