package main

// sim is a kubelet stand-in in the spirit of kwok's "fast" stages, written by hand with
// client-go. It registers one Node, binds every unscheduled pod to it (there is no
// scheduler), marks long-running pods Running+Ready with a pod IP that answers HTTP through
// the API server's proxies (podnet.go), completes Job pods, deletes terminating pods with
// grace 0, and really runs pods whose first container image contains "helm" with a host helm
// binary authenticated as the pod's ServiceAccount. It provisions and binds a volume for every
// PersistentVolumeClaim (volumes.go). Optionally it also stands in for an
// ingress controller (ingress.go).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

const (
	exitCodeAnnotation = "storeplane.io/sim-exit-code"
	exitCodeEnv        = "SIM_EXIT_CODE"
	// Pod annotation: while present, the pod's containers have crashed with this reason
	// ("Error", "OOMKilled", ...) and are not ready: each container's restartCount goes up by
	// one and its lastState says terminated with the reason. Removing it makes the pod ready
	// again; restartCount and lastState stay, as after a real restart.
	failAnnotation = "storeplane.io/sim-fail"
)

type sim struct {
	client    kubernetes.Interface
	restCfg   *rest.Config
	caData    []byte
	nodeName  string
	helm      string
	helmDir   string // dir with a "helm" symlink, prepended to PATH of helm runs
	workRoot  string
	jobDelay  time.Duration
	podLister corelisters.PodLister
	queue     workqueue.TypedRateLimitingInterface[string]
	ipCounter atomic.Uint32

	// Pods by IP, NetworkPolicies and Namespaces for the pod network; the rest for the ingress.
	podIndexer      cache.Indexer
	policyLister    networkinglisters.NetworkPolicyLister
	namespaceLister corelisters.NamespaceLister
	ingressLister   networkinglisters.IngressLister
	serviceLister   corelisters.ServiceLister
	sliceLister     discoverylisters.EndpointSliceLister

	volumes *volumeBinder
	mariadb *mariadbServer // nil: Job pods of mariadb images are not run

	mu      sync.Mutex
	running map[types.UID]context.CancelFunc // host runs (helm, mariadb) in progress
	logMu   sync.Mutex
	faults  *helmFaults
}

