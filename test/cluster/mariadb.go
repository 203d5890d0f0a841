package main

// Job pods whose first container image contains "mariadb" (a store's backup and restore Jobs)
// really run on the host, against one throwaway MariaDB server that packages/test-cluster
// starts for the cluster (--mariadb-address, --mariadb-socket). It stands in for each store's
// own MariaDB: DB_HOST/DB_PORT point at the throwaway server, and DB_NAME/DB_USER become a
// database and a user of the pod's namespace (namespaceIdentifier), created on first use with
// the password the pod has in MYSQL_PWD and seeded with one marker row (simMarkerTable), so
// stores do not share data and a dump has content.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	// The table every database the sim creates is seeded with: one row (simMarkerKey, the
	// namespace). packages/test-cluster reads and writes it in tests.
	simMarkerTable = "storeplane_sim"
	simMarkerKey   = "marker"
	// MariaDB's limit for database names (user names may be longer).
	maxIdentifierLength = 64
)

type mariadbServer struct {
	host, port string
	socket     string // root's way in (unix socket, no password)
	client     string // host `mariadb` client binary
	mu         sync.Mutex
}

func newMariadbServer(address, socket string) (*mariadbServer, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("--mariadb-address %q: %v", address, err)
	}
	if socket == "" {
		return nil, fmt.Errorf("--mariadb-socket is required with --mariadb-address")
	}
	client, err := exec.LookPath("mariadb")
	if err != nil {
		return nil, fmt.Errorf("the mariadb client is needed to prepare databases: %v", err)
	}
	return &mariadbServer{host: host, port: port, socket: socket, client: client}, nil
}

func isMariadbPod(pod *corev1.Pod) bool {
	return len(pod.Spec.Containers) > 0 && strings.Contains(imageName(pod.Spec.Containers[0].Image), "mariadb")
}

// namespaceIdentifier is the MariaDB database (or user) name standing in for name in the
// namespace: "<namespace>__<name>" with every character outside [A-Za-z0-9_] replaced by '_',
// and when longer than 64 characters its first 47 and '_' and 16 hex digits of the SHA-256 of
// "<namespace>__<name>". packages/test-cluster computes the same name.
func namespaceIdentifier(namespace, name string) string {
	raw := namespace + "__" + name
	id := []byte(raw)
	for i, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			id[i] = '_'
		}
	}
	if len(id) <= maxIdentifierLength {
		return string(id)
	}
	sum := sha256.Sum256([]byte(raw))
	return string(id[:47]) + "_" + hex.EncodeToString(sum[:])[:16]
}

