package e2e

import (
	"context"
	"net"
	"testing"
)

// devnodeProc is the simulated NULS node (cmd/devnode) as a process of its
// own on a free port, which a test may kill and start again on the same
// port. A restarted node is a new chain: its height starts at 0 again and
// its balances are the genesis ones.
type devnodeProc struct {
	*daemon
	// URL is the node's main endpoint for --upstream: ws://127.0.0.1:port.
	URL string
}

// startDevnode builds cmd/devnode once per run and runs it on a free port
// of 127.0.0.1 with the flags given (such as --block-interval); it returns
// once the node accepts connections. It is killed in t.Cleanup.
func startDevnode(t *testing.T, args ...string) *devnodeProc {
	t.Helper()
	bin := devnodeBinary(t)
	addr := localAddr(freePort(t))
	args = append([]string{"--listen", addr}, args...)
	dial := func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	n := &devnodeProc{daemon: newDaemon(t, "devnode", bin, addr, args, dial), URL: "ws://" + addr}
	n.start(t)
	return n
}