func runSim(args []string) int {
	fs := flag.NewFlagSet("sim", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig")
	helm := fs.String("helm", "", "host helm binary used for pods whose image contains \"helm\"")
	nodeName := fs.String("node-name", "sim-node", "node name")
	workDir := fs.String("work-dir", "", "directory for helm runs (default: a temp dir)")
	jobDelay := fs.Duration("job-delay", time.Second, "how long Job pods run before they complete")
	workers := fs.Int("workers", 8, "pod workers")
	mariadbAddress := fs.String("mariadb-address", "", "host:port of a throwaway MariaDB server that Job pods of mariadb images really run against (default: they just complete)")
	mariadbSocket := fs.String("mariadb-socket", "", "that server's unix socket, where root logs in without a password")
	podNetworkSocket := fs.String("pod-network-socket", "", "unix socket where kube-apiserver's cluster egress (HTTP CONNECT) reaches pods")
	var ingress ingressOptions
	fs.StringVar(&ingress.listen, "ingress-listen", "", "serve Ingresses on this address, e.g. 127.0.0.1:0 (default: no ingress controller)")
	fs.StringVar(&ingress.addressFile, "ingress-address-file", "", "file to write the ingress controller's address to")
	fs.StringVar(&ingress.class, "ingress-class", "nginx", "IngressClass the ingress controller serves")
	fs.StringVar(&ingress.namespace, "ingress-namespace", "ingress-nginx", "namespace the ingress controller's traffic comes from (for NetworkPolicies)")
	_ = fs.Parse(args)

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sim: kubeconfig:", err)
		return 2
	}
	cfg.QPS, cfg.Burst = 200, 400
	caData := cfg.CAData
	if len(caData) == 0 && cfg.CAFile != "" {
		if caData, err = os.ReadFile(cfg.CAFile); err != nil {
			fmt.Fprintln(os.Stderr, "sim: CA:", err)
			return 2
		}
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sim: client:", err)
		return 2
	}
	root := *workDir
	if root == "" {
		if root, err = os.MkdirTemp("", "storeplane-sim-"); err != nil {
			fmt.Fprintln(os.Stderr, "sim:", err)
			return 1
		}
		defer os.RemoveAll(root)
	}
	s := &sim{
		client: client, restCfg: cfg, caData: caData, nodeName: *nodeName, workRoot: root,
		jobDelay: *jobDelay, running: map[types.UID]context.CancelFunc{}, faults: newHelmFaults(),
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 5*time.Second)),
	}
	if *mariadbAddress != "" {
		if s.mariadb, err = newMariadbServer(*mariadbAddress, *mariadbSocket); err != nil {
			fmt.Fprintln(os.Stderr, "sim:", err)
			return 2
		}
	}
	if *helm != "" {
		abs, err := filepath.Abs(*helm)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sim: helm:", err)
			return 2
		}
		s.helm = abs
		s.helmDir = filepath.Join(root, "bin")
		_ = os.MkdirAll(s.helmDir, 0o755)
		if err := os.Symlink(abs, filepath.Join(s.helmDir, "helm")); err != nil {
			fmt.Fprintln(os.Stderr, "sim: helm symlink:", err)
			return 1
		}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()

	if err := s.registerNode(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sim: register node:", err)
		return 1
	}
	go s.heartbeat(ctx)

	factory := informers.NewSharedInformerFactory(client, 0)
	podInformer := factory.Core().V1().Pods()
	s.podLister = podInformer.Lister()
	if err := podInformer.Informer().AddIndexers(cache.Indexers{podIPIndex: podIPs}); err != nil {
		fmt.Fprintln(os.Stderr, "sim: pod index:", err)
		return 1
	}
	s.podIndexer = podInformer.Informer().GetIndexer()
	s.policyLister = factory.Networking().V1().NetworkPolicies().Lister()
	s.namespaceLister = factory.Core().V1().Namespaces().Lister()
	s.ingressLister = factory.Networking().V1().Ingresses().Lister()
	s.serviceLister = factory.Core().V1().Services().Lister()
	s.sliceLister = factory.Discovery().V1().EndpointSlices().Lister()
	enqueue := func(obj interface{}) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			s.queue.Add(key)
		}
	}
	_, _ = podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	s.startVolumeBinder(ctx, factory)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	if *podNetworkSocket != "" {
		if err := s.servePodNetwork(ctx, *podNetworkSocket); err != nil {
			fmt.Fprintln(os.Stderr, "sim: pod network:", err)
			return 1
		}
	}
	if ingress.listen != "" {
		if err := s.serveIngress(ctx, ingress); err != nil {
			fmt.Fprintln(os.Stderr, "sim: ingress controller:", err)
			return 1
		}
	}
	s.logf("ready: node %s, helm %q, pod network %q, mariadb %q", s.nodeName, s.helm, *podNetworkSocket, *mariadbAddress)
	for i := 0; i < *workers; i++ {
		go func() {
			for s.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	s.queue.ShutDown()
	s.mu.Lock()
	for _, c := range s.running {
		c()
	}
	s.mu.Unlock()
	s.logf("stopped")
	return 0
}

func (s *sim) logf(format string, a ...interface{}) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(os.Stderr, "%s sim: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, a...))
}

// ---- node ----

func (s *sim) nodeStatus(existing corev1.NodeStatus) corev1.NodeStatus {
	now := metav1.Now()
	res := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("32"),
		corev1.ResourceMemory:           resource.MustParse("64Gi"),
		corev1.ResourcePods:             resource.MustParse("250"),
		corev1.ResourceEphemeralStorage: resource.MustParse("500Gi"),
	}
	cond := func(t corev1.NodeConditionType, st corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: st, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
		for _, old := range existing.Conditions {
			if old.Type == t && old.Status == st {
				c.LastTransitionTime = old.LastTransitionTime
			}
		}
		return c
	}
	return corev1.NodeStatus{
		Capacity:    res,
		Allocatable: res,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "storeplane sim is posting ready status"),
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "sim"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "sim"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "sim"),
			cond(corev1.NodeNetworkUnavailable, corev1.ConditionFalse, "RouteCreated", "sim"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: nodeIP},
			{Type: corev1.NodeHostName, Address: s.nodeName},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: "storeplane-sim", SystemUUID: "storeplane-sim", BootID: "storeplane-sim",
			KernelVersion: "6.1.0-sim", OSImage: "Storeplane sim", ContainerRuntimeVersion: "sim://1.0.0",
			KubeletVersion: "v1.34.4", KubeProxyVersion: "", OperatingSystem: "linux", Architecture: runtime.GOARCH,
		},
	}
}