// sqlString quotes s as a MariaDB string literal.
func sqlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`)
	return "'" + r.Replace(s) + "'"
}

// admin runs SQL as root through the unix socket and returns the tab-separated rows.
func (m *mariadbServer) admin(ctx context.Context, sql string) (string, error) {
	cmd := exec.CommandContext(ctx, m.client, "--no-defaults", "--socket="+m.socket, "--user=root",
		"--batch", "--skip-column-names")
	cmd.Stdin = strings.NewReader(sql)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("mariadb: %v: %s", err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// ensureDatabase creates the namespace's database (seeded with the marker row) and user if
// missing, sets the user's password to the pod's, and grants it the database.
func (m *mariadbServer) ensureDatabase(ctx context.Context, namespace, database, user, password string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	exists, err := m.admin(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = "+sqlString(database)+";")
	if err != nil {
		return err
	}
	var sql strings.Builder
	if strings.TrimSpace(exists) == "0" {
		fmt.Fprintf(&sql, "CREATE DATABASE `%s`;\n", database)
		fmt.Fprintf(&sql, "CREATE TABLE `%s`.`%s` (k VARCHAR(64) PRIMARY KEY, v TEXT);\n", database, simMarkerTable)
		fmt.Fprintf(&sql, "INSERT INTO `%s`.`%s` VALUES (%s, %s);\n", database, simMarkerTable,
			sqlString(simMarkerKey), sqlString(namespace))
	}
	account := sqlString(user) + "@'%'"
	fmt.Fprintf(&sql, "CREATE USER IF NOT EXISTS %s IDENTIFIED BY %s;\n", account, sqlString(password))
	fmt.Fprintf(&sql, "ALTER USER %s IDENTIFIED BY %s;\n", account, sqlString(password))
	fmt.Fprintf(&sql, "GRANT ALL PRIVILEGES ON `%s`.* TO %s;\n", database, account)
	_, err = m.admin(ctx, sql.String())
	return err
}

// runMariadbPod runs the pod's first container (its command: there is no image to take an
// entrypoint from) on the host with the host's bash and MariaDB tools, and returns its exit
// code, output and termination message file.
func (s *sim) runMariadbPod(ctx context.Context, pod *corev1.Pod) (int32, string, string) {
	key := pod.Namespace + "/" + pod.Name
	fail := s.podFailer("mariadb", pod)
	dir, err := s.makePodDir(pod, "home", "tmp", "work", "vol")
	defer os.RemoveAll(dir)
	if err != nil {
		return fail("%v", err)
	}
	c := pod.Spec.Containers[0]
	if len(c.Command) == 0 {
		return fail("container %s has no command (the sim runs mariadb Job pods' commands, not image entrypoints)", c.Name)
	}

	mounts, err := s.hostMounts(ctx, pod, c, filepath.Join(dir, "vol"))
	if err != nil {
		return fail("%v", err)
	}
	messagePath := c.TerminationMessagePath
	if messagePath == "" {
		messagePath = corev1.TerminationMessagePathDefault
	}
	messageFile := filepath.Join(dir, "termination-log")
	if err := os.WriteFile(messageFile, nil, 0o600); err != nil {
		return fail("%v", err)
	}
	mounts = append(mounts, mountMap{from: messagePath, to: messageFile})
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].from) > len(mounts[j].from) })

	env := map[string]string{}
	for _, e := range c.Env {
		val := e.Value
		if e.ValueFrom != nil {
			if val, err = s.envFrom(ctx, pod, e.ValueFrom); err != nil {
				return fail("env %s: %v", e.Name, err)
			}
		}
		env[e.Name] = rewritePaths(val, mounts)
	}
	if _, ok := env["DB_HOST"]; ok {
		env["DB_HOST"] = s.mariadb.host
	}
	if _, ok := env["DB_PORT"]; ok {
		env["DB_PORT"] = s.mariadb.port
	}
	database, hasDatabase := env["DB_NAME"]
	user, hasUser := env["DB_USER"]
	if hasDatabase && hasUser {
		env["DB_NAME"] = namespaceIdentifier(pod.Namespace, database)
		env["DB_USER"] = namespaceIdentifier(pod.Namespace, user)
		if err := s.mariadb.ensureDatabase(ctx, pod.Namespace, env["DB_NAME"], env["DB_USER"], env["MYSQL_PWD"]); err != nil {
			return fail("database %s for %s: %v", env["DB_NAME"], key, err)
		}
	}
	env["HOME"] = filepath.Join(dir, "home")
	env["TMPDIR"] = rewritePaths("/tmp", mounts)
	if env["TMPDIR"] == "/tmp" {
		env["TMPDIR"] = filepath.Join(dir, "tmp")
	}
	env["PATH"] = os.Getenv("PATH")
	argv := append(append([]string{}, c.Command...), c.Args...)
	for i := range argv {
		argv[i] = rewritePaths(argv[i], mounts)
	}
	runCtx, cancel := context.WithTimeout(ctx, podDeadline(pod))
	defer cancel()
	s.logf("mariadb pod %s: running %q", key, argv)
	code, out := s.runOnHost(runCtx, hostCommand{
		kind: "mariadb", key: key, argv: argv, env: env,
		dir: dir, workingDir: c.WorkingDir, mounts: mounts,
	}, nil)
	return code, tailLines(out, 60, 4096), readTerminationMessage(messageFile)
}

// readTerminationMessage reads at most 4096 bytes, the kubelet's limit for one container.
func readTerminationMessage(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 4096))
	return string(b)
}

// hostMounts maps the container's mount paths to host directories: a claim's volume directory
// (waiting up to a minute for the claim to be bound, as a kubelet waits), and for the other
// volume types what materialiseVolume writes under volDir. readOnly is not enforced.
func (s *sim) hostMounts(ctx context.Context, pod *corev1.Pod, c corev1.Container, volDir string) ([]mountMap, error) {
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	var mounts []mountMap
	for _, m := range c.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume %q not found", m.Name)
		}
		var to string
		if v.PersistentVolumeClaim != nil {
			dir, err := s.waitClaimDir(ctx, pod.Namespace, v.PersistentVolumeClaim.ClaimName)
			if err != nil {
				return nil, fmt.Errorf("volume %q: %v", m.Name, err)
			}
			to = dir
		} else {
			to = filepath.Join(volDir, m.Name)
			if _, err := os.Stat(to); err != nil {
				if err := s.materialiseVolume(ctx, pod, v, to); err != nil {
					return nil, fmt.Errorf("volume %q: %v", m.Name, err)
				}
			}
		}
		if m.SubPath != "" {
			to = filepath.Join(to, m.SubPath)
		}
		mounts = append(mounts, mountMap{from: filepath.Clean(m.MountPath), to: to})
	}
	return mounts, nil
}

func (s *sim) waitClaimDir(ctx context.Context, namespace, claim string) (string, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		dir, ok, err := s.volumes.claimDir(ctx, namespace, claim)
		if err != nil || ok {
			return dir, err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("persistentvolumeclaim %s/%s is not bound", namespace, claim)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
