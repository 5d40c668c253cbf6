package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// gatewayContainer is the name of the gateway's container in its Deployment.
const gatewayContainer = "gateway"

// defaultShutdownTimeout is the gateway's --shutdown-timeout default.
const defaultShutdownTimeout = 30 * time.Second

// release is the objects of one rendering of the chart, by kind.
type release struct {
	deployments []object
	services    []object
	secrets     map[string]*corev1.Secret
	pdbs        []object
	hpas        []object
	monitors    []object
	ingresses   []object
	policies    []object
}

// checkRelease checks each object and how the objects of one release fit
// together. env is the set of GATEWAY_* variables the gateway reads.
func checkRelease(objs []object, env map[string]bool) []error {
	r := release{secrets: map[string]*corev1.Secret{}}
	var errs []error
	for _, o := range objs {
		errs = append(errs, checkMeta(o)...)
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			r.deployments = append(r.deployments, o)
		case *corev1.Service:
			r.services = append(r.services, o)
		case *corev1.Secret:
			r.secrets[v.Name] = v
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, o)
		case *monitoringv1.ServiceMonitor:
			r.monitors = append(r.monitors, o)
		case *networkingv1.Ingress:
			r.ingresses = append(r.ingresses, o)
		case *networkingv1.NetworkPolicy:
			r.policies = append(r.policies, o)
		}
	}
	gateways := 0
	for _, d := range r.deployments {
		errs = append(errs, r.checkDeployment(d, env)...)
		if hasContainer(d.obj.(*appsv1.Deployment), gatewayContainer) {
			gateways++
		}
	}
	if gateways != 1 {
		errs = append(errs, fmt.Errorf("%d Deployments run a container named %q, want 1", gateways, gatewayContainer))
	}
	for _, s := range r.services {
		errs = append(errs, r.checkService(s)...)
	}
	for _, p := range r.pdbs {
		errs = append(errs, r.checkPDB(p)...)
	}
	for _, h := range r.hpas {
		errs = append(errs, r.checkHPA(h)...)
	}
	for _, m := range r.monitors {
		errs = append(errs, r.checkServiceMonitor(m)...)
	}
	for _, i := range r.ingresses {
		errs = append(errs, r.checkIngress(i)...)
	}
	for _, p := range r.policies {
		errs = append(errs, r.checkNetworkPolicy(p)...)
	}
	return errs
}

func hasContainer(d *appsv1.Deployment, name string) bool {
	return slices.ContainsFunc(d.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == name })
}

// selects reports whether sel selects the pods of d, and returns the error
// of a malformed selector.
func selects(sel *metav1.LabelSelector, d *appsv1.Deployment) (bool, error) {
	if sel == nil {
		return false, fmt.Errorf("no selector")
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, err
	}
	if s.Empty() {
		return false, fmt.Errorf("the selector is empty: it selects every pod of the namespace")
	}
	return s.Matches(labels.Set(d.Spec.Template.Labels)), nil
}

