package main

// The sim's pod network. Nothing listens on pod addresses. kube-apiserver reaches pods through
// its "cluster" egress selector (--egress-selector-config-file: HTTP CONNECT over a unix
// socket, the way clusters with Konnectivity reach their nodes), and the sim answers each
// CONNECT for the pod that owns the address. So the API server's service and pod proxies run
// their real code: Service -> Endpoints -> pod IP, with the API server's own address checks.
//
// Every declared TCP container port of a Running pod answers HTTP with a page that says the
// container is simulated (status 200, or the pod annotation storeplane.io/sim-http-status),
// except a busybox httpd serving a claim's volume, which serves its files (fileserver.go).
// Before a connection is accepted, the NetworkPolicies of the pod's namespace are evaluated
// for its source (package netpol); a denied connection fails as it would on a cluster whose
// network plugin enforces policies, instead of silently working.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"storeplane.dev/test/cluster/netpol"
)

const (
	// The node's InternalIP. kube-apiserver runs on it with host networking, so its
	// connections to pods come from this address (which NetworkPolicy ipBlocks must admit).
	nodeIP = "10.243.0.1"
	// Pod annotation: the HTTP status a simulated container answers with (default 200).
	httpStatusAnnotation = "storeplane.io/sim-http-status"
	podIPIndex           = "podIP"
)

// apiServerSource is kube-apiserver as a NetworkPolicy source: host network, the node's IP.
var apiServerSource = netpol.Source{IP: net.ParseIP(nodeIP)}

// networkError is a failed connection with the HTTP status a proxy reports for it.
type networkError struct {
	status int
	reason string
}

func (e *networkError) Error() string { return e.reason }

func podIPs(obj interface{}) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	var ips []string
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	return ips, nil
}

// podEndpoint finds the Running pod that owns ip and the container declaring TCP port, and
// checks that the namespace's NetworkPolicies admit src.
func (s *sim) podEndpoint(ip string, port int32, src netpol.Source, srcName string) (*corev1.Pod, corev1.Container, error) {
	objs, err := s.podIndexer.ByIndex(podIPIndex, ip)
	if err != nil {
		return nil, corev1.Container{}, err
	}
	var pod *corev1.Pod
	for _, obj := range objs {
		p := obj.(*corev1.Pod)
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && p.Spec.NodeName == s.nodeName {
			pod = p
			break
		}
	}
	if pod == nil {
		return nil, corev1.Container{}, &networkError{http.StatusBadGateway, fmt.Sprintf("no running pod has address %s", ip)}
	}
	container, ok := containerWithPort(pod, port)
	if !ok {
		return nil, corev1.Container{}, &networkError{http.StatusBadGateway,
			fmt.Sprintf("connection refused: pod %s/%s declares no TCP container port %d", pod.Namespace, pod.Name, port)}
	}
	policies, err := s.policyLister.NetworkPolicies(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil, corev1.Container{}, err
	}
	decision, err := netpol.IngressAllowed(policies, pod, port, corev1.ProtocolTCP, src)
	if err != nil {
		return nil, corev1.Container{}, err
	}
	if !decision.Allowed {
		return nil, corev1.Container{}, &networkError{http.StatusGatewayTimeout,
			fmt.Sprintf("NetworkPolicy drops %s -> pod %s/%s port %d: %s", srcName, pod.Namespace, pod.Name, port, decision)}
	}
	return pod, container, nil
}

func containerWithPort(pod *corev1.Pod, port int32) (corev1.Container, bool) {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.ContainerPort == port && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
				return c, true
			}
		}
	}
	return corev1.Container{}, false
}

// servePodNetwork answers kube-apiserver's CONNECT requests on a unix socket.
func (s *sim) servePodNetwork(ctx context.Context, socket string) error {
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		_ = l.Close()
	}()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go s.handleTunnel(conn)
		}
	}()
	return nil
}

