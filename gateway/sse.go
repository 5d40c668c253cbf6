package gateway

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// sseWriter writes Server-Sent Events (WHATWG HTML, "Server-sent events") to
// one client, each write bounded by a deadline.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     *bytes.Buffer
}

var sseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// startSSE sends the stream's headers and the retry hint, and flushes.
func startSSE(w http.ResponseWriter, retry, timeout time.Duration) (*sseWriter, error) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	// nginx and others buffer responses unless told not to.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: rc, timeout: timeout}
	s.begin()
	s.buf.WriteString("retry: ")
	s.buf.WriteString(strconv.FormatInt(retry.Milliseconds(), 10))
	s.buf.WriteString("\n\n")
	return s, s.flush()
}

func (s *sseWriter) begin() {
	if s.buf == nil {
		s.buf = sseBuffers.Get().(*bytes.Buffer)
		s.buf.Reset()
	}
}

// event queues one event.
func (s *sseWriter) event(id, typ string, data []byte) {
	s.begin()
	appendEvent(s.buf, id, typ, data)
}

// appendEvent renders one event. Data with newlines becomes several data:
// lines.
func appendEvent(buf *bytes.Buffer, id, typ string, data []byte) {
	if id != "" {
		buf.WriteString("id: ")
		buf.WriteString(id)
		buf.WriteByte('\n')
	}
	if typ != "" {
		buf.WriteString("event: ")
		buf.WriteString(typ)
		buf.WriteByte('\n')
	}
	for {
		line, rest, more := bytes.Cut(data, []byte{'\n'})
		buf.WriteString("data: ")
		buf.Write(bytes.TrimSuffix(line, []byte{'\r'}))
		buf.WriteByte('\n')
		if !more {
			break
		}
		data = rest
	}
	buf.WriteByte('\n')
}

// appendBatch renders a batch of hub events, with a gap event first when
// events were lost.
func appendBatch(buf *bytes.Buffer, b subscriptions.Batch, lastID string) {
	switch {
	case b.Gap:
		appendEvent(buf, "", "gap", gapData(lastID))
	case b.Lost:
		appendEvent(buf, "", "gap", lostData(lastID))
	}
	for _, e := range b.Events {
		appendEvent(buf, e.ID, e.Type, e.Data)
	}
}

func gapData(lastID string) []byte {
	return subscriptions.GapData("events were lost: the stream resumed after events no longer retained", lastID)
}

// lostData describes events the shared log lost for every reader: Redis
// lost them, and the log went on from an instance's copy that lacked them.
func lostData(lastID string) []byte {
	return subscriptions.GapData("events were lost: the shared log was restored from a copy that lacked them", lastID)
}

// comment queues a comment line, which clients ignore: the heartbeat.
func (s *sseWriter) comment(text string) {
	s.begin()
	s.buf.WriteString(": ")
	s.buf.WriteString(text)
	s.buf.WriteString("\n\n")
}

// flush writes what is queued within the deadline.
func (s *sseWriter) flush() error {
	if s.buf == nil || s.buf.Len() == 0 {
		return nil
	}
	// A client that cannot take an event in time is dropped: it must not
	// hold a goroutine and a buffer forever.
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	_, err := s.w.Write(s.buf.Bytes())
	if err == nil {
		err = s.rc.Flush()
	}
	s.release()
	return err
}

// release returns the buffer to the pool between events, so that an idle
// stream holds none.
func (s *sseWriter) release() {
	if s.buf != nil {
		if s.buf.Cap() <= 64<<10 {
			sseBuffers.Put(s.buf)
		}
		s.buf = nil
	}
}

// writeBatch queues a batch of hub events, with a gap event first when
// events were lost.
func (s *sseWriter) writeBatch(b subscriptions.Batch, lastID string) {
	s.begin()
	appendBatch(s.buf, b, lastID)
}