func (s *sim) registerNode(ctx context.Context) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.nodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname": s.nodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": runtime.GOARCH,
				"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": runtime.GOARCH, "type": "storeplane-sim",
			},
			Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0"},
		},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/16", PodCIDRs: []string{"10.244.0.0/16"}},
	}
	var err error
	for i := 0; i < 60; i++ {
		_, err = s.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			err = nil
			break
		}
		s.logf("create node: %v (retrying)", err)
		time.Sleep(time.Second)
	}
	if err != nil {
		return err
	}
	return s.updateNodeStatus(ctx)
}

func (s *sim) updateNodeStatus(ctx context.Context) error {
	for i := 0; i < 5; i++ {
		n, err := s.client.CoreV1().Nodes().Get(ctx, s.nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status = s.nodeStatus(n.Status)
		_, err = s.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) {
			return err
		}
	}
	return fmt.Errorf("node status: too many conflicts")
}

func (s *sim) renewLease(ctx context.Context) error {
	leases := s.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, s.nodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: s.nodeName},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: ptr.To(s.nodeName), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func (s *sim) heartbeat(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	n := 0
	for {
		if err := s.renewLease(ctx); err != nil && ctx.Err() == nil {
			s.logf("lease: %v", err)
		}
		if n%3 == 2 {
			if err := s.updateNodeStatus(ctx); err != nil && ctx.Err() == nil {
				s.logf("node status: %v", err)
			}
		}
		n++
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ---- pods ----

func (s *sim) processNext(ctx context.Context) bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	requeueAfter, err := s.syncPod(ctx, key)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				s.logf("pod %s: %v", key, err)
			}
			s.queue.AddRateLimited(key)
		}
	case requeueAfter > 0:
		s.queue.Forget(key)
		s.queue.AddAfter(key, requeueAfter)
	default:
		s.queue.Forget(key)
	}
	return true
}

func isJobPod(pod *corev1.Pod) bool {
	for _, o := range pod.OwnerReferences {
		if o.Kind == "Job" {
			return true
		}
	}
	return false
}

func isHelmPod(pod *corev1.Pod) bool {
	return len(pod.Spec.Containers) > 0 && strings.Contains(imageName(pod.Spec.Containers[0].Image), "helm")
}

// imageName is the image reference without registry host, tag and digest ("alpine/helm").
func imageName(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") {
		image = image[:i]
	}
	return image
}

func (s *sim) syncPod(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	pod, err := s.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if pod.DeletionTimestamp != nil {
		s.cancelRun(pod.UID)
		if pod.Spec.NodeName != "" && pod.Spec.NodeName != s.nodeName {
			return 0, nil
		}
		if pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds == 0 {
			return 0, nil // already deleted with grace 0; waiting for finalizers
		}
		// Like the kubelet: a killed pod that something else still tracks through a finalizer
		// (Jobs) first gets a terminal status (SIGKILL: exit 137), then is deleted.
		if pod.Spec.NodeName == s.nodeName && len(pod.Finalizers) > 0 &&
			pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
			return 0, s.setTerminated(ctx, pod, 137, "")
		}
		err := s.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return 0, nil
		}
		return 0, err
	}
	if pod.Spec.NodeName == "" {
		if pod.Spec.SchedulerName != "" && pod.Spec.SchedulerName != corev1.DefaultSchedulerName {
			return 0, nil
		}
		err := s.client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: s.nodeName},
		}, metav1.CreateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return 0, nil
		}
		return 0, err
	}
	if pod.Spec.NodeName != s.nodeName {
		return 0, nil
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0, nil
	}
	helm := isHelmPod(pod) && s.helm != ""
	if helm {
		if pod.Status.Phase != corev1.PodRunning {
			return 0, s.setRunning(ctx, pod, false)
		}
		s.startHostRun(pod, "helm", s.runHelmPod)
		return 0, nil
	}
	if s.mariadb != nil && isJobPod(pod) && isMariadbPod(pod) {
		if pod.Status.Phase != corev1.PodRunning {
			return 0, s.setRunning(ctx, pod, false)
		}
		s.startHostRun(pod, "mariadb", s.runMariadbPod)
		return 0, nil
	}
	if isJobPod(pod) {
		if pod.Status.Phase != corev1.PodRunning || pod.Status.StartTime == nil {
			if err := s.setRunning(ctx, pod, true); err != nil {
				return 0, err
			}
			return s.jobDelay, nil
		}
		if left := s.jobDelay - time.Since(pod.Status.StartTime.Time); left > 0 {
			return left, nil
		}
		code := simExitCode(pod)
		return 0, s.setTerminated(ctx, pod, code, "")
	}
	if reason, failing := pod.Annotations[failAnnotation]; failing {
		if crashedWith(pod, reason) {
			return 0, nil
		}
		return 0, s.setCrashed(ctx, pod, reason)
	}
	if pod.Status.Phase != corev1.PodRunning || !podReady(pod) {
		return 0, s.setRunning(ctx, pod, true)
	}
	return 0, nil
}

