package upstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nuls-gateway/nuls-gateway/bridge"
)

// ErrOutcomeUnknown is wrapped by the failure of a write whose Request may
// have reached a node that then gave no outcome: it may or may not have
// been done, and only the client, with an Idempotency-Key, can retry it
// safely. The gateway answers it with 502, whichever upstream it has.
var ErrOutcomeUnknown = errors.New("upstream: the node failed after the request was sent: its outcome is unknown")

// MaybeSent reports whether a failed call's Request may have reached the
// node, which then gave no outcome: the connection was lost, the call timed
// out or was given up (by the caller too: its deadline, or a client gone,
// ends the wait, not the node's work), or the module failed unexpectedly
// (err_0002: a handler that broke off, as a stopping node's do, may have
// done part of its work). A business failure is an outcome; not connected
// is none.
func MaybeSent(err error) bool {
	var rpcErr *bridge.RPCError
	if errors.As(err, &rpcErr) {
		return rpcErr.Code == bridge.CodeServerError
	}
	return errors.Is(err, bridge.ErrConnectionLost) || errors.Is(err, bridge.ErrTimeout) ||
		errors.Is(err, bridge.ErrClosed) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// Outcome returns the failure err of calls as the client must read it: a
// call among them that changes state (isWrite) and a failure after which it
// may have been done is ErrOutcomeUnknown. The one rule for every upstream,
// a single node or several.
func Outcome(calls []bridge.MethodCall, isWrite func(method string) bool, err error) error {
	if err == nil || errors.Is(err, ErrOutcomeUnknown) || !MaybeSent(err) {
		return err
	}
	for _, c := range calls {
		if isWrite(c.Method) {
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
	}
	return err
}
