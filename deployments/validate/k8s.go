package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// kinds are the objects the chart may render, each with the Go type of its
// schema. A kind missing here fails validation: add it with its type.
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"v1/Secret":                               func() any { return new(corev1.Secret) },
	"v1/Service":                              func() any { return new(corev1.Service) },
	"v1/ServiceAccount":                       func() any { return new(corev1.ServiceAccount) },
	"apps/v1/Deployment":                      func() any { return new(appsv1.Deployment) },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"networking.k8s.io/v1/Ingress":            func() any { return new(networkingv1.Ingress) },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return new(networkingv1.NetworkPolicy) },
	"policy/v1/PodDisruptionBudget":           func() any { return new(policyv1.PodDisruptionBudget) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(monitoringv1.ServiceMonitor) },
}

// object is one decoded manifest.
type object struct {
	pos  string // file and document number, for messages
	kind string // apiVersion/kind
	meta metav1.Object
	obj  any // a pointer to the typed struct of kind
}

func (o object) String() string {
	return fmt.Sprintf("%s %s %q", o.pos, o.kind, o.meta.GetName())
}

// decodeManifests reads the YAML documents of path (the output of helm
// template) into their typed structs, strictly: a field the schema does not
// have, a field given twice or a value of the wrong type is an error.
func decodeManifests(path string) ([]object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var objs []object
	var errs []error
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pos := fmt.Sprintf("%s#%d", path, i)
		var head map[string]any
		if err := yaml.Unmarshal(doc, &head); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pos, err))
			continue
		}
		if head == nil { // only comments, such as "# Source: ..."
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pos, err))
			continue
		}
		kind := tm.APIVersion + "/" + tm.Kind
		newObj, ok := kinds[kind]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no schema for %s (add it to kinds in k8s.go)", pos, kind))
			continue
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict(bytes.TrimSpace(doc), obj); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", pos, kind, err))
			continue
		}
		objs = append(objs, object{pos: pos, kind: kind, meta: obj.(metav1.Object), obj: obj})
	}
	if len(objs) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no manifests", path))
	}
	return objs, errors.Join(errs...)
}

// summary counts the objects by kind: "Deployment×1 Service×1".
func summary(objs []object) string {
	n := map[string]int{}
	for _, o := range objs {
		n[o.kind[strings.LastIndex(o.kind, "/")+1:]]++
	}
	var parts []string
	for k, c := range n {
		parts = append(parts, fmt.Sprintf("%s×%d", k, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// checkMeta checks the name and the labels of an object as the API server
// would.
func checkMeta(o object) []error {
	var errs []error
	name := o.meta.GetName()
	var msgs []string
	if _, isService := o.obj.(*corev1.Service); isService {
		msgs = validation.IsDNS1035Label(name)
	} else {
		msgs = validation.IsDNS1123Subdomain(name)
	}
	for _, m := range msgs {
		errs = append(errs, fmt.Errorf("%s: name: %s", o, m))
	}
	errs = append(errs, checkLabels(o, "metadata.labels", o.meta.GetLabels())...)
	return errs
}

func checkLabels(o object, where string, labels map[string]string) []error {
	var errs []error
	for k, v := range labels {
		for _, m := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("%s: %s key %q: %s", o, where, k, m))
		}
		for _, m := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("%s: %s %q value %q: %s", o, where, k, v, m))
		}
	}
	return errs
}