// crashedWith: the pod already shows the crash the fail annotation asks for.
func crashedWith(pod *corev1.Pod, reason string) bool {
	if pod.Status.Phase != corev1.PodRunning || podReady(pod) || len(pod.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, c := range pod.Status.ContainerStatuses {
		last := c.LastTerminationState.Terminated
		if c.Ready || last == nil || last.Reason != reason || c.State.Waiting == nil {
			return false
		}
	}
	return true
}

// setCrashed is what the kubelet reports after a container exited and waits to be restarted:
// restartCount+1, lastState terminated with the reason, waiting in CrashLoopBackOff, not ready.
func (s *sim) setCrashed(ctx context.Context, pod *corev1.Pod, reason string) error {
	if pod.Status.Phase != corev1.PodRunning {
		if err := s.setRunning(ctx, pod, false); err != nil {
			return err
		}
		var err error
		if pod, err = s.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
			return err
		}
	}
	p := pod.DeepCopy()
	now := metav1.Now()
	code := int32(1)
	if reason == "OOMKilled" {
		code = 137
	}
	conds := setCond(p.Status.Conditions, corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady")
	p.Status.Conditions = setCond(conds, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady")
	for i := range p.Status.ContainerStatuses {
		c := &p.Status.ContainerStatuses[i]
		started := now
		if c.State.Running != nil {
			started = c.State.Running.StartedAt
		}
		c.RestartCount++
		c.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: reason, StartedAt: started, FinishedAt: now, ContainerID: c.ContainerID}}
		c.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "CrashLoopBackOff", Message: fmt.Sprintf("back-off restarting failed container %s", c.Name)}}
		c.Ready, c.Started = false, ptr.To(false)
	}
	_, err := s.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

func simExitCode(pod *corev1.Pod) int32 {
	if v, ok := pod.Annotations[exitCodeAnnotation]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return int32(n)
		}
	}
	if len(pod.Spec.Containers) > 0 {
		for _, e := range pod.Spec.Containers[0].Env {
			if e.Name == exitCodeEnv {
				if n, err := strconv.Atoi(strings.TrimSpace(e.Value)); err == nil {
					return int32(n)
				}
			}
		}
	}
	return 0
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (s *sim) nextPodIP() string {
	n := s.ipCounter.Add(1)
	return fmt.Sprintf("10.244.%d.%d", (n/250)%250, n%250+2)
}

func containerID(pod *corev1.Pod, name string) string {
	h := sha256.Sum256([]byte(string(pod.UID) + "/" + name))
	return "containerd://" + hex.EncodeToString(h[:])
}

func imageID(image string) string {
	h := sha256.Sum256([]byte(image))
	return imageName(image) + "@sha256:" + hex.EncodeToString(h[:])
}

func setCond(conds []corev1.PodCondition, t corev1.PodConditionType, st corev1.ConditionStatus, reason string) []corev1.PodCondition {
	now := metav1.Now()
	for i := range conds {
		if conds[i].Type == t {
			if conds[i].Status != st {
				conds[i].LastTransitionTime = now
			}
			conds[i].Status, conds[i].Reason = st, reason
			return conds
		}
	}
	return append(conds, corev1.PodCondition{Type: t, Status: st, Reason: reason, LastTransitionTime: now})
}

