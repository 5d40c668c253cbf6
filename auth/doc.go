// Package auth tells who is calling the gateway: API keys, JWTs, signed
// stream tickets, or nobody (the anonymous policy).
//
// An Authenticator turns the credential of an HTTP request into a
// Principal: the caller's identity (for rate limits, fair shares and the
// data it owns), its scopes, an optional allow-list of methods, its rate
// plan and when its credential expires. Credentials come as
//
//   - an API key, in "Authorization: Bearer ngw_…" or "X-API-Key: ngw_…";
//     keys are stored hashed (SHA-256 of the whole key, which carries 256
//     random bits) in a JSON file (FileKeys) and/or in Redis (RedisKeys);
//   - a JWT in "Authorization: Bearer …", HS256 with a shared secret or
//     RS256/ES256/EdDSA (and their kin) with a JWKS from a file or a URL;
//     exp is required, nbf, iss and aud are checked, and claims map to
//     scopes, methods and the plan;
//   - a stream ticket, on stream routes only (EventSource cannot send
//     headers): a short-lived HS256 token the gateway signs for an
//     authenticated caller, given as the ticket query parameter or the
//     HttpOnly cookie nulsgw_ticket. It carries the caller's grants, the
//     ID of the credential it was issued for and that credential's
//     expiry. It opens streams only: Authenticate refuses it in the ticket
//     query parameter and as a bearer token (even one signed with the JWT
//     secret), and ignores the cookie.
//
// Authenticator.Recheck tells, cheaply (the key stores' caches, one lookup
// per key), whether principals' credentials still hold: not expired, the
// API key not revoked nor narrowed. The gateway runs it over its open
// streams and sockets, and AuthenticateStream over a ticket's credential:
// a ticket of a revoked key opens nothing. A JWT cannot be revoked: its
// expiry is all that is checked.
//
// A request with no credential gets the anonymous Principal when the policy
// allows anonymous callers, and ErrNoCredential otherwise. A credential that
// is present but wrong is never downgraded to anonymous.
//
// # Concurrency
//
// Authenticator, FileKeys, RedisKeys and Tickets are safe for concurrent
// use. Authenticator.Run owns the background work (reloading the key file,
// refreshing a JWKS fetched from a URL) and returns when its context ends;
// until Run is called, a file's keys and a JWKS are those read by New.
package auth
