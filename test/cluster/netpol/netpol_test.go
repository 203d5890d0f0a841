package netpol

import (
	"net"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

const ns = "store-shop-x1y2z"

var web = &corev1.Pod{
	ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wordpress-0", Labels: map[string]string{"component": "wordpress"}},
	Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name:  "wordpress",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
	}}},
}

func policy(name string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

var denyAll = policy("deny", networkingv1.NetworkPolicySpec{
	PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
})

func allowWeb(from ...networkingv1.NetworkPolicyPeer) *networkingv1.NetworkPolicy {
	return policy("allow-web", networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"component": "wordpress"}},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From:  from,
			Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(8080))}},
		}},
	})
}

var (
	apiServer = Source{IP: net.ParseIP("10.243.0.1")}
	ingress   = Source{
		IP:              net.ParseIP("10.244.255.1"),
		Namespace:       "ingress-nginx",
		NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"},
		PodLabels:       map[string]string{"app.kubernetes.io/name": "ingress-nginx"},
	}
	neighbour = Source{
		IP:              net.ParseIP("10.244.0.9"),
		Namespace:       ns,
		NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns},
		PodLabels:       map[string]string{"component": "database"},
	}
	ingressNamespace = networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}},
	}
)

func TestIngressAllowed(t *testing.T) {
	cases := []struct {
		name     string
		policies []*networkingv1.NetworkPolicy
		port     int32
		protocol corev1.Protocol
		src      Source
		allowed  bool
	}{
		{"no policy: not isolated", nil, 8080, corev1.ProtocolTCP, apiServer, true},
		{"deny by default", []*networkingv1.NetworkPolicy{denyAll}, 8080, corev1.ProtocolTCP, apiServer, false},
		{"namespace selector admits the ingress controller", []*networkingv1.NetworkPolicy{denyAll, allowWeb(ingressNamespace)}, 8080, corev1.ProtocolTCP, ingress, true},
		{"namespace selector never admits a host-network source", []*networkingv1.NetworkPolicy{denyAll, allowWeb(ingressNamespace)}, 8080, corev1.ProtocolTCP, apiServer, false},
		{"namespace selector does not admit a pod of another namespace", []*networkingv1.NetworkPolicy{denyAll, allowWeb(ingressNamespace)}, 8080, corev1.ProtocolTCP, neighbour, false},
		{"ipBlock admits the API server", []*networkingv1.NetworkPolicy{denyAll, allowWeb(ingressNamespace, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.243.0.1/32"}})}, 8080, corev1.ProtocolTCP, apiServer, true},
		{"ipBlock except excludes", []*networkingv1.NetworkPolicy{denyAll, allowWeb(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.243.0.0/16", Except: []string{"10.243.0.0/24"}}})}, 8080, corev1.ProtocolTCP, apiServer, false},
		{"admitted source, other port", []*networkingv1.NetworkPolicy{denyAll, allowWeb(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.243.0.1/32"}})}, 9090, corev1.ProtocolTCP, apiServer, false},
		{"admitted source and port, other protocol", []*networkingv1.NetworkPolicy{denyAll, allowWeb(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.243.0.1/32"}})}, 8080, corev1.ProtocolUDP, apiServer, false},
		{"pod selector alone: same namespace only", []*networkingv1.NetworkPolicy{denyAll, allowWeb(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}})}, 8080, corev1.ProtocolTCP, neighbour, true},
		{"pod selector alone: not from another namespace", []*networkingv1.NetworkPolicy{denyAll, allowWeb(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}})}, 8080, corev1.ProtocolTCP, ingress, false},
		{"empty from: every source", []*networkingv1.NetworkPolicy{denyAll, allowWeb()}, 8080, corev1.ProtocolTCP, apiServer, true},
		{"named port", []*networkingv1.NetworkPolicy{denyAll, policy("named", networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromString("http"))}}}},
		})}, 8080, corev1.ProtocolTCP, apiServer, true},
		{"port range", []*networkingv1.NetworkPolicy{policy("range", networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(8000)), EndPort: ptr.To[int32](8100)}}}},
		})}, 8080, corev1.ProtocolTCP, apiServer, true},
		{"egress-only policy does not isolate ingress", []*networkingv1.NetworkPolicy{policy("egress", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		})}, 8080, corev1.ProtocolTCP, apiServer, true},
		{"policy selecting other pods does not isolate this one", []*networkingv1.NetworkPolicy{policy("db", networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"component": "database"}},
		})}, 8080, corev1.ProtocolTCP, apiServer, true},
		{"policy of another namespace does not apply", []*networkingv1.NetworkPolicy{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "elsewhere", Name: "deny"},
		}}, 8080, corev1.ProtocolTCP, apiServer, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := IngressAllowed(c.policies, web, c.port, c.protocol, c.src)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != c.allowed {
				t.Fatalf("allowed = %v, want %v (%s)", d.Allowed, c.allowed, d)
			}
		})
	}
}

func TestDecisionNamesThePolicies(t *testing.T) {
	d, err := IngressAllowed([]*networkingv1.NetworkPolicy{denyAll, allowWeb(ingressNamespace)}, web, 8080, corev1.ProtocolTCP, apiServer)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.String(), "no rule of NetworkPolicies allow-web, deny admits it"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestInvalidCIDRIsAnError(t *testing.T) {
	_, err := IngressAllowed([]*networkingv1.NetworkPolicy{allowWeb(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "not-a-cidr"}})}, web, 8080, corev1.ProtocolTCP, apiServer)
	if err == nil {
		t.Fatal("want an error for an invalid cidr")
	}
}
