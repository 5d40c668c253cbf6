package gateway

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/nuls-gateway/nuls-gateway/tracing"
)

// TestTracing: a call with a W3C traceparent gets a server span in the
// caller's trace, named by its route, and a client span for the upstream
// call carrying the NULS MessageIDs the answer's headers show.
func TestTracing(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	rec := tracetest.NewSpanRecorder()
	tp := tracing.NewProvider(rec, "nuls-gateway-test", "test")
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	tg := startGateway(t, gatewayOptions{cfg: Config{Tracer: tp.Tracer(tracing.InstrumentationName)}})
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	status, h, body := postWith(t, tg.url+"/rpc/latestHeight", `{"chainId":2}`, map[string]string{
		"Content-Type": "application/json", "traceparent": "00-" + traceID + "-" + parentID + "-01"})
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	var server, client sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.SpanKind() {
		case trace.SpanKindServer:
			server = s
		case trace.SpanKindClient:
			client = s
		}
	}
	if server == nil || client == nil {
		t.Fatalf("spans %v: want a server and a client span", rec.Ended())
	}
	if server.SpanContext().TraceID().String() != traceID || server.Parent().SpanID().String() != parentID || server.Name() != "POST /rpc/{method}" {
		t.Errorf("server span %q in trace %s under %s", server.Name(), server.SpanContext().TraceID(), server.Parent().SpanID())
	}
	if client.Parent().SpanID() != server.SpanContext().SpanID() || client.Name() != "nuls latestHeight" {
		t.Errorf("client span %q under %s, want under the server span", client.Name(), client.Parent().SpanID())
	}
	attrs := map[string]string{}
	for _, a := range client.Attributes() {
		attrs[string(a.Key)] = a.Value.String()
	}
	if attrs["nuls.message_id"] != h.Get(headerRequestID) || attrs["nuls.response_message_id"] != h.Get(headerMessageID) || attrs["nuls.method"] != "latestHeight" {
		t.Errorf("client span attributes %v; answer headers %s=%s %s=%s", attrs, headerRequestID, h.Get(headerRequestID), headerMessageID, h.Get(headerMessageID))
	}
}