// setRunning marks the pod Running; ready=true also sets Ready/ContainersReady.
func (s *sim) setRunning(ctx context.Context, pod *corev1.Pod, ready bool) error {
	p := pod.DeepCopy()
	now := metav1.Now()
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	p.Status.Phase = corev1.PodRunning
	if p.Status.PodIP == "" {
		ip := s.nextPodIP()
		p.Status.PodIP = ip
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	p.Status.HostIP = nodeIP
	p.Status.HostIPs = []corev1.HostIP{{IP: nodeIP}}
	if p.Status.QOSClass == "" {
		p.Status.QOSClass = corev1.PodQOSBestEffort
	}
	readyStatus := corev1.ConditionFalse
	if ready {
		readyStatus = corev1.ConditionTrue
	}
	conds := p.Status.Conditions
	conds = setCond(conds, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "")
	conds = setCond(conds, corev1.PodInitialized, corev1.ConditionTrue, "")
	conds = setCond(conds, corev1.ContainersReady, readyStatus, "")
	conds = setCond(conds, corev1.PodReady, readyStatus, "")
	conds = setCond(conds, corev1.PodScheduled, corev1.ConditionTrue, "")
	p.Status.Conditions = conds
	p.Status.InitContainerStatuses = nil
	for _, c := range p.Spec.InitContainers {
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), ContainerID: containerID(p, c.Name), Ready: true,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: *p.Status.StartTime, FinishedAt: *p.Status.StartTime,
				ContainerID: containerID(p, c.Name)}},
		})
	}
	// A container that crashed before keeps its restart count and last state, and runs since now.
	previous := map[string]corev1.ContainerStatus{}
	for _, c := range p.Status.ContainerStatuses {
		previous[c.Name] = c
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		status := corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), ContainerID: containerID(p, c.Name),
			Ready: ready, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: *p.Status.StartTime}},
		}
		if old, ok := previous[c.Name]; ok && old.RestartCount > 0 {
			status.RestartCount, status.LastTerminationState = old.RestartCount, old.LastTerminationState
			status.State.Running.StartedAt = now
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, status)
	}
	_, err := s.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// setTerminated finishes the pod: exit code of the first container decides Succeeded/Failed.
func (s *sim) setTerminated(ctx context.Context, pod *corev1.Pod, code int32, message string) error {
	p := pod.DeepCopy()
	now := metav1.Now()
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	if p.Status.PodIP == "" {
		ip := s.nextPodIP()
		p.Status.PodIP = ip
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	p.Status.HostIP = nodeIP
	p.Status.HostIPs = []corev1.HostIP{{IP: nodeIP}}
	p.Status.Phase = corev1.PodSucceeded
	if code != 0 {
		p.Status.Phase = corev1.PodFailed
	}
	conds := p.Status.Conditions
	conds = setCond(conds, corev1.PodReadyToStartContainers, corev1.ConditionFalse, "")
	conds = setCond(conds, corev1.PodInitialized, corev1.ConditionTrue, "")
	conds = setCond(conds, corev1.ContainersReady, corev1.ConditionFalse, "PodCompleted")
	conds = setCond(conds, corev1.PodReady, corev1.ConditionFalse, "PodCompleted")
	conds = setCond(conds, corev1.PodScheduled, corev1.ConditionTrue, "")
	p.Status.Conditions = conds
	p.Status.ContainerStatuses = nil
	for i, c := range p.Spec.Containers {
		st := &corev1.ContainerStateTerminated{
			ExitCode: 0, Reason: "Completed", StartedAt: *p.Status.StartTime, FinishedAt: now, ContainerID: containerID(p, c.Name),
		}
		if i == 0 {
			st.ExitCode = code
			if code != 0 {
				st.Reason = "Error"
			}
			st.Message = message
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), ContainerID: containerID(p, c.Name),
			Ready: false, Started: ptr.To(false), State: corev1.ContainerState{Terminated: st},
		})
	}
	_, err := s.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err == nil {
		s.logf("pod %s/%s -> %s (exit %d)", p.Namespace, p.Name, p.Status.Phase, code)
	}
	return err
}

