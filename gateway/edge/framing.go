package edge

import (
	"bytes"
	"errors"
	"net"
	"syscall"
)

// StrictFraming returns a listener whose connections refuse a request head
// that frames its body two ways: a Transfer-Encoding with a Content-Length,
// or a Transfer-Encoding in an HTTP/1.0 request. net/http answers such a
// request 400 Bad Request and closes the connection.
//
// RFC 9112 6.1 lets a server process such a request by its
// Transfer-Encoding alone, as net/http does, but then it must close the
// connection after the answer: the two lengths are how request smuggling
// works, a proxy in front framing the body by one and the server by the
// other, so that what follows on the connection is not what the proxy
// sent. net/http keeps the connection open, and drops the Content-Length
// header before a handler could see it (Go 1.26). So the connection watches
// the heads it carries: when one has both, the reads after its line fail
// with an error that net/http, reading the head, answers with 400 and a
// closed connection (or, reading a body, a handler with a 400 problem).
//
// Only the head's own lines count, as net/http reads them: the lines from a
// request line (method, target, "HTTP/x.y") to the empty line, a header
// name matched in any letter case. The scanner does not frame bodies, so
// it takes any line ending in " HTTP/x.y" outside a head for a request
// line (a body without a final line feed runs into the next request
// line), and a line of a body that looks like a head counts as one: a
// stranger can make the gateway refuse its own requests that way, nothing
// more, and a JSON body cannot (it holds no line that ends so). Whatever
// was read with the head is dropped with it.
//
// It sees the bytes a TLS connection carries encrypted, so the gateway
// wraps plain listeners only; over TLS, State.settle closes the
// connection after every chunked request. The scan costs one
// bytes.IndexByte per line read, and a few bytes of state per connection.
func StrictFraming(ln net.Listener) net.Listener { return framingListener{ln} }

type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framedConn{Conn: c}, nil
}

// errAmbiguousFraming fails the read that brought a head framing its body
// two ways. It is not a net.Error, so that net/http answers it with 400
// rather than closing the connection in silence.
var errAmbiguousFraming = errors.New("gateway: a request frames its body with both Transfer-Encoding and Content-Length")

// framedConn is a connection whose reads go through a framingScanner.
// net/http reads a connection from one goroutine at a time.
type framedConn struct {
	net.Conn
	scan   framingScanner
	failed bool
}

// Read returns what the connection brings up to the line that makes a
// head ambiguous, and fails every read after it: net/http reading the
// head then needs more, reads, and answers 400. Failing the read that
// brings the line instead would be lost when net/http reads it waiting for
// a request (keep-alive), as it closes the connection on any error there.
func (c *framedConn) Read(p []byte) (int, error) {
	if c.failed {
		return 0, errAmbiguousFraming
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if i := c.scan.scan(p[:n]); i >= 0 {
			c.failed = true
			return i, nil
		}
	}
	return n, err
}

// CloseWrite lets net/http half-close the connection before it closes it
// (so that the client reads the answer before a reset), as it does with a
// *net.TCPConn.
func (c *framedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SyscallConn lets package hangup's poller watch the socket for its client
// hanging up. The poller never reads: every read still goes through Read.
func (c *framedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// framingScanner follows the lines of an HTTP/1 byte stream, as
// net/textproto splits them ("\n", an optional "\r" before it), and
// reports a request head whose framing is ambiguous. It keeps of each line
// its length, its first bytes, its last bytes and whether a space or a
// colon comes first in it, whatever the size of the reads.
type framingScanner struct {
	n      int      // bytes of the current line so far
	prefix [18]byte // its first bytes, lower case: len("transfer-encoding:")
	tail   [10]byte // its last bytes, right-aligned: " HTTP/1.1" and "\r"
	lead   byte     // ' ' or ':', whichever came first in the line; 0: neither yet
	head   bool     // the lines since a request line, before the empty line
	http10 bool     // that request line said HTTP/1.0 (or 0.x)
	sawTE  bool     // a Transfer-Encoding line in this head
	sawCL  bool     // a Content-Length line in this head
}

// scan takes the next bytes read. When they complete a head line that
// makes the head's framing ambiguous, it returns how many of them go up
// to that line's end, its line feed included; otherwise -1.
func (s *framingScanner) scan(b []byte) int {
	for off := 0; off < len(b); {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			s.add(b[off:])
			return -1
		}
		s.add(b[off : off+i])
		off += i + 1
		if s.endLine() {
			return off
		}
	}
	return -1
}

// add takes a part of the current line.
func (s *framingScanner) add(b []byte) {
	if len(b) == 0 {
		return
	}
	for i := 0; s.n+i < len(s.prefix) && i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		s.prefix[s.n+i] = c
	}
	if s.lead == 0 {
		if i := bytes.IndexAny(b, " :"); i >= 0 {
			s.lead = b[i]
			if s.n+i == 0 {
				s.lead = '\t' // a leading space: a folded line, not a request line
			}
		}
	}
	if len(b) >= len(s.tail) {
		copy(s.tail[:], b[len(b)-len(s.tail):])
	} else {
		copy(s.tail[:], s.tail[len(b):])
		copy(s.tail[len(s.tail)-len(b):], b)
	}
	s.n += len(b)
}

// endLine classifies the line just ended and starts the next one. It
// reports whether the head is now ambiguous.
func (s *framingScanner) endLine() bool {
	n, tail := s.n, s.tail[:]
	if n > 0 && tail[len(tail)-1] == '\r' {
		n--
		tail = tail[:len(tail)-1]
	}
	switch {
	case n == 0:
		s.head = false // the end of a head (or a blank line between messages)
	case n > len(" HTTP/x.y") && isVersion(tail[len(tail)-len(" HTTP/x.y"):]) && (!s.head || s.lead == ' '):
		// A request line: a method (a token: no colon, no space), a
		// target, a version. In a head, a header line has its colon
		// first; outside one, the line may begin with the end of a
		// body that had no line feed of its own, and whatever it
		// holds, it starts a head.
		v := tail[len(tail)-len("x.y"):]
		s.head, s.sawTE, s.sawCL = true, false, false
		s.http10 = v[0] < '1' || v[0] == '1' && v[2] == '0'
	case s.head && s.lead == ':':
		m := min(n, len(s.prefix))
		s.sawTE = s.sawTE || bytes.HasPrefix(s.prefix[:m], []byte("transfer-encoding:"))
		s.sawCL = s.sawCL || bytes.HasPrefix(s.prefix[:m], []byte("content-length:"))
	}
	s.n, s.lead = 0, 0
	// net/http ignores Transfer-Encoding in an HTTP/1.0 request (it
	// frames it by Content-Length, or as having no body); RFC 9112 6.1
	// calls that framing faulty.
	return s.head && s.sawTE && (s.sawCL || s.http10)
}

// isVersion reports whether b is " HTTP/d.d".
func isVersion(b []byte) bool {
	return len(b) == 9 && string(b[:6]) == " HTTP/" && isDigit(b[6]) && b[7] == '.' && isDigit(b[8])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
