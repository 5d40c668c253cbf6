package edge

import (
	"testing"
)

// TestFramingScanner feeds heads to the scanner whole and cut in two at
// every byte, as reads may cut them.
func TestFramingScanner(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		want     bool
	}{
		{"content-length only", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", false},
		{"chunked only", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false},
		{"both", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", true},
		{"both, mixed case", "POST / HTTP/1.1\r\ntRaNsFeR-eNcOdInG: chunked\r\nCONTENT-LENGTH: 3\r\n\r\n", true},
		{"HTTP/1.0 chunked", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"HTTP/1.0 with a length", "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", false},
		{"in two heads", "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"second head of a connection", "GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"names inside values", "POST / HTTP/1.1\r\nX-A: Transfer-Encoding: chunked\r\nX-B: Content-Length: 3\r\n\r\n", false},
		{"a folded line", "POST / HTTP/1.1\r\nContent-Length: 3\r\nX-A: b\r\n Transfer-Encoding: chunked\r\n\r\n", false},
		{"an odd method", "POST/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"a header line in a head is no request line", "POST / HTTP/1.1\r\nContent-Length: 3\r\nX-A: / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"a body without a line feed, then a head", "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", true},
		{"outside a head, a line ending in a version starts one", "x: y HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for cut := 0; cut <= len(c.in); cut++ {
				var s framingScanner
				at := s.scan([]byte(c.in[:cut]))
				if at < 0 {
					if at = s.scan([]byte(c.in[cut:])); at >= 0 {
						at += cut
					}
				}
				if got := at >= 0; got != c.want {
					t.Fatalf("cut at %d: %v, want %v", cut, got, c.want)
				}
				// It cuts the read after the line that decides.
				if at >= 0 && c.in[at-1] != '\n' {
					t.Fatalf("cut at %d: ambiguous at %d, not after a line feed", cut, at)
				}
			}
		})
	}
}
