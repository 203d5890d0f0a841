package main

// A container that runs busybox's static file server (`httpd ... -h DIR`, e.g. a backup reader)
// really serves the files of the volume mounted at DIR on its ports: GET/HEAD of a regular
// file answers it (Content-Length, ranges), anything else 404, a path with a ".." segment 400;
// no directory listings, no escaping the volume through symlinks. Only claims' volumes have
// files on the host (volumes.go), so DIR must be on a PersistentVolumeClaim mount; otherwise
// the container answers the placeholder page like every simulated container.

import (
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// httpdHome is the -h directory of a busybox httpd command line ("httpd" or "busybox httpd").
func httpdHome(c corev1.Container) (string, bool) {
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(argv) > 1 && path.Base(argv[0]) == "busybox" {
		argv = argv[1:]
	}
	if len(argv) == 0 || path.Base(argv[0]) != "httpd" {
		return "", false
	}
	home := "."
	for i := 1; i < len(argv); i++ {
		switch {
		case argv[i] == "-h" && i+1 < len(argv):
			home = argv[i+1]
			i++
		case strings.HasPrefix(argv[i], "-h") && len(argv[i]) > 2:
			home = argv[i][2:]
		}
	}
	if !path.IsAbs(home) {
		return "", false
	}
	return path.Clean(home), true
}

// httpdRoot is the host directory behind the container's httpd home, when that is on a
// bound claim's volume.
func (s *sim) httpdRoot(r *http.Request, pod *corev1.Pod, c corev1.Container) (string, bool) {
	home, ok := httpdHome(c)
	if !ok {
		return "", false
	}
	var best *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		mp := path.Clean(m.MountPath)
		if (home == mp || strings.HasPrefix(home, strings.TrimSuffix(mp, "/")+"/")) &&
			(best == nil || len(mp) > len(path.Clean(best.MountPath))) {
			best = &c.VolumeMounts[i]
		}
	}
	if best == nil {
		return "", false
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name != best.Name || v.PersistentVolumeClaim == nil {
			continue
		}
		dir, bound, err := s.volumes.claimDir(r.Context(), pod.Namespace, v.PersistentVolumeClaim.ClaimName)
		if err != nil || !bound {
			return "", false
		}
		rest := strings.TrimPrefix(home, path.Clean(best.MountPath))
		return filepath.Join(dir, best.SubPath, filepath.FromSlash(rest)), true
	}
	return "", false
}

// serveFiles answers like busybox httpd serving root.
func serveFiles(w http.ResponseWriter, r *http.Request, root string) {
	w.Header().Set("X-Storeplane-Sim", "simulated container (static file server)")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	for _, segment := range strings.Split(r.URL.Path, "/") {
		if segment == ".." {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
	}
	rel := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil || rel == "" {
		http.NotFound(w, r)
		return
	}
	file, err := filepath.EvalSymlinks(filepath.Join(realRoot, filepath.FromSlash(rel)))
	if err != nil || !strings.HasPrefix(file, realRoot+string(filepath.Separator)) {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(file)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}
