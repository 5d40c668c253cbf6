package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Timing defaults of a connection. pingPeriod must be less than pongWait, so
// that a healthy peer's pong always arrives before the read deadline.
const (
	defaultReadLimit    = 32 << 20 // bytes; Java aggregates up to 104 MiB, our methods are far smaller
	defaultWriteTimeout = 10 * time.Second
	defaultPongWait     = 60 * time.Second
	defaultSendQueue    = 256 // frames
	closeGrace          = time.Second
)

// ConnConfig tunes a Conn. The zero value is usable.
type ConnConfig struct {
	// ReadLimit is the largest frame accepted, in bytes, after
	// decompression. Default 32 MiB.
	ReadLimit int64
	// WriteTimeout bounds every write. Default 10s.
	WriteTimeout time.Duration
	// PongWait is how long the connection may stay silent before it is
	// considered dead; pings go out at 9/10 of it. Default 60s.
	PongWait time.Duration
	// SendQueue is the number of frames that may wait for the writer.
	// Default 256.
	SendQueue int
	// Strict makes the connection drop, as a Java peer does, every frame
	// with a field Java does not know (DecodeStrict).
	Strict bool
}

func (c ConnConfig) withDefaults() ConnConfig {
	if c.ReadLimit <= 0 {
		c.ReadLimit = defaultReadLimit
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = defaultWriteTimeout
	}
	if c.PongWait <= 0 {
		c.PongWait = defaultPongWait
	}
	if c.SendQueue <= 0 {
		c.SendQueue = defaultSendQueue
	}
	return c
}

// Conn is one WebSocket connection carrying protocol messages, dialled or
// accepted. It owns exactly one reader and one writer goroutine (the
// gorilla/websocket rule); Send only queues frames for the writer. Received
// messages are handed, in order, to the handler given at creation, on the
// reader goroutine: the handler must not block.
type Conn struct {
	ws      *websocket.Conn
	cfg     ConnConfig
	logger  *slog.Logger
	handler func(*Message)
	// onClose, when set before start, runs once when the connection ends,
	// on whichever goroutine ended it. It must not block.
	onClose func(error)

	out     chan outFrame
	closing chan struct{} // Close was called: drain the queue, then close
	done    chan struct{} // the connection is finished
	wg      sync.WaitGroup

	// compression is the zlib level of outgoing frames; 0 sends text (D9).
	compression atomic.Int32
	badFrames   atomic.Int64

	closeOnce   sync.Once
	closingOnce sync.Once
	errMu       sync.Mutex // guards err
	err         error
}

// newConn wraps ws; start launches its reader and writer.
func newConn(ws *websocket.Conn, cfg ConnConfig, handler func(*Message), logger *slog.Logger) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{
		ws:      ws,
		cfg:     cfg,
		logger:  logger,
		handler: handler,
		out:     make(chan outFrame, cfg.SendQueue),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	// The read limit applies to the frame on the wire; a compressed frame
	// is limited again after inflation.
	ws.SetReadLimit(cfg.ReadLimit)
	_ = ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	})
	return c
}

// start launches the reader and the writer.
func (c *Conn) start() {
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
}

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// Send encodes m and queues it for the writer. It blocks while the queue is
// full, until ctx ends or the connection closes.
func (c *Conn) Send(ctx context.Context, m *Message) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	return c.sendFrame(ctx, b)
}

// outFrame is a frame waiting for the writer with the zlib level decided when
// it was queued, so that a negotiation answer queued before SetCompression
// still goes out as text.
type outFrame struct {
	text  []byte
	level int
}

