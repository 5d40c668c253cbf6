package auth

import "errors"

// ErrNoCredential reports a request without a credential where the policy
// admits no anonymous callers.
var ErrNoCredential = errors.New("auth: a credential is required")

// Error is a credential that was refused. Code is the RFC 6750 error code
// (invalid_token, invalid_request) that the WWW-Authenticate challenge
// carries.
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string { return "auth: " + e.Description }

func invalidToken(desc string) error   { return &Error{Code: "invalid_token", Description: desc} }
func invalidRequest(desc string) error { return &Error{Code: "invalid_request", Description: desc} }
