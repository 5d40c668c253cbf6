// Package ratelimit limits how fast each caller may use the gateway: the
// Generic Cell Rate Algorithm (GCRA, the leaky bucket as a meter) over
// named plans, with weighted requests.
//
// A Plan allows Rate units per Period, with bursts up to Burst units; a
// request costs its weight. The state of a caller is one timestamp, the
// theoretical arrival time (TAT), so a check is one read and one write: in
// Redis, one EVALSHA of a Lua script (RedisLimiter), shared by every
// instance and timed by the Redis server's clock; in memory, a map
// (LocalLimiter). Fallback uses Redis and, when it does not answer within
// a few milliseconds, the local limiter of its instance, so that a Redis
// outage degrades the limits to per-instance ones rather than stopping the
// calls or letting them through unmetered.
//
// Results carry what the IETF RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers) announce: the policy's quota and
// window, the units remaining and the seconds until the quota is whole
// again, and, for a refusal, how long to wait (Retry-After).
//
// # Concurrency
//
// Every limiter is safe for concurrent use and starts no goroutine.
package ratelimit
