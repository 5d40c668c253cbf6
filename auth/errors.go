package auth

import "errors"

// ErrNoCredential reports a request without a credential where the policy
// admits no anonymous callers.
var ErrNoCredential = errors.New("auth: a credential is required")

// Error is a credential that was refused. Code is the RFC 6750 error code
// (invalid_token, invalid_request) that the WWW-Authenticate challenge
// carries; Reason, one of the Reason constants, says why for the metrics.
type Error struct {
	Code        string
	Reason      string
	Description string
}

func (e *Error) Error() string { return "auth: " + e.Description }

// Why a credential was refused (Error.Reason): a fixed set, so that a
// metric may carry it as a label.
const (
	// ReasonMalformed: a request that does not say its credential right
	// (two of them, another scheme than Bearer, empty, too long, neither
	// an API key nor a JWT).
	ReasonMalformed = "malformed"
	// ReasonInvalidKey: an API key no store has, or keys not accepted.
	ReasonInvalidKey = "invalid_key"
	// ReasonInvalidJWT: a JWT that does not verify, or JWTs not accepted.
	ReasonInvalidJWT = "invalid_jwt"
	// ReasonInvalidTicket: a stream ticket that does not verify, or one
	// given where a credential is needed.
	ReasonInvalidTicket = "invalid_ticket"
	// ReasonExpired: an API key, a JWT or a stream ticket past its expiry.
	ReasonExpired = "expired"
	// ReasonRevoked: an API key revoked, or whose grants narrowed, while
	// a stream it opened was open.
	ReasonRevoked = "revoked"
)

func invalidToken(reason, desc string) error {
	return &Error{Code: "invalid_token", Reason: reason, Description: desc}
}

func invalidRequest(desc string) error {
	return &Error{Code: "invalid_request", Reason: ReasonMalformed, Description: desc}
}
