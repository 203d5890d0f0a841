// Command storeplane-test-cluster runs the pieces of a real Kubernetes control plane for
// Storeplane's tests, one piece per process:
//
//	storeplane-test-cluster certs --dir D [--server https://127.0.0.1:PORT]
//	storeplane-test-cluster etcd --data-dir D --client-url http://127.0.0.1:P --peer-url http://127.0.0.1:Q
//	storeplane-test-cluster kube-apiserver <kube-apiserver flags>
//	storeplane-test-cluster kube-controller-manager <kube-controller-manager flags>
//	storeplane-test-cluster sim --kubeconfig K --helm PATH
//	storeplane-test-cluster run -- COMMAND ARGS...
//
// kube-apiserver and kube-controller-manager are the upstream commands (k8s.io/kubernetes);
// sim is a kubelet stand-in (see sim.go). run runs another program (the throwaway MariaDB
// server) as a child that gets this process's SIGTERM/SIGINT, so STOREPLANE_EXIT_WITH_PARENT
// stops it too.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: storeplane-test-cluster certs|etcd|kube-apiserver|kube-controller-manager|sim [flags] | run -- COMMAND...")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	sub, args := os.Args[1], os.Args[2:]
	if os.Getenv("STOREPLANE_EXIT_WITH_PARENT") == "1" {
		go exitWithParent()
	}
	switch sub {
	case "kube-apiserver":
		cmd := apiserverapp.NewAPIServerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-controller-manager":
		cmd := kcmapp.NewControllerManagerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "etcd":
		os.Exit(runEtcd(args))
	case "certs":
		os.Exit(runCerts(args))
	case "sim":
		os.Exit(runSim(args))
	case "run":
		os.Exit(runChild(args))
	default:
		usage()
	}
}

// exitWithParent sends SIGTERM to this process when its parent dies (the test runner was
// killed), and exits hard 15 s later, so no control-plane process outlives its test.
func exitWithParent() {
	ppid := os.Getppid()
	for {
		time.Sleep(time.Second)
		if os.Getppid() != ppid {
			_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
			time.Sleep(15 * time.Second)
			os.Exit(1)
		}
	}
}

// runChild runs args (after "--") with this process's stdio, passes SIGTERM and SIGINT on to
// it and exits with its exit code.
func runChild(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		usage()
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 127
	}
	go func() {
		for sig := range signals {
			_ = cmd.Process.Signal(sig)
		}
	}()
	err := cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return exitErr.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
}