func (s *sim) handleTunnel(conn net.Conn) {
	reader := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(reader)
	if err != nil {
		_ = conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	refuse := func(status int, reason string) {
		s.logf("pod network: CONNECT %s refused: %s", req.URL.Host, reason)
		fmt.Fprintf(conn, "HTTP/1.1 %d storeplane sim: %s\r\nContent-Length: 0\r\n\r\n", status, reason)
		_ = conn.Close()
	}
	if req.Method != http.MethodConnect {
		refuse(http.StatusMethodNotAllowed, "only CONNECT is supported")
		return
	}
	host, portText, err := net.SplitHostPort(req.URL.Host)
	port, convErr := strconv.ParseInt(portText, 10, 32)
	if err != nil || convErr != nil {
		refuse(http.StatusBadRequest, fmt.Sprintf("bad address %q", req.URL.Host))
		return
	}
	pod, container, err := s.podEndpoint(host, int32(port), apiServerSource, "kube-apiserver ("+nodeIP+")")
	if err != nil {
		status := http.StatusBadGateway
		var netErr *networkError
		if errors.As(err, &netErr) {
			status = netErr.status
		}
		refuse(status, err.Error())
		return
	}
	if _, err := fmt.Fprint(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		_ = conn.Close()
		return
	}
	server := &http.Server{
		Handler:           s.simulatedContainer(pod.Namespace, pod.Name, container),
		ReadHeaderTimeout: 10 * time.Second,
	}
	// One request per connection: every request dials again, so NetworkPolicy changes apply
	// to the very next request instead of after an idle keep-alive connection closes.
	server.SetKeepAlivesEnabled(false)
	_ = server.Serve(newOneConnListener(&bufferedConn{Conn: conn, reader: reader}))
}

// simulatedContainer is what answers HTTP on a simulated container's ports.
func (s *sim) simulatedContainer(namespace, name string, container corev1.Container) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusOK
		// Read on every request, so a test can change the answer of a running pod.
		if pod, err := s.podLister.Pods(namespace).Get(name); err == nil {
			v, annotated := pod.Annotations[httpStatusAnnotation]
			if n, err := strconv.Atoi(v); annotated && err == nil && n >= 100 && n <= 599 {
				status = n
			} else if root, ok := s.httpdRoot(r, pod, container); ok {
				serveFiles(w, r, root)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Storeplane-Sim", "simulated container")
		w.WriteHeader(status)
		if r.Method == http.MethodHead {
			return
		}
		esc := html.EscapeString
		fmt.Fprintf(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>Simulated pod - Storeplane sandbox</title></head>
<body style="font-family:sans-serif;max-width:46em;margin:3em auto;line-height:1.5">
<h1>Storeplane sandbox: simulated pod</h1>
<p>This page comes from the sandbox's kubelet stand-in, not from a real container. The pods of
the sandbox cluster are simulated: no real WordPress or WooCommerce runs here, and the store's
MariaDB pod is simulated too. Only backup and restore Jobs really run, against a small stand-in
database for the store in a throwaway MariaDB beside the sandbox.</p>
<table>
<tr><th align="left">Pod</th><td>%s/%s</td></tr>
<tr><th align="left">Container</th><td>%s (image %s)</td></tr>
<tr><th align="left">Request</th><td>%s %s (Host %s)</td></tr>
<tr><th align="left">Status</th><td>%d</td></tr>
</table>
</body></html>
`, esc(namespace), esc(name), esc(container.Name), esc(container.Image), esc(r.Method), esc(r.URL.RequestURI()), esc(r.Host), status)
	})
}

// bufferedConn reads through the reader that already consumed the CONNECT request.
type bufferedConn struct {
	net.Conn
	reader *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.reader.Read(p) }

// oneConnListener hands one connection to an http.Server; the next Accept blocks until that
// connection is closed and then reports the listener closed, which ends Serve.
type oneConnListener struct {
	conn   net.Conn
	handed atomic.Bool
	closed chan struct{}
}

func newOneConnListener(conn net.Conn) *oneConnListener {
	closed := make(chan struct{})
	return &oneConnListener{conn: &closeNotifyConn{Conn: conn, closed: closed}, closed: closed}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if l.handed.CompareAndSwap(false, true) {
		return l.conn, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

type closeNotifyConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *closeNotifyConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
