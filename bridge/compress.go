package bridge

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
)

// D9: when a connection negotiated a CompressionRate N > 0, a message may be
// sent as a binary WebSocket frame holding the zlib stream (RFC 1950) of the
// JSON text at level N. Text frames are always plain JSON.

// deflater compresses frames for one writer goroutine, reusing its buffer
// and zlib writer.
type deflater struct {
	buf   bytes.Buffer
	w     *zlib.Writer
	level int
}

// deflate returns the zlib stream of b at level. The result is valid until
// the next call.
func (d *deflater) deflate(b []byte, level int) ([]byte, error) {
	d.buf.Reset()
	if d.w == nil || d.level != level {
		w, err := zlib.NewWriterLevel(&d.buf, level)
		if err != nil {
			return nil, err
		}
		d.w, d.level = w, level
	} else {
		d.w.Reset(&d.buf)
	}
	if _, err := d.w.Write(b); err != nil {
		return nil, err
	}
	if err := d.w.Close(); err != nil {
		return nil, err
	}
	return d.buf.Bytes(), nil
}

// inflate decompresses a binary frame, refusing output larger than limit so
// that a small frame cannot expand into an unbounded allocation.
func inflate(b []byte, limit int64) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, &DecodeError{Reason: fmt.Sprintf("binary frame is not a zlib stream: %v", err)}
	}
	defer func() { _ = r.Close() }() // a reader: nothing to lose
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &DecodeError{Reason: fmt.Sprintf("binary frame: %v", err)}
	}
	if int64(len(out)) > limit {
		return nil, &DecodeError{Reason: fmt.Sprintf("binary frame inflates beyond %d bytes", limit)}
	}
	return out, nil
}
