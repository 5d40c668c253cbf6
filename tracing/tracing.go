package tracing

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentationName names the gateway's tracer.
const InstrumentationName = "github.com/nuls-gateway/nuls-gateway"

// Config says where spans go.
type Config struct {
	// Endpoint is the OTLP/HTTP collector's base URL, such as
	// http://otel-collector:4318 (the traces go to /v1/traces). Empty:
	// the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
	// OTEL_EXPORTER_OTLP_ENDPOINT variable, if either is set; else no
	// export.
	Endpoint string
	// ServiceName and ServiceVersion are the resource's service.name
	// and service.version.
	ServiceName, ServiceVersion string
	// Getenv reads the environment; nil: os.Getenv.
	Getenv func(string) string
}

// Provider is the tracing of a process.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// Tracer returns the gateway's tracer, or nil when nothing is exported.
func (p *Provider) Tracer() trace.Tracer {
	if p == nil || p.tp == nil {
		return nil
	}
	return p.tp.Tracer(InstrumentationName)
}

// Shutdown exports what is buffered and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.tp == nil {
		return nil
	}
	return p.tp.Shutdown(ctx)
}

// Setup installs the W3C propagators and, when an endpoint is configured,
// the exporting provider. It returns a Provider whose Tracer is nil when
// nothing is exported.
func Setup(ctx context.Context, cfg Config) (*Provider, error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var opts []otlptracehttp.Option
	switch {
	case cfg.Endpoint != "":
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("tracing: OTLP endpoint %q: want an http:// or https:// URL", cfg.Endpoint)
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u.JoinPath("v1", "traces").String()))
	case getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "":
		// The exporter reads them itself.
	default:
		return &Provider{}, nil
	}
	if getenv("OTEL_TRACES_EXPORTER") == "none" {
		return &Provider{}, nil
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	return &Provider{tp: NewProvider(sdktrace.NewBatchSpanProcessor(exp), cfg.ServiceName, cfg.ServiceVersion)}, nil
}

// NewProvider is a tracer provider sending its spans to sp, for the
// service; tests give it a recorder.
func NewProvider(sp sdktrace.SpanProcessor, serviceName, serviceVersion string) *sdktrace.TracerProvider {
	res := resourceOf(serviceName, serviceVersion)
	// The sampler is the SDK's default: OTEL_TRACES_SAMPLER when set,
	// else parent-based, sampling a request without a traceparent.
	return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithResource(res))
}

// Attributes of the NULS spans.
var (
	AttrMethod            = attribute.Key("nuls.method")
	AttrMessageID         = attribute.Key("nuls.message_id")
	AttrResponseMessageID = attribute.Key("nuls.response_message_id")
	AttrResponseStatus    = attribute.Key("nuls.response_status")
	AttrResponseErrorCode = attribute.Key("nuls.response_error_code")
)
