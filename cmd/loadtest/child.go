package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// stopTimeout is how long a child has to exit after SIGTERM before
	// it is killed.
	stopTimeout = 15 * time.Second
	// tailLines is how many of a child's last log lines an error shows.
	tailLines = 30
)

// child is a process the load test started, such as the gateway. Its
// stderr is read for the log records the load test waits for (the
// listening address); stop ends it.
type child struct {
	name   string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{} // closed when the process has exited
	err    error         // why it exited; read after done

	mu      sync.Mutex // guards records, tail, changed
	records map[string]map[string]string
	tail    []string
	changed chan struct{} // closed and replaced at each record
}

// startChild runs bin with args and extra environment variables.
func startChild(name, bin string, args, env []string, logger *slog.Logger) (*child, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopTimeout
	setProcAttr(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{
		name: name, cmd: cmd, cancel: cancel, done: make(chan struct{}),
		records: map[string]map[string]string{}, changed: make(chan struct{}),
	}
	logger.Info("started", slog.String("process", name), slog.Int("pid", cmd.Process.Pid),
		slog.String("cmd", bin+" "+strings.Join(args, " ")), slog.String("env", strings.Join(env, " ")))
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		c.scan(stderr)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// scan records the child's log lines until its stderr closes.
func (c *child) scan(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rec := parseLogLine(line)
		c.mu.Lock()
		c.tail = append(c.tail, line)
		if len(c.tail) > tailLines {
			c.tail = c.tail[len(c.tail)-tailLines:]
		}
		if msg := rec["msg"]; msg != "" {
			if _, seen := c.records[msg]; !seen {
				c.records[msg] = rec
			}
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

// await waits for the first log record whose message is msg and returns
// its fields.
func (c *child) await(ctx context.Context, msg string, timeout time.Duration) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		c.mu.Lock()
		rec, ok := c.records[msg]
		changed := c.changed
		c.mu.Unlock()
		if ok {
			return rec, nil
		}
		select {
		case <-changed:
		case <-c.done:
			return nil, fmt.Errorf("%s exited (%v) before logging %q:\n%s", c.name, c.err, msg, c.lastLines())
		case <-ctx.Done():
			return nil, fmt.Errorf("%s did not log %q: %w:\n%s", c.name, msg, ctx.Err(), c.lastLines())
		}
	}
}

func (c *child) lastLines() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// pid returns the process ID.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for the process to exit, killing it after
// stopTimeout. It reports a process that exited before being told to, or
// had to be killed; how a process exits after SIGTERM is its own business.
func (c *child) stop() error {
	if c.exited() {
		return fmt.Errorf("%s exited early (%v):\n%s", c.name, c.err, c.lastLines())
	}
	c.cancel()
	<-c.done
	if errors.Is(c.err, exec.ErrWaitDelay) || c.cmd.ProcessState == nil {
		return fmt.Errorf("%s did not stop within %v: %w:\n%s", c.name, stopTimeout, c.err, c.lastLines())
	}
	return nil
}
