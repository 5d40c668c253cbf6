package e2e

import (
	"bytes"
	"sync"
)

// procLog collects a process's output, for the test log when a test fails,
// and hands each complete line to onLine as it arrives.
type procLog struct {
	onLine func(line []byte)

	mu      sync.Mutex // guards buf, partial
	buf     bytes.Buffer
	partial []byte
}

// Write implements io.Writer; exec.Cmd calls it from one goroutine per
// stream.
func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		if l.onLine != nil {
			l.onLine(l.partial[:i])
		}
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// String returns everything written so far.
func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
