// Package smoke checks a running storeplane test cluster. It needs STOREPLANE_TEST_KUBECONFIG
// (an admin kubeconfig); test/cluster/smoke.sh starts a cluster with the TypeScript helper
// and runs this test against it.
package smoke

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

func setup(t *testing.T) (kubernetes.Interface, *rest.Config) {
	t.Helper()
	kc := os.Getenv("STOREPLANE_TEST_KUBECONFIG")
	if kc == "" {
		t.Skip("STOREPLANE_TEST_KUBECONFIG not set (run test/cluster/smoke.sh)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return kubernetes.NewForConfigOrDie(cfg), cfg
}

func poll(t *testing.T, what string, timeout time.Duration, f func(ctx context.Context) (bool, error)) {
	t.Helper()
	start := time.Now()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, f)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s: ok after %s", what, time.Since(start).Round(time.Millisecond))
}

func createNS(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "default ServiceAccount in "+name, 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
}

func jobCondition(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return string(c.Type)
		}
	}
	return ""
}

func waitJob(t *testing.T, c kubernetes.Interface, ns, name string, timeout time.Duration) string {
	t.Helper()
	var cond string
	poll(t, "job "+ns+"/"+name+" finished", timeout, func(ctx context.Context) (bool, error) {
		j, err := c.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cond = jobCondition(j)
		return cond != "", nil
	})
	return cond
}

func simpleJob(name string, env ...corev1.EnvVar) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox:1.36", Command: []string{"true"}, Env: env}},
			}},
		},
	}
}