// selectedDeployments returns the Deployments of the release whose pods sel
// selects.
func (r release) selectedDeployments(sel *metav1.LabelSelector) ([]*appsv1.Deployment, error) {
	var out []*appsv1.Deployment
	for _, o := range r.deployments {
		d := o.obj.(*appsv1.Deployment)
		ok, err := selects(sel, d)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func (r release) hpaFor(name string) *autoscalingv2.HorizontalPodAutoscaler {
	for _, o := range r.hpas {
		h := o.obj.(*autoscalingv2.HorizontalPodAutoscaler)
		if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == name {
			return h
		}
	}
	return nil
}

func (r release) checkDeployment(o object, env map[string]bool) []error {
	d := o.obj.(*appsv1.Deployment)
	var errs []error
	fail := failer(&errs, "%s: ", o)
	if ok, err := selects(d.Spec.Selector, d); err != nil {
		fail("spec.selector: %v", err)
	} else if !ok {
		fail("spec.selector does not select the pod template's labels")
	}
	errs = append(errs, checkLabels(o, "spec.template.metadata.labels", d.Spec.Template.Labels)...)
	if r.hpaFor(d.Name) != nil && d.Spec.Replicas != nil {
		fail("spec.replicas is set while a HorizontalPodAutoscaler scales it: every upgrade would reset the count")
	}
	pod := d.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		fail("automountServiceAccountToken is not false: nothing here calls the Kubernetes API")
	}
	if len(pod.Containers) == 0 {
		fail("no containers")
	}
	for _, c := range pod.Containers {
		errs = append(errs, checkContainer(o, pod, c, env, r.secrets)...)
		if c.Name == gatewayContainer {
			errs = append(errs, checkGatewayContainer(o, pod, c)...)
			errs = append(errs, r.checkModuleEndpoint(o, d, c)...)
		}
	}
	return errs
}

// checkContainer checks what every container must have: a pinned image,
// probes on its own ports, resources, a non-root read-only sandbox, and an
// environment that refers only to what exists.
func checkContainer(o object, pod corev1.PodSpec, c corev1.Container, env map[string]bool, secrets map[string]*corev1.Secret) []error {
	var errs []error
	fail := failer(&errs, "%s: container %q: ", o, c.Name)
	if i := strings.LastIndex(c.Image, ":"); i < 0 || strings.Contains(c.Image[i:], "/") || strings.HasSuffix(c.Image, ":latest") {
		fail("image %q has no tag, or :latest", c.Image)
	}
	for name, p := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe} {
		if p == nil {
			fail("no %s", name)
			continue
		}
		if err := checkProbePort(c, p); err != nil {
			fail("%s: %v", name, err)
		}
	}
	if c.StartupProbe != nil {
		if err := checkProbePort(c, c.StartupProbe); err != nil {
			fail("startupProbe: %v", err)
		}
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[res]; !ok {
			fail("no resources.requests.%s", res)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		fail("no resources.limits.memory")
	}
	for res, limit := range c.Resources.Limits {
		if req, ok := c.Resources.Requests[res]; ok && req.Cmp(limit) > 0 {
			fail("resources.requests.%s %s is above its limit %s", res, req.String(), limit.String())
		}
	}
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if !isTrue(sc.RunAsNonRoot) && !isTrue(psc.RunAsNonRoot) {
		fail("runAsNonRoot is not true")
	}
	if (sc.RunAsUser != nil && *sc.RunAsUser == 0) || (sc.RunAsUser == nil && psc.RunAsUser != nil && *psc.RunAsUser == 0) {
		fail("runAsUser is 0")
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		fail("securityContext.readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		fail("securityContext.allowPrivilegeEscalation is not false")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		fail("securityContext.capabilities.drop does not have ALL")
	}
	if sc.Privileged != nil && *sc.Privileged {
		fail("privileged")
	}
	defined := map[string]bool{}
	refRE := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	for _, e := range c.Env {
		if defined[e.Name] {
			fail("env %s is set twice", e.Name)
		}
		if strings.HasPrefix(e.Name, "GATEWAY_") && !env[e.Name] {
			fail("env %s: the gateway reads no such variable", e.Name)
		}
		for _, m := range refRE.FindAllStringSubmatch(e.Value, -1) {
			if !defined[m[1]] {
				fail("env %s refers to $(%s), which is not set before it", e.Name, m[1])
			}
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			if s, ok := secrets[ref.Name]; ok {
				_, inData := s.Data[ref.Key]
				_, inString := s.StringData[ref.Key]
				if !inData && !inString {
					fail("env %s: the Secret %q of the release has no key %q", e.Name, ref.Name, ref.Key)
				}
			}
		}
		defined[e.Name] = true
	}
	return errs
}

func isTrue(b *bool) bool { return b != nil && *b }

// checkProbePort checks that an httpGet or tcpSocket probe targets a port of
// the container.
func checkProbePort(c corev1.Container, p *corev1.Probe) error {
	var port intstr.IntOrString
	switch {
	case p.HTTPGet != nil:
		port = p.HTTPGet.Port
	case p.TCPSocket != nil:
		port = p.TCPSocket.Port
	case p.Exec != nil || p.GRPC != nil:
		return nil
	default:
		return fmt.Errorf("no handler")
	}
	if _, ok := containerPort(c, port); !ok {
		return fmt.Errorf("port %s is not a port of the container", port.String())
	}
	return nil
}

// containerPort resolves a port name or number to a port of c.
func containerPort(c corev1.Container, port intstr.IntOrString) (int32, bool) {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// hasEnv reports whether c sets the variable name, to a value or from a
// source (a Secret, the downward API).
func hasEnv(c corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value != "" || e.ValueFrom != nil
		}
	}
	return false
}

func envValue(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// checkGatewayContainer checks the gateway's own contract: /healthz for
// liveness, /readyz for readiness, the listen port, and a grace period that
// lets the preStop pause and the gateway's drain finish before SIGKILL.
func checkGatewayContainer(o object, pod corev1.PodSpec, c corev1.Container) []error {
	var errs []error
	fail := failer(&errs, "%s: container %q: ", o, c.Name)
	if p := c.LivenessProbe; p != nil && (p.HTTPGet == nil || p.HTTPGet.Path != "/healthz") {
		fail("livenessProbe is not an httpGet of /healthz")
	}
	if p := c.ReadinessProbe; p != nil && (p.HTTPGet == nil || p.HTTPGet.Path != "/readyz") {
		fail("readinessProbe is not an httpGet of /readyz")
	}
	// The gateway starts only with an upstream, or with the simulated
	// node: a made-up chain, with funded accounts, in every pod.
	if !hasEnv(c, "GATEWAY_UPSTREAM") && len(c.EnvFrom) == 0 {
		fail("no GATEWAY_UPSTREAM: the gateway would not start")
	}
	if v, ok := envValue(c, "GATEWAY_SIMULATED_NODE"); ok {
		if on, err := strconv.ParseBool(v); err != nil || on {
			fail("GATEWAY_SIMULATED_NODE %q: every pod would serve a simulated chain of its own; use the chart's devnode (devnode.enabled) for a test cluster", v)
		}
	}
	listen, ok := envValue(c, "GATEWAY_LISTEN")
	if !ok {
		listen = ":8080"
	}
	if i := strings.LastIndex(listen, ":"); i < 0 {
		fail("GATEWAY_LISTEN %q has no port", listen)
	} else if n, err := strconv.Atoi(listen[i+1:]); err != nil {
		fail("GATEWAY_LISTEN %q: %v", listen, err)
	} else if p := c.ReadinessProbe; p != nil && p.HTTPGet != nil {
		if port, _ := containerPort(c, p.HTTPGet.Port); port != int32(n) {
			fail("the probes target port %d but GATEWAY_LISTEN is %q", port, listen)
		}
	}
	shutdown := defaultShutdownTimeout
	if v, ok := envValue(c, "GATEWAY_SHUTDOWN_TIMEOUT"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			fail("GATEWAY_SHUTDOWN_TIMEOUT %q: %v", v, err)
		}
		shutdown = d
	}
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		h := c.Lifecycle.PreStop
		switch {
		case h.Sleep != nil:
			preStop = time.Duration(h.Sleep.Seconds) * time.Second
		case h.Exec != nil:
			fail("preStop runs a command, but the image has no shell and no sleep: use the sleep action")
		}
	}
	grace := 30 * time.Second
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	if grace <= preStop+shutdown {
		fail("terminationGracePeriodSeconds %v is not above the preStop sleep %v plus GATEWAY_SHUTDOWN_TIMEOUT %v: pods would be killed mid-drain",
			grace, preStop, shutdown)
	}
	return errs
}

