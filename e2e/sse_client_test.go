package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	ID   string // the id: field; "" when the event had none
	Type string // the event: field; "" for a message
	Data string
}

// sseStream is one open event stream: a response being read as the WHATWG
// HTML "Server-sent events" parser reads it.
type sseStream struct {
	body   io.ReadCloser
	events chan sseEvent // closed when the stream ends; err is then set

	mu    sync.Mutex // guards retry, err
	retry time.Duration
	err   error
}

// sseClient is the HTTP client of the SSE helpers: no timeout (streams are
// long), and connections enough for a thousand streams to one host.
var sseClient = &http.Client{Transport: &http.Transport{
	MaxIdleConnsPerHost: 64,
	DisableCompression:  true,
}}

// openSSE opens a stream at url, resuming after lastEventID when it is not
// empty (the Last-Event-ID header, as an EventSource sends it). It fails
// unless the answer is 200 text/event-stream. The stream ends when ctx
// ends, the server closes it, or close is called.
func openSSE(ctx context.Context, url, lastEventID string) (*sseStream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := sseClient.Do(req)
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != "text/event-stream" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: status %d, %s: %s", url, resp.StatusCode, mt, body)
	}
	s := &sseStream{body: resp.Body, events: make(chan sseEvent, 64)}
	go s.read()
	return s, nil
}

// read parses the stream until it ends.
func (s *sseStream) read() {
	defer close(s.events)
	br := bufio.NewReader(s.body)
	var ev sseEvent
	var data strings.Builder
	hasData := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.mu.Lock()
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // a stream has no end of its own
			}
			s.err = err
			s.mu.Unlock()
			return
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if hasData {
				ev.Data = data.String()
				s.events <- ev
			}
			ev, hasData = sseEvent{}, false
			data.Reset()
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment: the heartbeat
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.ID = value
		case "event":
			ev.Type = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil {
				s.mu.Lock()
				s.retry = time.Duration(ms) * time.Millisecond
				s.mu.Unlock()
			}
		}
	}
}

// Events delivers the stream's events; it is closed when the stream ends.
func (s *sseStream) Events() <-chan sseEvent { return s.events }

// Retry returns the last retry: hint, or 0 if none came.
func (s *sseStream) Retry() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retry
}

// Err returns why the stream ended, once Events is closed.
func (s *sseStream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// received is an event as a followingClient got it.
type received struct {
	sseEvent
	At       time.Time
	Instance int // index of the instance that sent it
}

// height returns the {"value":N} of a latestHeight push.
func (r received) height() (int64, error) {
	var v struct{ Value *int64 }
	if err := json.Unmarshal([]byte(r.Data), &v); err != nil || v.Value == nil {
		return 0, fmt.Errorf("event %s data %q: want {\"value\":N}", r.ID, r.Data)
	}
	return *v.Value, nil
}

// seq returns the sequence number of the event's id: "<ms>-<seq>", and
// ".<height>" for a stream of heights.
func (r received) seq() (uint64, error) {
	pos, _, _ := strings.Cut(r.ID, ".")
	_, s, ok := strings.Cut(pos, "-")
	if !ok {
		return 0, fmt.Errorf("event id %q: want <ms>-<seq>", r.ID)
	}
	return strconv.ParseUint(s, 10, 64)
}

// connection is one stream a followingClient opened, or tried to.
type connection struct {
	Instance   int
	LastID     string // the Last-Event-ID it sent
	Opened     time.Time
	Ended      time.Time // zero while open
	Err        error     // why it ended, or why it could not open
	Events     int
	FirstEvent time.Time
}

// followingClient reads one stream as a browser's EventSource does, behind a
// load balancer that sends each connection to another instance: when the
// stream breaks it waits for the server's retry hint, then reconnects to
// the next live instance with Last-Event-ID set to the last id it saw.
type followingClient struct {
	// bases are the instances' base URLs; path is the stream's path and
	// query.
	bases []string
	path  string
	// refusedWait is the wait after a connection that could not open (an
	// instance that is down) before the next instance is tried.
	refusedWait time.Duration
	// lag is added to the retry hint before each reconnection: a client
	// that comes back late, and must catch up.
	lag time.Duration

	mu     sync.Mutex // guards got, conns, lastID, current
	got    []received
	conns  []connection
	lastID string
	// current is the instance of the open stream, -1 between streams.
	current int
}

// follow starts a client reading path, first from instance first, until
// ctx ends; wait for it with the returned function. lag delays its
// reconnections beyond the retry hint.
func follow(ctx context.Context, bases []string, path string, first int, lag time.Duration) (*followingClient, func()) {
	c := &followingClient{bases: bases, path: path, refusedWait: 100 * time.Millisecond, lag: lag, current: -1}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run(ctx, first)
	}()
	return c, func() { <-done }
}

func (c *followingClient) run(ctx context.Context, inst int) {
	for ctx.Err() == nil {
		c.mu.Lock()
		conn := connection{Instance: inst, LastID: c.lastID, Opened: time.Now()}
		c.mu.Unlock()
		s, err := openSSE(ctx, c.bases[inst]+c.path, conn.LastID)
		if err != nil {
			conn.Ended, conn.Err = time.Now(), err
			c.record(conn)
			inst = (inst + 1) % len(c.bases)
			sleepCtx(ctx, c.refusedWait)
			continue
		}
		c.mu.Lock()
		c.current = inst
		c.mu.Unlock()
		for ev := range s.Events() {
			r := received{sseEvent: ev, At: time.Now(), Instance: inst}
			c.mu.Lock()
			c.got = append(c.got, r)
			if ev.ID != "" {
				c.lastID = ev.ID
			}
			c.mu.Unlock()
			if conn.Events == 0 {
				conn.FirstEvent = r.At
			}
			conn.Events++
		}
		conn.Ended, conn.Err = time.Now(), s.Err()
		c.mu.Lock()
		c.current = -1
		c.mu.Unlock()
		c.record(conn)
		if ctx.Err() != nil {
			return
		}
		// The EventSource's reconnection time: the server's hint.
		retry := s.Retry()
		if retry <= 0 {
			retry = 3 * time.Second // the HTML spec's suggestion
		}
		sleepCtx(ctx, retry+c.lag)
		inst = (inst + 1) % len(c.bases)
	}
}

func (c *followingClient) record(conn connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conns = append(c.conns, conn)
}

// events returns a copy of what the client received so far.
func (c *followingClient) events() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.got...)
}

// connections returns a copy of the client's connection history.
func (c *followingClient) connections() []connection {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]connection(nil), c.conns...)
}

// lastEvent returns the last event received and whether there was one.
func (c *followingClient) lastEvent() (received, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) == 0 {
		return received{}, false
	}
	return c.got[len(c.got)-1], true
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
