package tracing

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
)

// resourceOf describes the process, with what OTEL_RESOURCE_ATTRIBUTES
// and OTEL_SERVICE_NAME add or override.
func resourceOf(serviceName, serviceVersion string) *resource.Resource {
	own := resource.NewSchemaless(attribute.String("service.name", serviceName), attribute.String("service.version", serviceVersion))
	r, err := resource.Merge(own, resource.Environment())
	if err != nil {
		return own
	}
	return r
}
