package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A pod container's command that the sim runs on the host (helm pods, mariadb Job pods).
type hostCommand struct {
	kind, key  string // for the log: what runs it (helm, mariadb) and the pod's namespace/name
	argv       []string
	env        map[string]string
	dir        string // the pod's directory; the command runs in its work/ ...
	workingDir string // ... unless the container's workingDir is on a mounted volume
	mounts     []mountMap
}

// podFailer is what a host-run pod answers when the sim cannot run it: exit code 1 and a
// message, which also goes to the sim's log under kind (helm, mariadb).
func (s *sim) podFailer(kind string, pod *corev1.Pod) func(format string, a ...interface{}) (int32, string, string) {
	key := pod.Namespace + "/" + pod.Name
	return func(format string, a ...interface{}) (int32, string, string) {
		msg := fmt.Sprintf("storeplane sim: "+format, a...)
		s.logf("%s pod %s: %s", kind, key, msg)
		return 1, msg, ""
	}
}

// makePodDir creates a host-run pod's directory with the given subdirectories and returns its
// path, which the caller removes when the pod is done (also when this fails).
func (s *sim) makePodDir(pod *corev1.Pod, subdirs ...string) (string, error) {
	dir := filepath.Join(s.workRoot, "pods", string(pod.UID))
	for _, d := range subdirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

// podDeadline is how long a pod's command may run: its activeDeadlineSeconds, or 30 minutes.
func podDeadline(pod *corev1.Pod) time.Duration {
	if pod.Spec.ActiveDeadlineSeconds != nil {
		return time.Duration(*pod.Spec.ActiveDeadlineSeconds) * time.Second
	}
	return 30 * time.Minute
}

// runOnHost runs the command until ctx ends and returns its exit code (137 when killed says the
// sim killed it) and its output, stdout and stderr together, which also goes to the sim's log.
func (s *sim) runOnHost(ctx context.Context, h hostCommand, killed func() bool) (int32, string) {
	var envList []string
	for k, v := range h.env {
		envList = append(envList, k+"="+v)
	}
	sort.Strings(envList)
	cmd := exec.CommandContext(ctx, h.argv[0], h.argv[1:]...)
	cmd.Env = envList
	cmd.Dir = filepath.Join(h.dir, "work")
	if h.workingDir != "" {
		if wd := rewritePaths(h.workingDir, h.mounts); wd != h.workingDir {
			cmd.Dir = wd
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	code := int32(0)
	if killed != nil && killed() {
		code = 137
	} else if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() >= 0 {
			code = int32(ee.ExitCode())
		} else {
			code = 1
			fmt.Fprintf(&out, "storeplane sim: %v\n", err)
		}
	}
	s.logMu.Lock()
	fmt.Fprintf(os.Stderr, "---- %s pod %s: exit %d after %s; output:\n%s---- end of %s pod %s\n",
		h.kind, h.key, code, time.Since(start).Round(time.Millisecond), out.String(), h.kind, h.key)
	s.logMu.Unlock()
	return code, out.String()
}