// sendFrame queues raw frame text. Tests use it to send what Encode never
// would.
func (c *Conn) sendFrame(ctx context.Context, b []byte) error {
	f := outFrame{text: b, level: int(c.compression.Load())}
	select {
	case <-c.closing:
		return ErrClosed
	case <-c.done:
		return ErrClosed
	default:
	}
	select {
	case c.out <- f:
		return nil
	case <-c.closing:
		return ErrClosed
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// trySend queues frame text if there is room, and reports whether it did.
func (c *Conn) trySend(b []byte) bool {
	select {
	case <-c.closing:
		return false
	case <-c.done:
		return false
	case c.out <- outFrame{text: b, level: int(c.compression.Load())}:
		return true
	default:
		return false
	}
}

// SetCompression sets the zlib level (1-9) of the frames queued from now on,
// or turns compression off with 0. Only call it after a negotiation in
// which the peer accepted that level (D9).
func (c *Conn) SetCompression(level int) {
	c.compression.Store(int32(max(0, min(level, 9))))
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is open.
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Close sends what is queued (within the write timeout), sends a close frame
// and closes the socket. It waits for the reader and writer to stop.
func (c *Conn) Close() error {
	c.closeAsync()
	select {
	case <-c.done:
	case <-time.After(c.cfg.WriteTimeout + closeGrace):
		c.terminate(ErrClosed)
	}
	c.wg.Wait()
	return nil
}

// closeAsync asks the writer to flush the queue and close the connection,
// without waiting. The reader goroutine uses it, as it cannot wait for itself.
func (c *Conn) closeAsync() {
	c.closingOnce.Do(func() { close(c.closing) })
}

// terminate ends the connection at once; the first error wins.
func (c *Conn) terminate(err error) {
	c.closeOnce.Do(func() {
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		close(c.done)
		_ = c.ws.Close()
		if c.onClose != nil {
			c.onClose(err)
		}
	})
}

func (c *Conn) readLoop() {
	defer c.wg.Done()
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.terminate(readError(err))
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(c.cfg.PongWait))
		if typ == websocket.BinaryMessage {
			// D9: binary frames hold the zlib stream of the JSON text.
			if data, err = inflate(data, c.cfg.ReadLimit); err != nil {
				c.badFrame(data, err)
				continue
			}
		}
		var m *Message
		if c.cfg.Strict {
			m, err = DecodeStrict(data)
		} else {
			m, err = Decode(data)
		}
		if err != nil {
			c.badFrame(data, err)
			continue
		}
		c.handler(m)
	}
}

// badFrame logs a frame we drop. A peer sending garbage in a loop logs at
// warning level only at powers of two, so it cannot flood the log.
func (c *Conn) badFrame(data []byte, err error) {
	n := c.badFrames.Add(1)
	level := slog.LevelDebug
	if n&(n-1) == 0 && !errors.Is(err, ErrUnknownField) {
		level = slog.LevelWarn
	}
	if !c.logger.Enabled(context.Background(), level) {
		return
	}
	const maxShown = 256
	shown := data
	if len(shown) > maxShown {
		shown = shown[:maxShown]
	}
	c.logger.LogAttrs(context.Background(), level, "dropped frame",
		slog.String("remote_addr", c.ws.RemoteAddr().String()),
		slog.Int64("dropped_total", n),
		slog.String("frame", string(shown)),
		slog.Any("err", err))
}

func (c *Conn) writeLoop() {
	defer c.wg.Done()
	pingPeriod := c.cfg.PongWait * 9 / 10
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	var z deflater
	for {
		select {
		case b := <-c.out:
			if err := c.write(&z, b); err != nil {
				c.terminate(fmt.Errorf("bridge: write: %w", err))
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteTimeout)); err != nil {
				c.terminate(fmt.Errorf("bridge: ping: %w", err))
				return
			}
		case <-c.closing:
			c.drain(&z)
			return
		case <-c.done:
			return
		}
	}
}

// drain writes what is queued, then closes the connection with a normal
// close frame.
func (c *Conn) drain(z *deflater) {
	for {
		select {
		case b := <-c.out:
			if err := c.write(z, b); err != nil {
				c.terminate(fmt.Errorf("bridge: write: %w", err))
				return
			}
		default:
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeGrace))
			c.terminate(ErrClosed)
			return
		}
	}
}

func (c *Conn) write(z *deflater, f outFrame) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	if f.level > 0 {
		zb, err := z.deflate(f.text, f.level)
		if err != nil {
			return err
		}
		return c.ws.WriteMessage(websocket.BinaryMessage, zb)
	}
	return c.ws.WriteMessage(websocket.TextMessage, f.text)
}

// readError turns a read failure into the error Err reports.
func readError(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway) {
		return fmt.Errorf("%w: peer closed the connection (%d)", ErrClosed, ce.Code)
	}
	return fmt.Errorf("bridge: read: %w", err)
}