func (r release) checkService(o object) []error {
	s := o.obj.(*corev1.Service)
	var errs []error
	fail := failer(&errs, "%s: ", o)
	sel := &metav1.LabelSelector{MatchLabels: s.Spec.Selector}
	ds, err := r.selectedDeployments(sel)
	if err != nil {
		fail("spec.selector: %v", err)
		return errs
	}
	if len(ds) != 1 {
		fail("spec.selector selects the pods of %d Deployments, want 1", len(ds))
		return errs
	}
	for _, p := range s.Spec.Ports {
		target := p.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(p.Port)
		}
		found := false
		for _, c := range ds[0].Spec.Template.Spec.Containers {
			if _, ok := containerPort(c, target); ok {
				found = true
			}
		}
		if !found {
			fail("port %q: targetPort %s is not a port of the Deployment %q", p.Name, target.String(), ds[0].Name)
		}
	}
	return errs
}

func (r release) checkPDB(o object) []error {
	p := o.obj.(*policyv1.PodDisruptionBudget)
	var errs []error
	fail := failer(&errs, "%s: ", o)
	ds, err := r.selectedDeployments(p.Spec.Selector)
	if err != nil {
		fail("spec.selector: %v", err)
		return errs
	}
	if len(ds) != 1 {
		fail("spec.selector selects the pods of %d Deployments, want 1", len(ds))
		return errs
	}
	d := ds[0]
	if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
		fail("set exactly one of minAvailable and maxUnavailable")
		return errs
	}
	// The fewest pods the Deployment may have: a PDB demanding them all
	// would block every node drain.
	fewest := int32(1)
	if d.Spec.Replicas != nil {
		fewest = *d.Spec.Replicas
	}
	if h := r.hpaFor(d.Name); h != nil && h.Spec.MinReplicas != nil {
		fewest = *h.Spec.MinReplicas
	}
	if v := p.Spec.MaxUnavailable; v != nil {
		n, err := intstr.GetScaledValueFromIntOrPercent(v, int(fewest), true)
		if err != nil || n < 1 {
			fail("maxUnavailable %s lets no pod be evicted", v.String())
		}
	}
	if v := p.Spec.MinAvailable; v != nil {
		n, err := intstr.GetScaledValueFromIntOrPercent(v, int(fewest), true)
		if err != nil || n >= int(fewest) {
			fail("minAvailable %s is not below the %d pods the Deployment %q may have: no pod could be evicted", v.String(), fewest, d.Name)
		}
	}
	return errs
}

