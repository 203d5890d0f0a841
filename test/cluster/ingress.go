package main

// An ingress controller stand-in on a loopback port: it serves the Ingresses of one class the
// way ingress-nginx would, Host + path -> Service -> EndpointSlice -> pod, with the pod's
// NetworkPolicies evaluated for a controller pod in its own namespace. The pods it reaches are
// the simulated containers of podnet.go. Browsers resolve *.localhost to loopback, so stores
// with hosts under "localhost" open in a browser at http://<host>:<port>/.

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"storeplane.dev/test/cluster/netpol"
)

// The controller pod's identity as a NetworkPolicy source.
const (
	ingressControllerIP    = "10.244.255.250"
	ingressClassAnnotation = "kubernetes.io/ingress.class"
)

var ingressControllerLabels = map[string]string{
	"app.kubernetes.io/name":      "ingress-nginx",
	"app.kubernetes.io/component": "controller",
}

type ingressOptions struct {
	listen      string
	addressFile string
	class       string
	namespace   string
}

// serveIngress creates the controller's namespace, starts listening and writes the address
// it got to options.addressFile.
func (s *sim) serveIngress(ctx context.Context, options ingressOptions) error {
	_, err := s.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: options.namespace, Labels: map[string]string{"storeplane.io/sim": "ingress-controller"}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", options.namespace, err)
	}
	l, err := net.Listen("tcp", options.listen)
	if err != nil {
		return err
	}
	if options.addressFile != "" {
		tmp := options.addressFile + ".partial"
		if err := os.WriteFile(tmp, []byte(l.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Clean(options.addressFile)); err != nil {
			return err
		}
	}
	server := &http.Server{Handler: s.ingressHandler(options), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	go func() { _ = server.Serve(l) }()
	s.logf("ingress controller stand-in for class %q on http://%s", options.class, l.Addr())
	return nil
}

func (s *sim) ingressHandler(options ingressOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		fail := func(status int, message string) {
			s.logf("ingress: %s %s%s: %d %s", r.Method, host, r.URL.Path, status, message)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<!doctype html><html><body><h1>%d %s</h1><p>Storeplane sandbox ingress: %s</p></body></html>\n",
				status, http.StatusText(status), html.EscapeString(message))
		}
		ing, backend, err := s.findIngressBackend(options.class, host, r.URL.Path)
		if err != nil {
			fail(http.StatusInternalServerError, err.Error())
			return
		}
		if backend == nil {
			fail(http.StatusNotFound, fmt.Sprintf("no Ingress of class %q serves host %q and path %q", options.class, host, r.URL.Path))
			return
		}
		ip, port, err := s.serviceEndpoint(ing.Namespace, backend)
		if err != nil {
			fail(http.StatusServiceUnavailable, err.Error())
			return
		}
		namespace, err := s.namespaceLister.Get(options.namespace)
		if err != nil {
			fail(http.StatusInternalServerError, fmt.Sprintf("controller namespace %s: %v", options.namespace, err))
			return
		}
		src := netpol.Source{
			IP:              net.ParseIP(ingressControllerIP),
			Namespace:       namespace.Name,
			NamespaceLabels: namespace.Labels,
			PodLabels:       ingressControllerLabels,
		}
		pod, container, err := s.podEndpoint(ip, port, src, "the ingress controller ("+options.namespace+")")
		if err != nil {
			status := http.StatusBadGateway
			var netErr *networkError
			if errors.As(err, &netErr) {
				status = netErr.status
			}
			fail(status, err.Error())
			return
		}
		s.simulatedContainer(pod.Namespace, pod.Name, container).ServeHTTP(w, r)
	})
}

func ingressClass(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations[ingressClassAnnotation]
}

func hostMatches(ruleHost, host string) bool {
	if ruleHost == "" || ruleHost == host {
		return true
	}
	if strings.HasPrefix(ruleHost, "*.") {
		suffix := ruleHost[1:]
		return strings.HasSuffix(host, suffix) && !strings.Contains(strings.TrimSuffix(host, suffix), ".")
	}
	return false
}

// pathMatch returns how specific a match is (its length), or -1.
func pathMatch(path networkingv1.HTTPIngressPath, requestPath string) int {
	p := path.Path
	if p == "" {
		p = "/"
	}
	if path.PathType != nil && *path.PathType == networkingv1.PathTypeExact {
		if requestPath == p {
			return len(p)
		}
		return -1
	}
	prefix := strings.TrimSuffix(p, "/")
	if prefix == "" || requestPath == prefix || strings.HasPrefix(requestPath, prefix+"/") {
		return len(prefix)
	}
	return -1
}

// findIngressBackend picks the most specific matching path of the Ingresses of class.
func (s *sim) findIngressBackend(class, host, requestPath string) (*networkingv1.Ingress, *networkingv1.IngressServiceBackend, error) {
	ingresses, err := s.ingressLister.List(labels.Everything())
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(ingresses, func(i, j int) bool {
		return ingresses[i].CreationTimestamp.Before(&ingresses[j].CreationTimestamp)
	})
	var best *networkingv1.Ingress
	var bestBackend *networkingv1.IngressServiceBackend
	bestLen := -1
	for _, ing := range ingresses {
		if ingressClass(ing) != class || ing.DeletionTimestamp != nil {
			continue
		}
		for _, rule := range ing.Spec.Rules {
			if !hostMatches(rule.Host, host) || rule.HTTP == nil {
				continue
			}
			for _, path := range rule.HTTP.Paths {
				if n := pathMatch(path, requestPath); n > bestLen && path.Backend.Service != nil {
					best, bestBackend, bestLen = ing, path.Backend.Service, n
				}
			}
		}
	}
	return best, bestBackend, nil
}

// serviceEndpoint resolves a Service port to one ready endpoint address, as kube-proxy would.
func (s *sim) serviceEndpoint(namespace string, backend *networkingv1.IngressServiceBackend) (string, int32, error) {
	svc, err := s.serviceLister.Services(namespace).Get(backend.Name)
	if err != nil {
		return "", 0, fmt.Errorf("service %s/%s: %v", namespace, backend.Name, err)
	}
	var portName string
	found := false
	for _, p := range svc.Spec.Ports {
		if (backend.Port.Name != "" && p.Name == backend.Port.Name) || (backend.Port.Number != 0 && p.Port == backend.Port.Number) {
			portName, found = p.Name, true
			break
		}
	}
	if !found {
		return "", 0, fmt.Errorf("service %s/%s has no port %v", namespace, backend.Name, backend.Port)
	}
	slices, err := s.sliceLister.EndpointSlices(namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name}))
	if err != nil {
		return "", 0, err
	}
	for _, slice := range slices {
		var port int32
		for _, p := range slice.Ports {
			if p.Name != nil && *p.Name == portName && p.Port != nil {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range slice.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready && len(ep.Addresses) > 0 {
				return ep.Addresses[0], port, nil
			}
		}
	}
	return "", 0, fmt.Errorf("no ready endpoints for service %s/%s", namespace, svc.Name)
}