// ---- helm pods ----

func (s *sim) cancelRun(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.running[uid]; ok {
		c()
	}
}

// podRun runs a pod's first container on the host and returns its exit code and output.
type podRun func(ctx context.Context, pod *corev1.Pod) (code int32, output string, message string)

// startHostRun starts (once per pod UID) a goroutine that runs the pod on the host and then
// records how it ended.
func (s *sim) startHostRun(pod *corev1.Pod, kind string, run podRun) {
	s.mu.Lock()
	if _, ok := s.running[pod.UID]; ok {
		s.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.running[pod.UID] = cancel
	s.mu.Unlock()
	go func() {
		// The entry stays in s.running (cancel func kept) so a pod is never run twice.
		code, output, fileMessage := run(ctx, pod)
		if ctx.Err() != nil {
			return // pod deleted or sim stopping
		}
		msg := terminationMessage(pod.Spec.Containers[0], code, fileMessage, output)
		s.recordTermination(ctx, kind, pod, code, msg)
	}()
}

// recordTermination sets a host-run pod's end in its status. Like the kubelet's status manager it
// keeps trying while the API server is down or restarting (a pod whose end was never recorded
// stays Running, and so does its Job), until the pod is gone or deleted (ctx ends).
func (s *sim) recordTermination(ctx context.Context, kind string, pod *corev1.Pod, code int32, msg string) {
	pause := 200 * time.Millisecond
	for {
		cur, err := s.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && cur.UID != pod.UID) {
			s.logf("%s pod %s/%s gone", kind, pod.Namespace, pod.Name)
			return
		}
		if err == nil {
			err = s.setTerminated(ctx, cur, code, msg)
			if err == nil || apierrors.IsNotFound(err) {
				return
			}
		}
		s.logf("%s pod %s/%s status not recorded, trying again in %v: %v", kind, pod.Namespace, pod.Name, pause, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// terminationMessage is what the kubelet reports: the termination message file's content, or
// with FallbackToLogsOnError and a failure and no such content the container's last output.
func terminationMessage(c corev1.Container, code int32, fileMessage, output string) string {
	if fileMessage != "" {
		return fileMessage
	}
	if code != 0 && c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError {
		return output
	}
	return ""
}

type mountMap struct{ from, to string }

func (s *sim) runHelmPod(ctx context.Context, pod *corev1.Pod) (int32, string, string) {
	key := pod.Namespace + "/" + pod.Name
	fail := s.podFailer("helm", pod)
	dir, err := s.makePodDir(pod, "home", "cache", "config", "data", "tmp", "work", "vol")
	defer os.RemoveAll(dir)
	if err != nil {
		return fail("%v", err)
	}
	c := pod.Spec.Containers[0]

	// Volumes mounted by the first container.
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	var mounts []mountMap
	for _, m := range c.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			return fail("volume %q not found", m.Name)
		}
		vdir := filepath.Join(dir, "vol", m.Name)
		if _, err := os.Stat(vdir); err != nil {
			if err := s.materialiseVolume(ctx, pod, v, vdir); err != nil {
				return fail("volume %q: %v", m.Name, err)
			}
		}
		to := vdir
		if m.SubPath != "" {
			to = filepath.Join(vdir, m.SubPath)
		}
		mounts = append(mounts, mountMap{from: filepath.Clean(m.MountPath), to: to})
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].from) > len(mounts[j].from) })

	// Command line: exec form; "helm" (or a path ending in /helm) becomes the host helm.
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(c.Command) == 0 {
		argv = append([]string{"helm"}, c.Args...) // alpine/helm's entrypoint is helm
	}
	for i := range argv {
		argv[i] = rewritePaths(argv[i], mounts)
	}
	if argv[0] == "helm" || strings.HasSuffix(argv[0], "/helm") {
		argv[0] = s.helm
	}
	fault := s.injectedHelmFault(ctx, pod, argv)
	if fault.fail {
		return fault.code, fault.message, ""
	}

	// ServiceAccount credentials for helm.
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	token, err := s.saToken(ctx, pod, sa, nil)
	if err != nil {
		return fail("token for serviceaccount %s/%s: %v", pod.Namespace, sa, err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeTokenKubeconfig(kubeconfig, s.restCfg.Host, s.caData, token, pod.Namespace); err != nil {
		return fail("kubeconfig: %v", err)
	}

	env := map[string]string{}
	for _, e := range c.Env {
		val := e.Value
		if e.ValueFrom != nil {
			val, err = s.envFrom(ctx, pod, e.ValueFrom)
			if err != nil {
				return fail("env %s: %v", e.Name, err)
			}
		}
		env[e.Name] = rewritePaths(val, mounts)
	}
	if _, ok := env["HELM_NAMESPACE"]; !ok {
		env["HELM_NAMESPACE"] = pod.Namespace
	}
	env["KUBECONFIG"] = kubeconfig
	env["HOME"] = filepath.Join(dir, "home")
	env["XDG_CACHE_HOME"] = filepath.Join(dir, "cache")
	env["XDG_CONFIG_HOME"] = filepath.Join(dir, "config")
	env["XDG_DATA_HOME"] = filepath.Join(dir, "data")
	env["TMPDIR"] = filepath.Join(dir, "tmp")
	env["PATH"] = s.helmDir + ":" + os.Getenv("PATH")
	runCtx, cancel := context.WithTimeout(ctx, podDeadline(pod))
	defer cancel()
	killed := func() bool { return false }
	if fault.killWhenPending {
		killed = s.killOnceReleasePending(runCtx, pod.Namespace, cancel)
	}
	s.logf("helm pod %s: running %s (serviceaccount %s)", key, strings.Join(argv, " "), sa)
	code, out := s.runOnHost(runCtx, hostCommand{
		kind: "helm", key: key, argv: argv, env: env,
		dir: dir, workingDir: c.WorkingDir, mounts: mounts,
	}, killed)
	return code, tailLines(out, 60, 4096), ""
}

// pathBoundaries are the characters around a path in a command line, a shell script or an
// env value: a mount path matches at the start of s or after one of them, and must be followed
// by the end, '/' or one of them.
const pathBoundaries = "=,: \t\n\"'<>;|"

// rewritePaths replaces container mount paths in s with host paths.
func rewritePaths(s string, mounts []mountMap) string {
	if len(mounts) == 0 {
		return s
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		matched := false
		if i == 0 || strings.IndexByte(pathBoundaries, s[i-1]) >= 0 {
			for _, m := range mounts {
				if strings.HasPrefix(s[i:], m.from) {
					j := i + len(m.from)
					if j == len(s) || s[j] == '/' || strings.IndexByte(pathBoundaries, s[j]) >= 0 {
						b.WriteString(m.to)
						i = j
						matched = true
						break
					}
				}
			}
		}
		if !matched {
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

func tailLines(s string, n, maxBytes int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "\n")
	if len(out) > maxBytes {
		out = out[len(out)-maxBytes:]
	}
	return out
}

func (s *sim) saToken(ctx context.Context, pod *corev1.Pod, sa string, src *corev1.ServiceAccountTokenProjection) (string, error) {
	exp := int64(3600)
	var aud []string
	if src != nil {
		if src.ExpirationSeconds != nil {
			exp = *src.ExpirationSeconds
		}
		if src.Audience != "" {
			aud = []string{src.Audience}
		}
	}
	tr, err := s.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         aud,
			ExpirationSeconds: &exp,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}

func writeTokenKubeconfig(path, server string, caData []byte, token, namespace string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caData}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "sa", Namespace: namespace}
	cfg.CurrentContext = "sa"
	return clientcmd.WriteToFile(*cfg, path)
}

func (s *sim) envFrom(ctx context.Context, pod *corev1.Pod, src *corev1.EnvVarSource) (string, error) {
	switch {
	case src.FieldRef != nil:
		switch src.FieldRef.FieldPath {
		case "metadata.namespace":
			return pod.Namespace, nil
		case "metadata.name":
			return pod.Name, nil
		case "spec.serviceAccountName":
			return pod.Spec.ServiceAccountName, nil
		case "spec.nodeName":
			return s.nodeName, nil
		case "metadata.uid":
			return string(pod.UID), nil
		}
		return "", nil
	case src.ConfigMapKeyRef != nil:
		cm, err := s.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, src.ConfigMapKeyRef.Name, metav1.GetOptions{})
		if err != nil {
			if ptr.Deref(src.ConfigMapKeyRef.Optional, false) {
				return "", nil
			}
			return "", err
		}
		return cm.Data[src.ConfigMapKeyRef.Key], nil
	case src.SecretKeyRef != nil:
		sec, err := s.client.CoreV1().Secrets(pod.Namespace).Get(ctx, src.SecretKeyRef.Name, metav1.GetOptions{})
		if err != nil {
			if ptr.Deref(src.SecretKeyRef.Optional, false) {
				return "", nil
			}
			return "", err
		}
		return string(sec.Data[src.SecretKeyRef.Key]), nil
	}
	return "", nil
}

