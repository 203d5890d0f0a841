/*
 * A real Kubernetes control plane for tests: etcd, kube-apiserver (RBAC, default admission,
 * ServiceAccount tokens), kube-controller-manager and a kubelet stand-in ("sim") that binds
 * pods to one fake node, runs Job pods to completion, really runs helm for pods whose
 * image contains "helm", and answers HTTP for running pods: kube-apiserver reaches pod
 * addresses through its "cluster" egress (HTTP CONNECT on a unix socket the sim serves), so
 * its service proxy works, with the pods' NetworkPolicies enforced for the API server's
 * address. Optionally the sim also stands in for an ingress controller on a loopback port.
 * When Debian's mariadb-server is installed, a throwaway MariaDB (own data dir, loopback
 * only) runs beside the cluster and the sim really runs backup/restore Job pods (mariadb
 * images) against it, and serves the backup files of busybox httpd pods (test/cluster/README.md).
 * All of it is one Go binary (test/cluster) built into a cache outside the repository by
 * scripts/ensure-test-cluster.sh.
 *
 * Only Node builtins are used, and only erasable TypeScript syntax, so this file also runs
 * under plain `node` (type stripping) for the smoke script.
 */
import { spawn, spawnSync, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

export interface TestCluster {
  /** https://127.0.0.1:port */
  server: string;
  /**
   * The address kube-apiserver's connections to pods come from: the node's, as the API server
   * runs on it with host networking. NetworkPolicies must admit it for the service proxy.
   */
  apiServerSourceIp: string;
  /** `127.0.0.1:port` of the ingress controller stand-in (class `nginx`), when asked for. */
  ingressAddress?: string;
  /** Path of an admin kubeconfig (client cert in system:masters). */
  adminKubeconfigPath: string;
  /** Path of a kubeconfig with a TokenRequest token (6 h unless said) for that ServiceAccount. */
  kubeconfigForServiceAccount(
    namespace: string,
    name: string,
    options?: { expirationSeconds?: number },
  ): Promise<string>;
  /** Stop + start kube-apiserver on the same port (for fault tests). */
  restartApiServer(): Promise<void>;
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  /** JSON-lines audit log (level Metadata for every request; see auditPolicy below). */
  auditLogPath?: string;
  /**
   * Whether Job pods of mariadb images (store backups and restores) really run, against a
   * throwaway MariaDB: false when mariadbd is not installed (they then just complete).
   */
  mariadb: boolean;
  /** The throwaway MariaDB's unix socket (root may log in on it), when it runs. */
  mariadbSocket?: string;
  /** Runs SQL as the throwaway MariaDB's root; the rows, tab-separated. Throws without it. */
  mariadbQuery(sql: string): Promise<string>;
  /** The marker row the sim seeded the namespace's database with (simDatabaseName). */
  simMarker(namespace: string, database: string): Promise<string | undefined>;
  setSimMarker(
    namespace: string,
    database: string,
    value: string,
  ): Promise<void>;
  /** Directory holding etcd.log, kube-apiserver.log, kube-controller-manager.log, sim.log (mariadb.log). */
  logs(): string;
  stop(): Promise<void>;
}

const NODE_NAME = 'sim-node';
/** The table the sim seeds every database with (test/cluster/mariadb.go). */
const SIM_MARKER_TABLE = 'storeplane_sim';
/** The sim node's InternalIP (test/cluster/podnet.go). */
const NODE_IP = '10.243.0.1';

const CONTROLLERS = [
  'serviceaccount-token-controller',
  'serviceaccount-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'job-controller',
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'endpointslice-controller',
  // The API server's service proxy resolves Services through Endpoints, not EndpointSlices.
  'endpoints-controller',
  'resourcequota-controller',
  'clusterrole-aggregation-controller',
  'root-ca-certificate-publisher-controller',
  'ttl-after-finished-controller',
  'cronjob-controller',
  'disruption-controller',
  'pod-garbage-collector-controller',
  // Removes the pvc-protection finalizer, or PVCs (and their namespaces) never go away.
  'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller',
];

const egressSelectorConfig = (
  socket: string,
) => `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
  - name: cluster
    connection:
      proxyProtocol: HTTPConnect
      transport:
        uds:
          udsName: ${socket}
`;

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
`;

function findRepoRoot(): string {
  const starts: string[] = [];
  if (process.env.STOREPLANE_REPO_ROOT)
    starts.push(process.env.STOREPLANE_REPO_ROOT);
  // Test-only code that is never bundled, so __dirname is this file's real directory.
  // eslint-disable-next-line no-restricted-syntax
  if (typeof __dirname !== 'undefined') starts.push(__dirname);
  starts.push(process.cwd());
  for (const start of starts) {
    let dir = path.resolve(start);
    for (;;) {
      if (fs.existsSync(path.join(dir, 'scripts', 'ensure-test-cluster.sh')))
        return dir;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(
    `test-cluster: cannot find scripts/ensure-test-cluster.sh above ${starts.join(
      ', ',
    )}`,
  );
}

function childEnv(): NodeJS.ProcessEnv {
  const extra = fs.existsSync('/usr/local/go/bin/go')
    ? ':/usr/local/go/bin'
    : '';
  return { ...process.env, PATH: (process.env.PATH ?? '') + extra };
}

export function testClusterAvailability():
  | { available: true }
  | { available: false; reason: string } {
  if (process.platform !== 'linux' && process.platform !== 'darwin') {
    return {
      available: false,
      reason: `test cluster needs linux or darwin, not ${process.platform}`,
    };
  }
  let root: string;
  try {
    root = findRepoRoot();
  } catch (e) {
    return { available: false, reason: String(e) };
  }
  if (!fs.existsSync(path.join(root, 'test', 'cluster', 'go.mod'))) {
    return { available: false, reason: `no test/cluster/go.mod under ${root}` };
  }
  // Built before (for these sources): no Go toolchain needed.
  const cached = ['ensure-test-cluster.sh', 'ensure-helm.sh'].every(
    script =>
      spawnSync('bash', [path.join(root, 'scripts', script), '--cached-only'], {
        env: childEnv(),
        stdio: 'ignore',
      }).status === 0,
  );
  if (cached) return { available: true };
  const go = spawnSync('go', ['env', 'GOVERSION'], {
    env: childEnv(),
    encoding: 'utf8',
  });
  if (go.error || go.status !== 0) {
    return {
      available: false,
      reason:
        'no Go toolchain on PATH to build the test control plane from test/cluster, and no build of it in the cache',
    };
  }
  const m = /^go1\.(\d+)/.exec(go.stdout.trim());
  if (!m || Number(m[1]) < 24) {
    return {
      available: false,
      reason: `Go ${go.stdout.trim()} is too old (need go1.24 or newer)`,
    };
  }
  return { available: true };
}

function runScript(script: string, logFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [script],
      { env: childEnv(), maxBuffer: 16 << 20, timeout: 45 * 60 * 1000 },
      (err, stdout, stderr) => {
        fs.appendFileSync(logFile, `$ ${script}\n${stderr}`);
        if (err) {
          reject(
            new Error(
              `${script} failed (exit ${
                (err as { code?: unknown }).code
              }): ${stderr.slice(-4000)}`,
            ),
          );
          return;
        }
        const lines = stdout.trim().split('\n');
        resolve(lines[lines.length - 1]);
      },
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address() as net.AddressInfo;
      srv.close(() => resolve(addr.port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms));
}

interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

interface HttpResult {
  status: number;
  body: string;
}

function request(
  server: string,
  tls: Tls,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(urlPath, server);
    const data =
      body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request(
      {
        method,
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        headers: {
          Accept: 'application/json',
          ...(data
            ? {
                'Content-Type': 'application/json',
                'Content-Length': String(data.length),
              }
            : {}),
        },
        timeout: 10000,
        agent: false,
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

function httpGet(url: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000, agent: false }, res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  alive?: () => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    alive?.();
    try {
      if (await check()) return;
    } catch (e) {
      lastErr = String(e);
    }
    await sleep(200);
  }
  throw new Error(
    `test-cluster: timed out after ${timeoutMs} ms waiting for ${what}${
      lastErr ? ` (last error: ${lastErr})` : ''
    }`,
  );
}

class Proc {
  name: string;
  bin: string;
  args: string[];
  logFile: string;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
  exitInfo: string | undefined;

  constructor(name: string, bin: string, args: string[], logFile: string) {
    this.name = name;
    this.bin = bin;
    this.args = args;
    this.logFile = logFile;
  }

  start(): void {
    const fd = fs.openSync(this.logFile, 'a');
    fs.writeSync(
      fd,
      `\n==== ${new Date().toISOString()} starting ${
        this.name
      }: ${this.args.join(' ')}\n`,
    );
    const child = spawn(this.bin, this.args, {
      stdio: ['ignore', fd, fd],
      env: { ...childEnv(), STOREPLANE_EXIT_WITH_PARENT: '1' },
    });
    fs.closeSync(fd);
    this.child = child;
    this.exitInfo = undefined;
    this.exited = new Promise(resolve => {
      child.on('exit', (code, signal) => {
        this.exitInfo = `exited with ${signal ?? `code ${code}`}`;
        resolve();
      });
      child.on('error', err => {
        this.exitInfo = `failed to start: ${err.message}`;
        resolve();
      });
    });
  }

  /** Throws if the process is gone (used while waiting for readiness). */
  assertAlive(): void {
    if (this.exitInfo !== undefined) {
      throw new Error(
        `test-cluster: ${this.name} ${this.exitInfo}; see ${
          this.logFile
        }:\n${tail(this.logFile, 30)}`,
      );
    }
  }

  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || this.exitInfo !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function tail(file: string, n: number): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.slice(-n).join('\n');
  } catch {
    return '';
  }
}

const liveClusters = new Set<() => void>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const kill of liveClusters) kill();
  });
}

/**
 * The MariaDB database (or user) the sim gives a namespace for a pod's DB_NAME (DB_USER):
 * test/cluster/mariadb.go namespaceIdentifier, which this must match.
 */
export function simDatabaseName(namespace: string, name: string): string {
  const raw = `${namespace}__${name}`;
  const id = raw.replace(/[^A-Za-z0-9_]/g, '_');
  if (id.length <= 64) return id;
  const hash = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return `${id.slice(0, 47)}_${hash}`;
}

interface MariadbBinaries {
  mariadbd: string;
  installDb: string;
  client: string;
}

function findMariadb(): MariadbBinaries | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
    '/usr/sbin',
    '/usr/local/sbin',
  ];
  const find = (name: string) =>
    dirs
      .map(dir => path.join(dir, name))
      .find(file => {
        try {
          fs.accessSync(file, fs.constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
  const [mariadbd, installDb, client] = [
    find('mariadbd'),
    find('mariadb-install-db'),
    find('mariadb'),
  ];
  return mariadbd && installDb && client
    ? { mariadbd, installDb, client }
    : undefined;
}

/** A test server's needs: small files and memory (the data dir is ~22 MB). */
const MARIADB_SERVER_OPTIONS = [
  '--skip-log-bin',
  '--innodb-log-file-size=4M',
  '--innodb-buffer-pool-size=16M',
];

/**
 * The data dir of the throwaway MariaDB: in memory (/dev/shm) when there is room, as creating
 * the system tables on a busy disk takes seconds (fsyncs), in memory half a second.
 */
function mariadbDataDirectory(fallbackParent: string): string {
  try {
    const shm = fs.statfsSync('/dev/shm');
    if (shm.bavail * shm.bsize > 512 << 20) {
      return fs.mkdtempSync('/dev/shm/storeplane-mariadb-');
    }
  } catch {
    // no /dev/shm
  }
  return path.join(fallbackParent, 'data');
}

function runFile(
  file: string,
  args: string[],
  input?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: 16 << 20, timeout: 60000 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${path.basename(file)}: ${err.message} ${stderr}`));
        else resolve(stdout);
      },
    );
    // A client that exits before reading its input (a server not up yet) makes the write fail
    // with EPIPE; its exit status says what went wrong, through the callback above.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** SQL string literal. */
