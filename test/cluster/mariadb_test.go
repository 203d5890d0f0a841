package main

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestNamespaceIdentifier(t *testing.T) {
	for _, tc := range []struct{ namespace, name, want string }{
		{"store-abc", "wordpress", "store_abc__wordpress"},
		{"a.b", "x-y z`';", "a_b__x_y_z___"},
		// packages/test-cluster's simDatabaseName is tested against this same long name.
		{strings.Repeat("n", 63), "wordpress", strings.Repeat("n", 47) + "_" + "68d3df7c882763f7"},
	} {
		got := namespaceIdentifier(tc.namespace, tc.name)
		if len(got) > maxIdentifierLength {
			t.Errorf("namespaceIdentifier(%q, %q) = %q: longer than %d", tc.namespace, tc.name, got, maxIdentifierLength)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("namespaceIdentifier(%q, %q) = %q, want %q", tc.namespace, tc.name, got, tc.want)
		}
	}
	if namespaceIdentifier(strings.Repeat("n", 63), "a") == namespaceIdentifier(strings.Repeat("n", 63), "b") {
		t.Error("long names that differ only after the cut must not share a database")
	}
}

func TestSQLString(t *testing.T) {
	got := sqlString("it's a \\ \x00 pass\nword")
	want := `'it\'s a \\ \0 pass\nword'`
	if got != want {
		t.Errorf("sqlString = %s, want %s", got, want)
	}
}

func TestRewritePathsInScripts(t *testing.T) {
	mounts := []mountMap{
		{from: "/dev/termination-log", to: "/w/msg"},
		{from: "/backups", to: "/w/pv"},
		{from: "/tmp", to: "/w/tmp"},
	}
	for in, want := range map[string]string{
		`stat -c %s "$file" > /dev/termination-log`:   `stat -c %s "$file" > /w/msg`,
		`echo restored >/dev/termination-log`:         `echo restored >/w/msg`,
		`gunzip -c "/backups/a.sql.gz" | mariadb`:     `gunzip -c "/w/pv/a.sql.gz" | mariadb`,
		"rm -f '/backups/old.sql.gz';\ncd /tmp":       "rm -f '/w/pv/old.sql.gz';\ncd /w/tmp",
		"/backups/b1.sql.gz":                          "/w/pv/b1.sql.gz",
		"--set dir=/backups,x=/tmpfoo /var/backups/x": "--set dir=/w/pv,x=/tmpfoo /var/backups/x",
	} {
		if got := rewritePaths(in, mounts); got != want {
			t.Errorf("rewritePaths(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTerminationMessage(t *testing.T) {
	fallback := corev1.Container{TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError}
	plain := corev1.Container{}
	for _, tc := range []struct {
		c         corev1.Container
		code      int32
		file, out string
		want      string
	}{
		{fallback, 0, "1234", "logs", "1234"},
		{fallback, 1, "", "logs", "logs"},
		{fallback, 1, "written", "logs", "written"},
		{fallback, 0, "", "logs", ""},
		{plain, 1, "", "logs", ""},
	} {
		if got := terminationMessage(tc.c, tc.code, tc.file, tc.out); got != tc.want {
			t.Errorf("terminationMessage(%v, %d, %q, %q) = %q, want %q", tc.c.TerminationMessagePolicy, tc.code, tc.file, tc.out, got, tc.want)
		}
	}
}