func writeItems(dir string, data map[string][]byte, items []corev1.KeyToPath) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if len(items) == 0 {
		for k, v := range data {
			if err := os.WriteFile(filepath.Join(dir, k), v, 0o600); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("key %q not found", it.Key)
		}
		p := filepath.Join(dir, it.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, v, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (s *sim) configMapData(ctx context.Context, ns, name string, optional *bool) (map[string][]byte, error) {
	cm, err := s.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && ptr.Deref(optional, false) {
			return map[string][]byte{}, nil
		}
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return data, nil
}

func (s *sim) secretData(ctx context.Context, ns, name string, optional *bool) (map[string][]byte, error) {
	sec, err := s.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) && ptr.Deref(optional, false) {
			return map[string][]byte{}, nil
		}
		return nil, err
	}
	return sec.Data, nil
}

func (s *sim) downwardData(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile) map[string][]byte {
	data := map[string][]byte{}
	for _, it := range items {
		if it.FieldRef == nil {
			continue
		}
		var v string
		switch it.FieldRef.FieldPath {
		case "metadata.namespace":
			v = pod.Namespace
		case "metadata.name":
			v = pod.Name
		case "metadata.uid":
			v = string(pod.UID)
		case "metadata.labels":
			v = formatMap(pod.Labels)
		case "metadata.annotations":
			v = formatMap(pod.Annotations)
		}
		data[it.Path] = []byte(v)
	}
	return data
}