func TestSmoke(t *testing.T) {
	c, cfg := setup(t)
	ctx := context.Background()
	suffix := fmt.Sprintf("%d", time.Now().Unix()%100000)

	t.Run("node", func(t *testing.T) {
		n, err := c.CoreV1().Nodes().Get(ctx, "sim-node", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("node capacity cpu=%s memory=%s pods=%s", n.Status.Capacity.Cpu(), n.Status.Capacity.Memory(), n.Status.Capacity.Pods())
	})

	ns := "smoke-" + suffix
	t.Run("namespace+default SA", func(t *testing.T) { createNS(t, c, ns) })

	t.Run("deployment available", func(t *testing.T) {
		labels := map[string]string{"app": "web"}
		_, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		poll(t, "deployment available", 60*time.Second, func(ctx context.Context) (bool, error) {
			d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, cd := range d.Status.Conditions {
				if cd.Type == appsv1.DeploymentAvailable && cd.Status == corev1.ConditionTrue && d.Status.AvailableReplicas == 2 {
					return true, nil
				}
			}
			return false, nil
		})
		pods, _ := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		for _, p := range pods.Items {
			t.Logf("pod %s phase=%s ip=%s node=%s", p.Name, p.Status.Phase, p.Status.PodIP, p.Spec.NodeName)
		}
	})

	t.Run("service proxy to pod IPs is not usable", func(t *testing.T) {
		_, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		res := c.CoreV1().RESTClient().Get().Namespace(ns).Resource("services").Name("web:80").SubResource("proxy").Do(tctx)
		var code int
		res.StatusCode(&code)
		if res.Error() == nil {
			t.Fatalf("service proxy unexpectedly worked (HTTP %d)", code)
		}
		t.Logf("service proxy: HTTP %d: %v (no Endpoints objects: endpoints-controller is not run)", code, res.Error())

		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(pods.Items) == 0 {
			t.Fatalf("web pods: %v", err)
		}
		start := time.Now()
		tctx2, cancel2 := context.WithTimeout(ctx, 15*time.Second)
		defer cancel2()
		res = c.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name(pods.Items[0].Name + ":80").SubResource("proxy").Do(tctx2)
		res.StatusCode(&code)
		if res.Error() == nil {
			t.Fatalf("pod proxy unexpectedly worked (HTTP %d)", code)
		}
		t.Logf("pod proxy to %s: HTTP %d after %s: %v (fake pod IPs are never reachable)", pods.Items[0].Status.PodIP, code, time.Since(start).Round(time.Millisecond), res.Error())
	})

	t.Run("volume provisioned, bound, deleted with its claim", func(t *testing.T) {
		claims := c.CoreV1().PersistentVolumeClaims(ns)
		claim, err := claims.Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		poll(t, "claim bound", 30*time.Second, func(ctx context.Context) (bool, error) {
			claim, err = claims.Get(ctx, "data", metav1.GetOptions{})
			return err == nil && claim.Status.Phase == corev1.ClaimBound, err
		})
		if got := claim.Status.Capacity.Storage().String(); got != "1Gi" || claim.Spec.VolumeName != "pvc-"+string(claim.UID) {
			t.Fatalf("bound claim: capacity %s, volume %q", got, claim.Spec.VolumeName)
		}
		pv, err := c.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pv.Status.Phase != corev1.VolumeBound || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != claim.UID {
			t.Fatalf("volume: phase %s, claimRef %+v", pv.Status.Phase, pv.Spec.ClaimRef)
		}
		if err := claims.Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, "volume deleted", 30*time.Second, func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
	})

	t.Run("jobs", func(t *testing.T) {
		if _, err := c.BatchV1().Jobs(ns).Create(ctx, simpleJob("ok"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.BatchV1().Jobs(ns).Create(ctx, simpleJob("fail", corev1.EnvVar{Name: "SIM_EXIT_CODE", Value: "1"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := waitJob(t, c, ns, "ok", 60*time.Second); got != "Complete" {
			t.Errorf("job ok: %s, want Complete", got)
		}
		if got := waitJob(t, c, ns, "fail", 60*time.Second); got != "Failed" {
			t.Errorf("job fail: %s, want Failed", got)
		}
		pods, _ := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=fail"})
		for _, p := range pods.Items {
			if len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Terminated != nil {
				t.Logf("pod %s: phase %s exit %d", p.Name, p.Status.Phase, p.Status.ContainerStatuses[0].State.Terminated.ExitCode)
			}
		}
	})

	t.Run("resource quota admission", func(t *testing.T) {
		qns := "quota-" + suffix
		createNS(t, c, qns)
		_, err := c.CoreV1().ResourceQuotas(qns).Create(ctx, &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: "q"},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
				corev1.ResourceRequestsCPU: resource.MustParse("1"), corev1.ResourcePods: resource.MustParse("5"),
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		poll(t, "quota status computed", 30*time.Second, func(ctx context.Context) (bool, error) {
			q, err := c.CoreV1().ResourceQuotas(qns).Get(ctx, "q", metav1.GetOptions{})
			return err == nil && len(q.Status.Hard) > 0, nil
		})
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "no-requests"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}},
		}
		_, err = c.CoreV1().Pods(qns).Create(ctx, pod, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("pod without requests in quota namespace: got %v, want Forbidden", err)
		}
		t.Logf("rejected as expected: %v", err)
		pod.Name = "with-requests"
		pod.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
		if _, err := c.CoreV1().Pods(qns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("pod with requests: %v", err)
		}
		poll(t, "quota used updated", 30*time.Second, func(ctx context.Context) (bool, error) {
			q, err := c.CoreV1().ResourceQuotas(qns).Get(ctx, "q", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			u := q.Status.Used[corev1.ResourceRequestsCPU]
			return u.MilliValue() == 100, nil
		})
	})

	t.Run("helm job installs chart as namespace-scoped SA", func(t *testing.T) {
		hns := "helm-" + suffix
		createNS(t, c, hns)
		mustCreateSA(t, c, hns, "deployer")
		mustCreateSA(t, c, hns, "nobody")
		_, err := c.RbacV1().Roles(hns).Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "deployer"},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{"", "apps", "batch"}, Resources: []string{"*"}, Verbs: []string{"*"},
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.RbacV1().RoleBindings(hns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "deployer"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "deployer"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer", Namespace: hns}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		items := chartConfigMap(t, c, hns)
		if _, err := c.BatchV1().Jobs(hns).Create(ctx, helmJob("install-ok", "deployer", items,
			"upgrade", "--install", "tiny", "/chart", "--wait", "--timeout", "2m", "--set", "message=hello"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.BatchV1().Jobs(hns).Create(ctx, helmJob("install-forbidden", "nobody", items,
			"install", "denied", "/chart"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := waitJob(t, c, hns, "install-ok", 150*time.Second); got != "Complete" {
			t.Errorf("helm job install-ok: %s, want Complete; %s", got, podMessages(c, hns, "install-ok"))
		}
		cm, err := c.CoreV1().ConfigMaps(hns).Get(ctx, "tiny-config", metav1.GetOptions{})
		if err != nil || cm.Data["message"] != "hello" {
			t.Errorf("chart ConfigMap tiny-config: %v %v", err, cm)
		}
		if _, err := c.CoreV1().Secrets(hns).Get(ctx, "sh.helm.release.v1.tiny.v1", metav1.GetOptions{}); err != nil {
			t.Errorf("helm release secret: %v", err)
		}
		if d, err := c.AppsV1().Deployments(hns).Get(ctx, "tiny-web", metav1.GetOptions{}); err != nil || d.Status.AvailableReplicas != 1 {
			t.Errorf("chart Deployment tiny-web: %v", err)
		}
		if got := waitJob(t, c, hns, "install-forbidden", 90*time.Second); got != "Failed" {
			t.Errorf("helm job install-forbidden: %s, want Failed", got)
		}
		msg := podMessages(c, hns, "install-forbidden")
		if !strings.Contains(msg, "forbidden") {
			t.Errorf("terminated.message of the failed helm pod does not mention forbidden: %q", msg)
		}
		t.Logf("failed helm pod message: %s", msg)
	})

	t.Run("namespace deletion finalizes", func(t *testing.T) {
		if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, "namespace "+ns+" gone", 90*time.Second, func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})

	t.Run("audit log", func(t *testing.T) {
		p := os.Getenv("STOREPLANE_TEST_AUDIT_LOG")
		if p == "" {
			t.Skip("no audit log")
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("audit log: %d events", strings.Count(string(b), "\n"))
		_ = cfg
	})
}

func mustCreateSA(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// chartConfigMap stores testdata/tiny-chart in a ConfigMap (keys cannot hold '/', so
// "templates/x.yaml" is stored as "templates__x.yaml" and mapped back with items).
func chartConfigMap(t *testing.T, c kubernetes.Interface, ns string) []corev1.KeyToPath {
	t.Helper()
	root := os.Getenv("STOREPLANE_TINY_CHART")
	if root == "" {
		root = filepath.Join("..", "testdata", "tiny-chart")
	}
	data := map[string]string{}
	var items []corev1.KeyToPath
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		key := strings.ReplaceAll(rel, "/", "__")
		data[key] = string(b)
		items = append(items, corev1.KeyToPath{Key: key, Path: rel})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "chart"}, Data: data}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return items
}

func helmJob(name, sa string, items []corev1.KeyToPath, args ...string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy:      corev1.RestartPolicyNever,
				ServiceAccountName: sa,
				Containers: []corev1.Container{{
					Name: "helm", Image: "alpine/helm:3.19.5", Command: []string{"helm"}, Args: args,
					TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					VolumeMounts:             []corev1.VolumeMount{{Name: "chart", MountPath: "/chart", ReadOnly: true}},
				}},
				Volumes: []corev1.Volume{{Name: "chart", VolumeSource: corev1.VolumeSource{
					ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "chart"}, Items: items},
				}}},
			}},
		},
	}
}

func podMessages(c kubernetes.Interface, ns, job string) string {
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, p := range pods.Items {
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Terminated != nil {
				out = append(out, fmt.Sprintf("pod %s exit %d: %s", p.Name, s.State.Terminated.ExitCode, s.State.Terminated.Message))
			}
		}
	}
	return strings.Join(out, "\n")
}