func (r release) checkHPA(o object) []error {
	h := o.obj.(*autoscalingv2.HorizontalPodAutoscaler)
	var errs []error
	fail := failer(&errs, "%s: ", o)
	ref := h.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" {
		fail("scaleTargetRef is %s %s, want apps/v1 Deployment", ref.APIVersion, ref.Kind)
	}
	var target *appsv1.Deployment
	for _, d := range r.deployments {
		if d.meta.GetName() == ref.Name {
			target = d.obj.(*appsv1.Deployment)
		}
	}
	if target == nil {
		fail("scaleTargetRef names %q, which is no Deployment of the release", ref.Name)
		return errs
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 {
		fail("minReplicas is below 2: one pod is no cluster")
	} else if *h.Spec.MinReplicas > h.Spec.MaxReplicas {
		fail("minReplicas %d is above maxReplicas %d", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if len(h.Spec.Metrics) == 0 {
		fail("no metrics")
	}
	for _, m := range h.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil {
			continue
		}
		if m.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
			for _, c := range target.Spec.Template.Spec.Containers {
				if _, ok := c.Resources.Requests[m.Resource.Name]; !ok {
					fail("scales on %s utilization but container %q requests no %s", m.Resource.Name, c.Name, m.Resource.Name)
				}
			}
		}
	}
	return errs
}

func (r release) checkServiceMonitor(o object) []error {
	m := o.obj.(*monitoringv1.ServiceMonitor)
	var errs []error
	fail := failer(&errs, "%s: ", o)
	sel, err := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
	if err != nil || sel.Empty() {
		fail("spec.selector is empty or malformed")
		return errs
	}
	var svc *corev1.Service
	for _, s := range r.services {
		if sel.Matches(labels.Set(s.meta.GetLabels())) {
			if svc != nil {
				fail("spec.selector selects more than one Service")
			}
			svc = s.obj.(*corev1.Service)
		}
	}
	if svc == nil {
		fail("spec.selector selects no Service of the release")
		return errs
	}
	if len(m.Spec.Endpoints) == 0 {
		fail("no endpoints")
	}
	for _, ep := range m.Spec.Endpoints {
		if ep.Port == "" || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
			fail("endpoint port is not a named port of the Service %q", svc.Name)
		}
		if ep.Path != "/metrics" {
			fail("endpoint path %q, want /metrics", ep.Path)
		}
	}
	return errs
}

func (r release) checkIngress(o object) []error {
	ing := o.obj.(*networkingv1.Ingress)
	var errs []error
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			b := p.Backend.Service
			if b == nil {
				continue
			}
			var svc *corev1.Service
			for _, s := range r.services {
				if s.meta.GetName() == b.Name {
					svc = s.obj.(*corev1.Service)
				}
			}
			if svc == nil {
				errs = append(errs, fmt.Errorf("%s: path %q: backend Service %q is not in the release", o, p.Path, b.Name))
				continue
			}
			if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool {
				return (b.Port.Name != "" && sp.Name == b.Port.Name) || (b.Port.Number != 0 && sp.Port == b.Port.Number)
			}) {
				errs = append(errs, fmt.Errorf("%s: path %q: the Service %q has no port %+v", o, p.Path, b.Name, b.Port))
			}
		}
	}
	return errs
}