func formatMap(m map[string]string) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func writeFiles(dir string, files map[string][]byte) error {
	for p, v := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(full, v, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (s *sim) materialiseVolume(ctx context.Context, pod *corev1.Pod, v corev1.Volume, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ns := pod.Namespace
	switch {
	case v.ConfigMap != nil:
		data, err := s.configMapData(ctx, ns, v.ConfigMap.Name, v.ConfigMap.Optional)
		if err != nil {
			return err
		}
		return writeItems(dir, data, v.ConfigMap.Items)
	case v.Secret != nil:
		data, err := s.secretData(ctx, ns, v.Secret.SecretName, v.Secret.Optional)
		if err != nil {
			return err
		}
		return writeItems(dir, data, v.Secret.Items)
	case v.DownwardAPI != nil:
		return writeFiles(dir, s.downwardData(pod, v.DownwardAPI.Items))
	case v.EmptyDir != nil:
		return nil
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			switch {
			case src.ConfigMap != nil:
				data, err := s.configMapData(ctx, ns, src.ConfigMap.Name, src.ConfigMap.Optional)
				if err != nil {
					return err
				}
				if err := writeItems(dir, data, src.ConfigMap.Items); err != nil {
					return err
				}
			case src.Secret != nil:
				data, err := s.secretData(ctx, ns, src.Secret.Name, src.Secret.Optional)
				if err != nil {
					return err
				}
				if err := writeItems(dir, data, src.Secret.Items); err != nil {
					return err
				}
			case src.DownwardAPI != nil:
				if err := writeFiles(dir, s.downwardData(pod, src.DownwardAPI.Items)); err != nil {
					return err
				}
			case src.ServiceAccountToken != nil:
				sa := pod.Spec.ServiceAccountName
				if sa == "" {
					sa = "default"
				}
				tok, err := s.saToken(ctx, pod, sa, src.ServiceAccountToken)
				if err != nil {
					return err
				}
				if err := writeFiles(dir, map[string][]byte{src.ServiceAccountToken.Path: []byte(tok)}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return fmt.Errorf("unsupported volume type (only configMap, secret, projected, downwardAPI, emptyDir)")
}
