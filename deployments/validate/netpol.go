package main

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkModuleEndpoint checks the gateway's module endpoint (the manager
// topology): whoever reaches it can call the gateway's compound methods with
// the module network's scopes, so it must listen on the pod's IP rather
// than every interface, and a NetworkPolicy of the release must admit it
// only from chosen peers.
func (r release) checkModuleEndpoint(o object, d *appsv1.Deployment, c corev1.Container) []error {
	if topology, _ := envValue(c, "GATEWAY_TOPOLOGY"); topology != "manager" {
		return nil
	}
	var errs []error
	fail := failer(&errs, "%s: container %q: ", o, c.Name)
	listen, ok := envValue(c, "GATEWAY_MODULE_LISTEN")
	if !ok {
		fail("the manager topology without GATEWAY_MODULE_LISTEN")
		return errs
	}
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		fail("GATEWAY_MODULE_LISTEN %q: %v", listen, err)
		return errs
	}
	if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
		fail("GATEWAY_MODULE_LISTEN %q listens on every interface of the pod: bind it to the pod's IP ($(POD_IP))", listen)
	}
	n, err := strconv.Atoi(portText)
	if err != nil {
		fail("GATEWAY_MODULE_LISTEN %q: %v", listen, err)
		return errs
	}
	port := int32(n)
	if _, ok := containerPort(c, intstr.FromInt32(port)); !ok {
		fail("GATEWAY_MODULE_LISTEN %q: port %d is not a port of the container", listen, port)
	}
	isolated := false
	for _, po := range r.policies {
		p := po.obj.(*networkingv1.NetworkPolicy)
		if ok, _ := selects(&p.Spec.PodSelector, d); !ok || !hasIngress(p) {
			continue
		}
		isolated = true
		for i, rule := range p.Spec.Ingress {
			if !covers(rule.Ports, c, port) {
				continue
			}
			if len(rule.From) == 0 {
				errs = append(errs, fmt.Errorf("%s: ingress[%d] admits the module port %d from anywhere", po, i, port))
			}
			for j, peer := range rule.From {
				if unbounded(peer) {
					errs = append(errs, fmt.Errorf("%s: ingress[%d].from[%d] admits the module port %d from every pod (an empty selector) or address", po, i, j, port))
				}
			}
		}
	}
	if !isolated {
		fail("no NetworkPolicy of the release isolates the gateway's pods: the module port %d is open to every pod of the cluster", port)
	}
	return errs
}

// checkNetworkPolicy checks that a NetworkPolicy selects the gateway's pods,
// that its ports are theirs, and that the HTTP port stays reachable.
func (r release) checkNetworkPolicy(o object) []error {
	p := o.obj.(*networkingv1.NetworkPolicy)
	var errs []error
	fail := failer(&errs, "%s: ", o)
	ds, err := r.selectedDeployments(&p.Spec.PodSelector)
	if err != nil {
		fail("spec.podSelector: %v", err)
		return errs
	}
	if len(ds) != 1 {
		fail("spec.podSelector selects the pods of %d Deployments, want 1", len(ds))
		return errs
	}
	var gw *corev1.Container
	for i, c := range ds[0].Spec.Template.Spec.Containers {
		if c.Name == gatewayContainer {
			gw = &ds[0].Spec.Template.Spec.Containers[i]
		}
	}
	if gw == nil {
		fail("it selects the Deployment %q, which runs no gateway", ds[0].Name)
		return errs
	}
	for i, rule := range p.Spec.Ingress {
		for _, np := range rule.Ports {
			if np.Port != nil {
				if _, ok := containerPort(*gw, *np.Port); !ok && np.Port.Type == intstr.String {
					fail("ingress[%d]: port %q is not a port of the gateway container", i, np.Port.StrVal)
				}
			}
		}
	}
	if http, ok := containerPort(*gw, intstr.FromString("http")); ok && hasIngress(p) {
		admitted := false
		for _, rule := range p.Spec.Ingress {
			admitted = admitted || covers(rule.Ports, *gw, http)
		}
		if !admitted {
			fail("no ingress rule admits the HTTP port %d: the Service would reach no pod", http)
		}
	}
	return errs
}

// hasIngress reports whether p isolates its pods' ingress: policyTypes
// names Ingress, or is empty (then Ingress is implied).
func hasIngress(p *networkingv1.NetworkPolicy) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return true
	}
	for _, t := range p.Spec.PolicyTypes {
		if t == networkingv1.PolicyTypeIngress {
			return true
		}
	}
	return false
}

// covers reports whether the ports of an ingress rule admit port (TCP) of c.
func covers(ports []networkingv1.NetworkPolicyPort, c corev1.Container, port int32) bool {
	if len(ports) == 0 {
		return true // every port
	}
	for _, np := range ports {
		if np.Protocol != nil && *np.Protocol != corev1.ProtocolTCP {
			continue
		}
		switch {
		case np.Port == nil:
			return true
		case np.Port.Type == intstr.String:
			if n, ok := containerPort(c, *np.Port); ok && n == port {
				return true
			}
		default:
			end := np.Port.IntVal
			if np.EndPort != nil {
				end = *np.EndPort
			}
			if np.Port.IntVal <= port && port <= end {
				return true
			}
		}
	}
	return false
}

// unbounded reports whether a peer admits everything: no ipBlock and no
// selector with a term, or an ipBlock of every address.
func unbounded(peer networkingv1.NetworkPolicyPeer) bool {
	if peer.IPBlock != nil {
		pfx, err := netip.ParsePrefix(peer.IPBlock.CIDR)
		return err == nil && pfx.Bits() == 0
	}
	return emptySelector(peer.PodSelector) && emptySelector(peer.NamespaceSelector)
}

func emptySelector(s *metav1.LabelSelector) bool {
	return s == nil || len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}
