package sse

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nuls-gateway/nuls-gateway/subscriptions"
)

// Writer writes Server-Sent Events (WHATWG HTML, "Server-sent events") to
// one client, each write bounded by a deadline.
type Writer struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     *bytes.Buffer
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Start sends the stream's headers and the retry hint, and flushes.
func Start(w http.ResponseWriter, retry, timeout time.Duration) (*Writer, error) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	// nginx and others buffer responses unless told not to.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &Writer{w: w, rc: rc, timeout: timeout}
	s.begin()
	s.buf.WriteString("retry: ")
	s.buf.WriteString(strconv.FormatInt(retry.Milliseconds(), 10))
	s.buf.WriteString("\n\n")
	return s, s.Flush()
}

func (s *Writer) begin() {
	if s.buf == nil {
		s.buf = buffers.Get().(*bytes.Buffer)
		s.buf.Reset()
	}
}

// Event queues one event.
func (s *Writer) Event(id, typ string, data []byte) {
	s.begin()
	AppendEvent(s.buf, id, typ, data)
}

// AppendEvent renders one event. Data with newlines becomes several data:
// lines.
func AppendEvent(buf *bytes.Buffer, id, typ string, data []byte) {
	appendEvent(buf, id, -1, typ, data)
}

// appendEvent renders one event whose id carries height, unless negative
// (see EventID).
func appendEvent(buf *bytes.Buffer, id string, height int64, typ string, data []byte) {
	if id != "" {
		buf.WriteString("id: ")
		buf.WriteString(id)
		if height >= 0 {
			buf.WriteByte(heightSep)
			buf.Write(strconv.AppendInt(buf.AvailableBuffer(), height, 10))
		}
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

// AppendBatch renders a batch of hub events, with a gap event first when
// events were lost.
func AppendBatch(buf *bytes.Buffer, b subscriptions.Batch, lastID string) {
	switch {
	case b.Gap:
		AppendEvent(buf, "", "gap", GapData(lastID))
	case b.Lost:
		AppendEvent(buf, "", "gap", LostData(lastID))
	}
	for _, e := range b.Events {
		appendEvent(buf, e.ID, idHeight(e), e.Type, e.Data)
	}
}

// heightSep separates an event's log position from the block height its id
// carries.
const heightSep = '.'

// idHeight is the height e's id carries, -1 for none. An event's id is its
// position in the topic's log, "<ms>-<seq>", and for a push that stands for
// a block height (newHeaders, latestHeight) ".<height>" after it, so that a
// client that comes back after the log no longer has its position, or
// after the log started over, is sent what followed that height.
func idHeight(e subscriptions.Event) int64 {
	if !e.HasHeight {
		return -1
	}
	return e.Height
}

// HeightID is the SSE id of an event sent outside the topic's log (a
// header fetched from the node for a stream that starts from a height): only
// its height, ".<height>". Resumed with it, the stream starts after that
// height.
func HeightID(height int64) string {
	return string(heightSep) + strconv.FormatInt(height, 10)
}

// SplitID splits a Last-Event-ID into its position in the log and the
// block height it carries (height -1: none). A malformed height is an
// error; the position is checked where it is read.
func SplitID(id string) (pos string, height int64, err error) {
	pos, h, ok := strings.Cut(id, string(heightSep))
	if !ok {
		return id, -1, nil
	}
	height, err = strconv.ParseInt(h, 10, 64)
	if err != nil || height < 0 || height == math.MaxInt64 { // the next height must exist
		return "", -1, fmt.Errorf("event ID %q: the part after %q is no block height", id, string(heightSep))
	}
	return pos, height, nil
}

// GapData describes a gap event: events after lastID were lost for this
// reader.
func GapData(lastID string) []byte {
	return subscriptions.GapData("events were lost: the stream resumed after events no longer retained", lastID)
}

// LostData describes events the shared log lost for every reader: Redis
// lost them, and the log went on from an instance's copy that lacked them.
func LostData(lastID string) []byte {
	return subscriptions.GapData("events were lost: the shared log was restored from a copy that lacked them", lastID)
}

// Comment queues a comment line, which clients ignore: the heartbeat.
func (s *Writer) Comment(text string) {
	s.begin()
	s.buf.WriteString(": ")
	s.buf.WriteString(text)
	s.buf.WriteString("\n\n")
}

// Flush writes what is queued within the deadline.
func (s *Writer) Flush() error {
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
	s.Release()
	return err
}

// Release returns the buffer to the pool between events, so that an idle
// stream holds none.
func (s *Writer) Release() {
	if s.buf != nil {
		if s.buf.Cap() <= 64<<10 {
			buffers.Put(s.buf)
		}
		s.buf = nil
	}
}

// WriteBatch queues a batch of hub events, with a gap event first when
// events were lost.
func (s *Writer) WriteBatch(b subscriptions.Batch, lastID string) {
	s.begin()
	AppendBatch(s.buf, b, lastID)
}