function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export async function startTestCluster(options?: {
  helmPath?: string;
  /** Also run the ingress controller stand-in (serves Ingresses of class `nginx`). */
  ingress?: boolean;
  /** Run the throwaway MariaDB (default: when mariadbd is installed). */
  mariadb?: boolean;
}): Promise<TestCluster> {
  const root = findRepoRoot();
  const dir = fs.mkdtempSync(
    path.join(os.tmpdir(), 'storeplane-test-cluster-'),
  );
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir);
  const buildLog = path.join(logDir, 'build.log');
  const [bin, helm] = await Promise.all([
    process.env.STOREPLANE_TEST_CLUSTER_BIN
      ? Promise.resolve(process.env.STOREPLANE_TEST_CLUSTER_BIN)
      : runScript(
          path.join(root, 'scripts', 'ensure-test-cluster.sh'),
          buildLog,
        ),
    options?.helmPath
      ? Promise.resolve(options.helmPath)
      : runScript(path.join(root, 'scripts', 'ensure-helm.sh'), buildLog),
  ]);

  const [etcdPort, etcdPeerPort, apiPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const server = `https://127.0.0.1:${apiPort}`;
  const pki = path.join(dir, 'pki');
  const certs = spawnSync(bin, ['certs', '--dir', pki, '--server', server], {
    encoding: 'utf8',
  });
  if (certs.status !== 0)
    throw new Error(`test-cluster: certs failed: ${certs.stderr}`);
  const adminKubeconfigPath = path.join(pki, 'admin.kubeconfig');
  const tls: Tls = {
    ca: fs.readFileSync(path.join(pki, 'ca.crt')),
    cert: fs.readFileSync(path.join(pki, 'admin.crt')),
    key: fs.readFileSync(path.join(pki, 'admin.key')),
  };
  const auditPolicyPath = path.join(dir, 'audit-policy.yaml');
  fs.writeFileSync(auditPolicyPath, auditPolicy);
  const auditLogPath = path.join(logDir, 'audit.log');
  const p = (f: string) => path.join(pki, f);
  const simDir = path.join(dir, 'sim');
  fs.mkdirSync(simDir);
  const podNetworkSocket = path.join(simDir, 'pod-network.sock');
  const egressSelectorPath = path.join(dir, 'egress-selector.yaml');
  fs.writeFileSync(egressSelectorPath, egressSelectorConfig(podNetworkSocket));
  const ingressAddressFile = path.join(simDir, 'ingress-address');
  const mariadbBinaries =
    options?.mariadb === false ? undefined : findMariadb();
  const mariadbDir = path.join(dir, 'mariadb');
  const mariadbSocket = path.join(mariadbDir, 'mariadb.sock');
  const mariadbPidFile = path.join(mariadbDir, 'mariadbd.pid');
  const mariadbDataDir = mariadbBinaries
    ? mariadbDataDirectory(mariadbDir)
    : undefined;
  const mariadbPort = mariadbBinaries ? await freePort() : 0;
  // mariadbd refuses to run as root unless told to (it would switch to the mysql user).
  const mariadbUser = process.getuid?.() === 0 ? ['--user=root'] : [];

  const etcd = new Proc(
    'etcd',
    bin,
    [
      'etcd',
      '--data-dir',
      path.join(dir, 'etcd'),
      '--client-url',
      `http://127.0.0.1:${etcdPort}`,
      '--peer-url',
      `http://127.0.0.1:${etcdPeerPort}`,
    ],
    path.join(logDir, 'etcd.log'),
  );
  const apiserver = new Proc(
    'kube-apiserver',
    bin,
    [
      'kube-apiserver',
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${p('apiserver.crt')}`,
      `--tls-private-key-file=${p('apiserver.key')}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      `--client-ca-file=${p('ca.crt')}`,
      `--token-auth-file=${p('tokens.csv')}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,NodeRestriction',
      `--service-account-key-file=${p('sa.pub')}`,
      `--service-account-signing-key-file=${p('sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
      `--audit-policy-file=${auditPolicyPath}`,
      `--audit-log-path=${auditLogPath}`,
      `--egress-selector-config-file=${egressSelectorPath}`,
      '--audit-log-format=json',
      '--audit-log-mode=blocking',
      '--v=0',
    ],
    path.join(logDir, 'kube-apiserver.log'),
  );
  const controllerManager = new Proc(
    'kube-controller-manager',
    bin,
    [
      'kube-controller-manager',
      `--kubeconfig=${adminKubeconfigPath}`,
      '--secure-port=0',
      '--leader-elect=false',
      `--controllers=${CONTROLLERS.join(',')}`,
      `--service-account-private-key-file=${p('sa.key')}`,
      `--root-ca-file=${p('ca.crt')}`,
      '--use-service-account-credentials=false',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=0',
    ],
    path.join(logDir, 'kube-controller-manager.log'),
  );
  const sim = new Proc(
    'sim',
    bin,
    [
      'sim',
      '--kubeconfig',
      adminKubeconfigPath,
      '--helm',
      helm,
      '--work-dir',
      simDir,
      '--node-name',
      NODE_NAME,
      '--pod-network-socket',
      podNetworkSocket,
      ...(mariadbBinaries
        ? [
            '--mariadb-address',
            `127.0.0.1:${mariadbPort}`,
            '--mariadb-socket',
            mariadbSocket,
          ]
        : []),
      ...(options?.ingress
        ? [
            '--ingress-listen',
            '127.0.0.1:0',
            '--ingress-address-file',
            ingressAddressFile,
          ]
        : []),
    ],
    path.join(logDir, 'sim.log'),
  );
  // Through `run`, so the server stops when the test process dies (STOREPLANE_EXIT_WITH_PARENT).
  const mariadb =
    mariadbBinaries &&
    new Proc(
      'mariadb',
      bin,
      [
        'run',
        '--',
        mariadbBinaries.mariadbd,
        '--no-defaults',
        `--datadir=${mariadbDataDir}`,
        `--socket=${mariadbSocket}`,
        `--pid-file=${mariadbPidFile}`,
        `--port=${mariadbPort}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        '--innodb-flush-log-at-trx-commit=0',
        ...MARIADB_SERVER_OPTIONS,
        ...mariadbUser,
      ],
      path.join(logDir, 'mariadb.log'),
    );
  const mariadbRoot = (extra: string[]) =>
    runFile(mariadbBinaries!.client, [
      '--no-defaults',
      `--socket=${mariadbSocket}`,
      '--user=root',
      ...extra,
    ]);
  const procs = [etcd, apiserver, controllerManager, sim];
  if (mariadb) procs.push(mariadb);

  const killAll = () => {
    for (const pr of procs) {
      if (pr.child && pr.exitInfo === undefined) pr.child.kill('SIGKILL');
    }
    // SIGKILL does not reach the server through `run`.
    if (mariadb && fs.existsSync(mariadbPidFile)) {
      try {
        process.kill(
          Number(fs.readFileSync(mariadbPidFile, 'utf8')),
          'SIGKILL',
        );
      } catch {
        // already gone
      }
    }
    if (mariadbDataDir)
      fs.rmSync(mariadbDataDir, { recursive: true, force: true });
  };
  liveClusters.add(killAll);
  installExitHook();

  const get = async (urlPath: string) => request(server, tls, 'GET', urlPath);
  const waitApiReady = (proc: Proc) =>
    waitFor(
      'kube-apiserver /readyz',
      120000,
      async () => (await get('/readyz')).status === 200,
      () => proc.assertAlive(),
    );

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const pr of [sim, controllerManager, apiserver, etcd]) await pr.stop();
    if (mariadb) await mariadb.stop();
    if (mariadbDataDir)
      fs.rmSync(mariadbDataDir, { recursive: true, force: true });
    liveClusters.delete(killAll);
    if (process.env.STOREPLANE_TEST_CLUSTER_KEEP !== '1')
      fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The database server starts beside etcd and the API server (an empty data dir is ~1 s).
    const mariadbReady = mariadb
      ? (async () => {
          fs.mkdirSync(mariadbDir, { recursive: true });
          await runFile(mariadbBinaries!.installDb, [
            '--no-defaults',
            `--datadir=${mariadbDataDir}`,
            '--auth-root-authentication-method=normal',
            '--skip-test-db',
            ...MARIADB_SERVER_OPTIONS,
            ...mariadbUser,
          ]);
          mariadb.start();
          await waitFor(
            'the throwaway MariaDB',
            60000,
            async () => {
              await mariadbRoot(['-e', 'SELECT 1']);
              return true;
            },
            () => mariadb.assertAlive(),
          );
        })()
      : Promise.resolve();
    mariadbReady.catch(() => {}); // awaited below; failures before that must not go unhandled
    etcd.start();
    await waitFor(
      'etcd /health',
      60000,
      async () => {
        const r = await httpGet(`http://127.0.0.1:${etcdPort}/health`);
        return r.status === 200 && r.body.includes('"true"');
      },
      () => etcd.assertAlive(),
    );
    apiserver.start();
    await waitApiReady(apiserver);
    controllerManager.start();
    await mariadbReady;
    sim.start();
    await waitFor(
      `ServiceAccount default/default and Ready node ${NODE_NAME}`,
      120000,
      async () => {
        const sa = await get(
          '/api/v1/namespaces/default/serviceaccounts/default',
        );
        if (sa.status !== 200) return false;
        const node = await get(`/api/v1/nodes/${NODE_NAME}`);
        if (node.status !== 200) return false;
        const conds: Array<{ type: string; status: string }> =
          JSON.parse(node.body).status?.conditions ?? [];
        return conds.some(c => c.type === 'Ready' && c.status === 'True');
      },
      () => {
        controllerManager.assertAlive();
        sim.assertAlive();
      },
    );
    if (options?.ingress) {
      await waitFor(
        'the ingress controller stand-in',
        30000,
        async () => fs.existsSync(ingressAddressFile),
        () => sim.assertAlive(),
      );
    }
  } catch (e) {
    const tails = procs
      .filter(pr => pr.child)
      .map(pr => `---- ${pr.name} (${pr.logFile}):\n${tail(pr.logFile, 15)}`)
      .join('\n');
    await stop();
    const kept =
      process.env.STOREPLANE_TEST_CLUSTER_KEEP === '1'
        ? ` (logs kept in ${logDir})`
        : '';
    throw new Error(`${(e as Error).message}${kept}\n${tails}`);
  }

  let saCounter = 0;
  const kubeconfigForServiceAccount = async (
    namespace: string,
    name: string,
    tokenOptions?: { expirationSeconds?: number },
  ): Promise<string> => {
    const r = await request(
      server,
      tls,
      'POST',
      `/api/v1/namespaces/${encodeURIComponent(
        namespace,
      )}/serviceaccounts/${encodeURIComponent(name)}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: tokenOptions?.expirationSeconds ?? 6 * 3600,
        },
      },
    );
    if (r.status !== 201 && r.status !== 200) {
      throw new Error(
        `test-cluster: TokenRequest for ${namespace}/${name}: HTTP ${r.status}: ${r.body}`,
      );
    }
    const token: string = JSON.parse(r.body).status.token;
    const file = path.join(
      dir,
      'kubeconfigs',
      `${namespace}.${name}.${++saCounter}.json`,
    );
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'test',
          cluster: {
            server,
            'certificate-authority-data': tls.ca.toString('base64'),
          },
        },
      ],
      users: [{ name: `${namespace}-${name}`, user: { token } }],
      contexts: [
        {
          name: 'sa',
          context: { cluster: 'test', user: `${namespace}-${name}`, namespace },
        },
      ],
      'current-context': 'sa',
    };
    fs.writeFileSync(file, JSON.stringify(kubeconfig, null, 2), {
      mode: 0o600,
    });
    return file;
  };

  const stopApiServer = async () => {
    // kube-apiserver drains watches on SIGTERM; do not wait long for that.
    await apiserver.stop(2000);
  };
  const startApiServer = async () => {
    if (apiserver.child && apiserver.exitInfo === undefined) return;
    // The port may linger briefly after the old process exits.
    await waitFor(`port ${apiPort} free`, 30000, async () => {
      return await new Promise<boolean>(resolve => {
        const srv = net.createServer();
        srv.once('error', () => resolve(false));
        srv.listen(apiPort, '127.0.0.1', () => srv.close(() => resolve(true)));
      });
    });
    apiserver.start();
    await waitApiReady(apiserver);
  };

  const mariadbQuery = async (sql: string) => {
    if (!mariadbBinaries) {
      throw new Error(
        "test-cluster: no throwaway MariaDB (install Debian's mariadb-server)",
      );
    }
    return await runFile(
      mariadbBinaries.client,
      [
        '--no-defaults',
        `--socket=${mariadbSocket}`,
        '--user=root',
        '--batch',
        '--skip-column-names',
      ],
      sql,
    );
  };
  const markerTable = (namespace: string, database: string) =>
    `\`${simDatabaseName(namespace, database)}\`.${SIM_MARKER_TABLE}`;

  return {
    server,
    apiServerSourceIp: NODE_IP,
    mariadb: mariadb !== undefined,
    mariadbSocket: mariadb ? mariadbSocket : undefined,
    mariadbQuery,
    simMarker: async (namespace, database) =>
      (
        await mariadbQuery(
          `SELECT v FROM ${markerTable(
            namespace,
            database,
          )} WHERE k = 'marker';`,
        )
      ).trim() || undefined,
    setSimMarker: async (namespace, database, value) => {
      await mariadbQuery(
        `UPDATE ${markerTable(namespace, database)} SET v = ${sqlString(
          value,
        )} WHERE k = 'marker';`,
      );
    },
    ingressAddress: options?.ingress
      ? fs.readFileSync(ingressAddressFile, 'utf8').trim()
      : undefined,
    adminKubeconfigPath,
    auditLogPath,
    kubeconfigForServiceAccount,
    stopApiServer,
    startApiServer,
    restartApiServer: async () => {
      await stopApiServer();
      await startApiServer();
    },
    logs: () => logDir,
    stop,
  };
}
