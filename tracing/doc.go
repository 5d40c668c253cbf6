// Package tracing sets up OpenTelemetry tracing for the gateway: a W3C
// Trace Context (traceparent, tracestate) and Baggage propagator, and,
// when an OTLP endpoint is configured, a batching OTLP/HTTP exporter of
// the spans. With no endpoint nothing is exported and no tracer is
// returned: the gateway then adds no tracing work to a call at all.
//
// The spans (package gateway makes them): one server span per HTTP
// request, continuing the caller's trace from its traceparent, named by
// its route; and one client span per upstream NULS call, with the
// Request's and the Response's MessageIDs (nuls.message_id,
// nuls.response_message_id), the method and, on a failure, the NULS
// status and code.
//
// # Concurrency
//
// Setup is called once, at startup; the Provider's Tracer and Shutdown
// are safe for concurrent use.
package tracing
