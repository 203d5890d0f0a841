package main

// Test-only knob of the sim: make helm pods fail (or start late) on purpose, so tests can
// reproduce what a real cluster does to helm (an admission webhook refusing connections, API
// rate limiting, a pod killed mid-run) without changing the product. Rules live in the
// ConfigMap kube-system/storeplane-sim-faults, key "helm", as JSON:
//
//	{"rules": [{"namespacePrefix": "store-", "argsContain": "upgrade", "everyNth": 3,
//	            "exitCode": 1, "message": "Error: INSTALLATION FAILED: ... failed calling webhook ..."}]}
//
// A rule matches a helm pod whose namespace starts with namespacePrefix and whose command line
// contains argsContain. It then fails the pod without running helm (exit exitCode, default 1;
// message as helm's output, so it becomes the termination message) when the run is one of the
// first firstRuns matching runs in that namespace, or every everyNth matching run overall.
// delaySeconds holds the pod Running that long before helm runs (a slow helm). With
// killWhenPending the matching run does run helm, and the sim kills it (exit 137, as when a
// node is lost) as soon as helm has recorded its release as pending-*: the release is left
// locked as by a helm stopped midway. The sim reads the ConfigMap at every helm run, so tests
// change rules while the cluster runs.

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	helmFaultsNamespace = "kube-system"
	helmFaultsConfigMap = "storeplane-sim-faults"
)

type helmFaultRule struct {
	NamespacePrefix string `json:"namespacePrefix"`
	ArgsContain     string `json:"argsContain"`
	FirstRuns       int    `json:"firstRuns"`
	EveryNth        int    `json:"everyNth"`
	DelaySeconds    int    `json:"delaySeconds"`
	KillWhenPending bool   `json:"killWhenPending"`
	ExitCode        int32  `json:"exitCode"`
	Message         string `json:"message"`
}

// helmFault is what the rules decided for one helm run.
type helmFault struct {
	fail            bool // do not run helm; end with code and message
	code            int32
	message         string
	killWhenPending bool
}

type helmFaults struct {
	mu      sync.Mutex
	perNs   map[string]int // rule+namespace -> matching runs so far
	overall map[string]int // rule -> matching runs so far
}

func newHelmFaults() *helmFaults {
	return &helmFaults{perNs: map[string]int{}, overall: map[string]int{}}
}

func (s *sim) helmFaultRules(ctx context.Context) []helmFaultRule {
	cm, err := s.client.CoreV1().ConfigMaps(helmFaultsNamespace).Get(ctx, helmFaultsConfigMap, metav1.GetOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			s.logf("helm faults: %v", err)
		}
		return nil
	}
	var spec struct {
		Rules []helmFaultRule `json:"rules"`
	}
	if raw := cm.Data["helm"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &spec); err != nil {
			s.logf("helm faults: bad JSON in %s/%s: %v", helmFaultsNamespace, helmFaultsConfigMap, err)
			return nil
		}
	}
	return spec.Rules
}

// injectedHelmFault applies the rules to a helm pod about to run: it may wait (delaySeconds),
// and says whether the run must fail instead of running helm, or be killed once pending.
func (s *sim) injectedHelmFault(ctx context.Context, pod *corev1.Pod, argv []string) helmFault {
	cmdline := strings.Join(argv, " ")
	for _, rule := range s.helmFaultRules(ctx) {
		if !strings.HasPrefix(pod.Namespace, rule.NamespacePrefix) || !strings.Contains(cmdline, rule.ArgsContain) {
			continue
		}
		id, _ := json.Marshal(rule)
		s.faults.mu.Lock()
		s.faults.perNs[string(id)+"|"+pod.Namespace]++
		s.faults.overall[string(id)]++
		nth := s.faults.overall[string(id)]
		inNs := s.faults.perNs[string(id)+"|"+pod.Namespace]
		s.faults.mu.Unlock()
		if rule.DelaySeconds > 0 {
			s.logf("helm pod %s/%s: injected delay of %ds", pod.Namespace, pod.Name, rule.DelaySeconds)
			select {
			case <-ctx.Done():
				return helmFault{fail: true, code: 137}
			case <-time.After(time.Duration(rule.DelaySeconds) * time.Second):
			}
		}
		chosen := (rule.FirstRuns > 0 && inNs <= rule.FirstRuns) || (rule.EveryNth > 0 && nth%rule.EveryNth == 0)
		if !chosen {
			continue
		}
		if rule.KillWhenPending {
			s.logf("helm pod %s/%s: helm will be killed once its release is pending", pod.Namespace, pod.Name)
			return helmFault{killWhenPending: true}
		}
		code := rule.ExitCode
		if code == 0 {
			code = 1
		}
		s.logf("helm pod %s/%s: injected failure (exit %d): %s", pod.Namespace, pod.Name, code, rule.Message)
		return helmFault{fail: true, code: code, message: rule.Message}
	}
	return helmFault{}
}

// killOnceReleasePending cancels a helm run as soon as a release record in the namespace is
// pending-install/upgrade/rollback; reports whether it did.
func (s *sim) killOnceReleasePending(ctx context.Context, namespace string, kill context.CancelFunc) func() bool {
	var killed atomic.Bool
	go func() {
		for ctx.Err() == nil {
			secrets, err := s.client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
			if err == nil {
				for _, sec := range secrets.Items {
					if strings.HasPrefix(sec.Labels["status"], "pending-") {
						s.logf("helm in %s: release %s is %s; killing helm", namespace, sec.Name, sec.Labels["status"])
						killed.Store(true)
						kill()
						return
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return killed.Load
}
