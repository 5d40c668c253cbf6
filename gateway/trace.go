package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/nuls-gateway/nuls-gateway/bridge"
	"github.com/nuls-gateway/nuls-gateway/gateway/edge"
	"github.com/nuls-gateway/nuls-gateway/gateway/metrics"
	"github.com/nuls-gateway/nuls-gateway/tracing"
)

// traceRequests gives each request a server span that continues the
// caller's trace (W3C traceparent), named by its route once routed. It is
// only in the chain when Config.Tracer is set.
func (s *Server) traceRequests(next http.Handler) http.Handler {
	prop := otel.GetTextMapPropagator()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		// Span names are a bounded set, as metric labels (a stranger's
		// method token is in the attribute, not the name).
		method := metrics.HTTPMethodLabel(r.Method)
		ctx, span := s.cfg.Tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
				attribute.String("client.address", s.guard.ClientIP(r))))
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			span.SetName(method + " " + rc.RoutePattern())
			span.SetAttributes(attribute.String("http.route", rc.RoutePattern()))
		}
		if st := edge.StateOf(r); st != nil && st.Status() != 0 {
			span.SetAttributes(attribute.Int("http.response.status_code", st.Status()))
			if st.Status() >= 500 {
				span.SetStatus(codes.Error, http.StatusText(st.Status()))
			}
		}
	})
}

// traceCall starts the client span of an upstream call; end ends it with
// what the call gave. Without a tracer both do nothing.
func (s *Server) traceCall(ctx context.Context, calls []bridge.MethodCall) (context.Context, func(*bridge.Reply, error)) {
	if s.cfg.Tracer == nil {
		return ctx, func(*bridge.Reply, error) {}
	}
	name := s.metricMethod(calls)
	ctx, span := s.cfg.Tracer.Start(ctx, "nuls "+name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(tracing.AttrMethod.String(name)))
	return ctx, func(reply *bridge.Reply, err error) {
		defer span.End()
		if reply != nil {
			span.SetAttributes(tracing.AttrMessageID.String(reply.RequestID), tracing.AttrResponseMessageID.String(reply.MessageID))
		}
		if err == nil {
			return
		}
		var rpcErr *bridge.RPCError
		if errors.As(err, &rpcErr) {
			span.SetAttributes(tracing.AttrResponseStatus.Int(rpcErr.Status), tracing.AttrResponseErrorCode.String(rpcErr.Code))
		}
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}
