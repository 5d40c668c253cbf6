package bridge

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrInvalidMessage is wrapped by every *DecodeError and by Encode
	// failures: the frame is not a protocol message we can use.
	ErrInvalidMessage = errors.New("bridge: invalid message")
	// ErrUnknownField is wrapped by the *DecodeError of DecodeStrict for a
	// field a Java peer does not know (D2).
	ErrUnknownField = errors.New("bridge: unknown field")

	// ErrNotConnected is returned for a call made while no connection is
	// negotiated. The gateway maps it to 503.
	ErrNotConnected = errors.New("bridge: not connected")
	// ErrConnectionLost fails a call whose connection dropped before its
	// Response arrived. The gateway maps it to 503.
	ErrConnectionLost = errors.New("bridge: connection lost")
	// ErrTimeout fails a call whose Response did not arrive in time (D19).
	// The gateway maps it to 504.
	ErrTimeout = errors.New("bridge: call timed out")
	// ErrClosed is returned by operations on a closed Client, Conn,
	// Subscription or Module.
	ErrClosed = errors.New("bridge: closed")
	// ErrNegotiationFailed reports a peer that refused our
	// NegotiateConnection or did not answer it (D8).
	ErrNegotiationFailed = errors.New("bridge: negotiation failed")
	// ErrSlowConsumer ends a Subscription whose consumer fell so far behind
	// that its buffer filled up.
	ErrSlowConsumer = errors.New("bridge: subscription consumer too slow")
)

// DecodeError reports why a frame could not be decoded. It wraps
// ErrInvalidMessage, or ErrUnknownField in strict mode.
type DecodeError struct {
	// Field is the path of the offending field, such as
	// "MessageData.RequestMethods"; empty for the frame as a whole.
	Field string
	// Reason says what is wrong, for logs and error replies.
	Reason string

	kind error
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "bridge: decode: " + e.Reason
	}
	return "bridge: decode " + e.Field + ": " + e.Reason
}

// Unwrap returns the sentinel the error belongs to.
func (e *DecodeError) Unwrap() error {
	if e.kind == nil {
		return ErrInvalidMessage
	}
	return e.kind
}

func decodeErr(field, format string, args ...any) *DecodeError {
	return &DecodeError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Error codes used by our module side. They are the Java module's codes, so
// that a client written against a real node sees the same values
// (docs/protocol.md#errors).
const (
	CodeServerError    = "err_0002" // the handler failed unexpectedly
	CodeParameterError = "err_0012" // missing, out of range or malformed parameter
	CodeMethodNotFound = "err_0021" // no such method (or version)
	CodeRequestTimeout = "err_0022" // Java's client-side timeout code
)

// Nulstar's status values (docs/protocol.md#errors) that callers may branch
// on.
const (
	NulstarStatusMethodError   = 1 // method could not be executed
	NulstarStatusNoMethod      = 2 // method not found on this channel (NCN-2)
	NulstarStatusUnavailable   = 5 // method not available any more / HTTP timeout
	NulstarStatusMessageFormat = 7 // malformed message
)

// RPCError is a failure reported by the peer in a Response (D3): a non-zero
// ResponseStatus with its code and comment.
type RPCError struct {
	// Method is the method the failure belongs to, when known.
	Method string
	// Status is the ResponseStatus: 65536 from Java, 1-7 from Nulstar.
	Status int
	// Code is the ResponseErrorCode, such as "err_0021" or "NCN-2".
	Code string
	// Comment is the ResponseComment, a human-readable reason.
	Comment string
}

func (e *RPCError) Error() string {
	var b strings.Builder
	b.WriteString("bridge: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "status %d", e.Status)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Comment != "" {
		b.WriteString(": ")
		b.WriteString(e.Comment)
	}
	return b.String()
}

// MethodNotFound reports whether the peer said the method does not exist:
// Java's err_0021 or Nulstar's status 2.
func (e *RPCError) MethodNotFound() bool {
	return e.Code == CodeMethodNotFound || e.Code == "NCN-2" || (e.Status == NulstarStatusNoMethod && e.Code == "")
}

// InvalidParams reports whether the peer rejected the parameters (Java's
// err_0012).
func (e *RPCError) InvalidParams() bool { return e.Code == CodeParameterError }

// newRPCError builds the error carried by a failed Response.
func newRPCError(method string, r *Response) *RPCError {
	return &RPCError{Method: method, Status: r.ResponseStatus, Code: r.ResponseErrorCode, Comment: r.ResponseComment}
}
