package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Buffer sizes of a stream reader: an event of latestHeight is about 50
// bytes, and 10,000 readers must stay cheap.
const (
	connBufferSize = 1024
	lineBufferSize = 512
)

// delivery is one event a stream received: its sequence number, from its
// id "<ms>-<seq>", and its latency, the receive time minus <ms>.
type delivery struct {
	Seq     uint64
	Latency time.Duration
}

// sseStream is one stream the load test reads over raw TCP: a minimal
// HTTP/1.1 request and a minimal SSE parser (WHATWG HTML, "Server-sent
// events": id and event fields, comments, a blank line ends an event), so
// that thousands of them cost the load generator little.
type sseStream struct {
	conn  net.Conn
	lines *bufio.Reader
	// lastSeq is the sequence number of the latest event received; the
	// orchestrator polls it.
	lastSeq atomic.Uint64
	// deliveries and err belong to the reading goroutine until it has
	// returned.
	deliveries []delivery
	err        error
	// dataID takes an event's "<ms>-<seq>" from its data rather than its
	// id: nchan sets ids of its own.
	dataID bool
}

// openStream connects to the gateway at addr, asks for path and waits for
// the first event, the subscription's current state that a new stream
// replays: the stream is then established, its hub member joined.
func openStream(ctx context.Context, addr, path string) (*sseStream, error) {
	return openStreamOf(ctx, addr, path, false)
}

// openStreamOf is openStream; dataID reads the position from the data (see
// sseStream.dataID).
func openStreamOf(ctx context.Context, addr, path string, dataID bool) (*sseStream, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	s, err := startStream(conn, addr, path)
	if err == nil {
		s.dataID = dataID
		_, err = s.next()
	}
	if err != nil {
		_ = conn.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, err
	}
	return s, nil
}

func startStream(conn net.Conn, host, path string) (*sseStream, error) {
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(conn, connBufferSize)
	// The body is the event stream, read until its connection is closed:
	// closing it would read it to its end, which it never reaches.
	resp, err := http.ReadResponse(br, nil) //nolint:bodyclose // see above
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return nil, fmt.Errorf("GET %s: Content-Type %q, want text/event-stream", path, mt)
	}
	// resp.Body undoes the chunked transfer coding.
	return &sseStream{conn: conn, lines: bufio.NewReaderSize(resp.Body, lineBufferSize)}, nil
}

// errStreamEnded reports an end or gap event: the gateway ended the stream.
var errStreamEnded = errors.New("the gateway ended the stream")

// next reads up to the end of the next event that has an id, records its
// delivery and returns its sequence number.
func (s *sseStream) next() (uint64, error) {
	var id, typ string
	for {
		line, err := s.lines.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, fmt.Errorf("SSE line longer than %d bytes", lineBufferSize)
			}
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0: // the end of an event
			if typ == "end" || typ == "gap" {
				return 0, fmt.Errorf("%w: %s event", errStreamEnded, typ)
			}
			if id == "" {
				continue // the retry hint, a comment
			}
			now := time.Now()
			pos, _, _ := strings.Cut(id, ".") // a stream of heights adds ".<height>"
			msText, seqText, ok := strings.Cut(pos, "-")
			msVal, err1 := strconv.ParseInt(msText, 10, 64)
			seq, err2 := strconv.ParseUint(seqText, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return 0, fmt.Errorf("event id %q: want <ms>-<seq>", id)
			}
			s.deliveries = append(s.deliveries, delivery{Seq: seq, Latency: now.Sub(time.UnixMilli(msVal))})
			s.lastSeq.Store(seq)
			return seq, nil
		case bytes.HasPrefix(line, []byte("id:")) && !s.dataID:
			id = strings.TrimSpace(string(line[3:]))
		case bytes.HasPrefix(line, []byte("data:")) && s.dataID:
			id = strings.TrimSpace(string(line[5:]))
		case bytes.HasPrefix(line, []byte("event:")):
			typ = strings.TrimSpace(string(line[6:]))
		}
	}
}

// read records events until the connection is closed or the stream ends;
// each event's sequence number goes to seen.
func (s *sseStream) read(seen func(seq uint64)) {
	for {
		seq, err := s.next()
		if err != nil {
			s.err = err
			return
		}
		seen(seq)
	}
}

func (s *sseStream) close() { _ = s.conn.Close() }
