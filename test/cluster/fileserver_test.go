package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestHttpdHome(t *testing.T) {
	for _, tc := range []struct {
		command, args []string
		want          string
		ok            bool
	}{
		{[]string{"httpd", "-f", "-p", "8080", "-h", "/backups"}, nil, "/backups", true},
		{[]string{"busybox", "httpd"}, []string{"-f", "-h/srv/www/"}, "/srv/www", true},
		{[]string{"/bin/httpd", "-f"}, nil, "", false}, // home "." is relative to an unknown cwd
		{[]string{"nginx"}, nil, "", false},
		{nil, nil, "", false},
	} {
		got, ok := httpdHome(corev1.Container{Command: tc.command, Args: tc.args})
		if got != tc.want || ok != tc.ok {
			t.Errorf("httpdHome(%q %q) = %q, %v; want %q, %v", tc.command, tc.args, got, ok, tc.want, tc.ok)
		}
	}
}

func TestServeFiles(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "volume")
	must(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "b1.sql.gz"), []byte("dump bytes"), 0o644))
	must(t, os.WriteFile(filepath.Join(base, "secret"), []byte("outside"), 0o644))
	must(t, os.Symlink(filepath.Join(base, "secret"), filepath.Join(root, "escape")))

	get := func(method, target string) *http.Response {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(method, "/", nil)
		req.URL.Path = target // as decoded by the server, ".." kept
		serveFiles(w, req, root)
		return w.Result()
	}
	res := get(http.MethodGet, "/b1.sql.gz")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(body) != "dump bytes" || res.Header.Get("Content-Length") != "10" {
		t.Errorf("GET file: %d %q Content-Length %q", res.StatusCode, body, res.Header.Get("Content-Length"))
	}
	if res := get(http.MethodHead, "/b1.sql.gz"); res.StatusCode != 200 || res.Header.Get("Content-Length") != "10" {
		t.Errorf("HEAD file: %d Content-Length %q", res.StatusCode, res.Header.Get("Content-Length"))
	}
	for target, want := range map[string]int{
		"/missing.sql.gz":   404,
		"/":                 404, // no listing
		"/sub":              404,
		"/sub/":             404,
		"/escape":           404, // symlink out of the volume
		"/../secret":        400,
		"/sub/../b1.sql.gz": 400,
	} {
		if res := get(http.MethodGet, target); res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", target, res.StatusCode, want)
		}
	}
	if res := get(http.MethodPut, "/b1.sql.gz"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d, want 405", res.StatusCode)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
