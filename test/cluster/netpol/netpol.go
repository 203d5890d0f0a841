// Package netpol decides whether Kubernetes NetworkPolicies admit a TCP connection to a pod,
// following the networking.k8s.io/v1 semantics a policy-enforcing CNI implements for ingress:
// a pod selected by no Ingress policy accepts everything; a selected pod accepts a connection
// only when some rule of some selecting policy matches both its source and its port.
package netpol

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Source is where a connection comes from.
type Source struct {
	IP net.IP
	// Pod sources have the labels of their pod and of their namespace; host-network sources
	// (kube-apiserver, the kubelet) have neither, so only ipBlock peers can admit them.
	PodLabels       map[string]string
	NamespaceLabels map[string]string
	// Namespace of a pod source.
	Namespace string
}

// IsPod reports whether the source is a pod (pod and namespace selectors apply to it).
func (s Source) IsPod() bool { return s.NamespaceLabels != nil }

// Decision is the verdict with the policies that made it, for messages.
type Decision struct {
	Allowed bool
	// Names of the Ingress policies that select the pod (none: the pod is not isolated).
	Selecting []string
	// The policy whose rule admitted the connection.
	AllowedBy string
}

func (d Decision) String() string {
	switch {
	case len(d.Selecting) == 0:
		return "no NetworkPolicy isolates the pod for ingress"
	case d.Allowed:
		return fmt.Sprintf("admitted by NetworkPolicy %s", d.AllowedBy)
	default:
		return fmt.Sprintf("no rule of NetworkPolicies %s admits it", strings.Join(d.Selecting, ", "))
	}
}

// IngressAllowed decides whether src may open a connection to port/protocol of pod, given the
// NetworkPolicies of the pod's namespace.
func IngressAllowed(policies []*networkingv1.NetworkPolicy, pod *corev1.Pod, port int32, protocol corev1.Protocol, src Source) (Decision, error) {
	var d Decision
	sorted := append([]*networkingv1.NetworkPolicy(nil), policies...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, p := range sorted {
		if p.Namespace != pod.Namespace || !hasIngressType(p) {
			continue
		}
		selects, err := matches(&p.Spec.PodSelector, pod.Labels)
		if err != nil {
			return d, fmt.Errorf("NetworkPolicy %s podSelector: %w", p.Name, err)
		}
		if !selects {
			continue
		}
		d.Selecting = append(d.Selecting, p.Name)
		if d.Allowed {
			continue
		}
		for _, rule := range p.Spec.Ingress {
			portOK := portsMatch(rule.Ports, pod, port, protocol)
			if !portOK {
				continue
			}
			peerOK, err := peersMatch(rule.From, p.Namespace, src)
			if err != nil {
				return d, fmt.Errorf("NetworkPolicy %s: %w", p.Name, err)
			}
			if peerOK {
				d.Allowed, d.AllowedBy = true, p.Name
				break
			}
		}
	}
	if len(d.Selecting) == 0 {
		d.Allowed = true
	}
	return d, nil
}

// hasIngressType: policyTypes lists Ingress, or is empty (then Ingress is always implied).
func hasIngressType(p *networkingv1.NetworkPolicy) bool {
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

func matches(selector *metav1.LabelSelector, set map[string]string) (bool, error) {
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(set)), nil
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, pod *corev1.Pod, port int32, protocol corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		want := corev1.ProtocolTCP
		if p.Protocol != nil {
			want = *p.Protocol
		}
		if want != protocol {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.StrVal != "" {
			if namedPort(pod, p.Port.StrVal, protocol) == port {
				return true
			}
			continue
		}
		first, last := p.Port.IntVal, p.Port.IntVal
		if p.EndPort != nil {
			last = *p.EndPort
		}
		if port >= first && port <= last {
			return true
		}
	}
	return false
}

// namedPort resolves a named port on the destination pod's containers (0 when it has none).
func namedPort(pod *corev1.Pod, name string, protocol corev1.Protocol) int32 {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			if p.Name == name && proto == protocol {
				return p.ContainerPort
			}
		}
	}
	return 0
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNamespace string, src Source) (bool, error) {
	if len(peers) == 0 {
		return true, nil
	}
	for _, peer := range peers {
		ok, err := peerMatches(peer, policyNamespace, src)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func peerMatches(peer networkingv1.NetworkPolicyPeer, policyNamespace string, src Source) (bool, error) {
	if peer.IPBlock != nil {
		return inBlock(peer.IPBlock, src.IP)
	}
	if !src.IsPod() {
		return false, nil
	}
	if peer.NamespaceSelector != nil {
		ok, err := matches(peer.NamespaceSelector, src.NamespaceLabels)
		if err != nil || !ok {
			return false, err
		}
	} else if src.Namespace != policyNamespace {
		return false, nil
	}
	if peer.PodSelector == nil {
		return true, nil
	}
	return matches(peer.PodSelector, src.PodLabels)
}

func inBlock(block *networkingv1.IPBlock, ip net.IP) (bool, error) {
	if ip == nil {
		return false, nil
	}
	_, cidr, err := net.ParseCIDR(block.CIDR)
	if err != nil {
		return false, fmt.Errorf("ipBlock cidr %q: %w", block.CIDR, err)
	}
	if !cidr.Contains(ip) {
		return false, nil
	}
	for _, except := range block.Except {
		_, ex, err := net.ParseCIDR(except)
		if err != nil {
			return false, fmt.Errorf("ipBlock except %q: %w", except, err)
		}
		if ex.Contains(ip) {
			return false, nil
		}
	}
	return true, nil
}
